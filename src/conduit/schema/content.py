"""Content blocks: the parts a message is made of (text, image, audio)."""

from __future__ import annotations

import base64
import binascii
import os
from typing import Annotated, Literal

from pydantic import Field, model_validator

from conduit.errors import ValidationError
from conduit.schema.base import SchemaModel

__all__ = ["AudioBlock", "ContentBlock", "ImageBlock", "TextBlock"]


class TextBlock(SchemaModel):
    """Plain text.

    Example:
        >>> TextBlock(text="hello").text
        'hello'
    """

    type: Literal["text"] = "text"
    text: str


class ImageBlock(SchemaModel):
    """An image, by URL or as base64 data with its media type.

    Example:
        >>> ImageBlock(url="https://example.com/cat.png").url
        'https://example.com/cat.png'
        >>> ImageBlock.from_bytes(b"\\x89PNG...", "image/png").media_type
        'image/png'
    """

    type: Literal["image"] = "image"
    url: str | None = None
    data: str | None = None
    media_type: str | None = None
    detail: Literal["auto", "low", "high"] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> ImageBlock:
        if (self.url is None) == (self.data is None):
            raise ValueError("give exactly one of url= or data= (base64)")
        if self.data is not None and not self.media_type:
            raise ValueError("base64 data needs media_type, e.g. 'image/png'")
        return self

    @classmethod
    def from_bytes(cls, raw: bytes, media_type: str) -> ImageBlock:
        """Build an image block from raw bytes (encoded to base64 here)."""
        return cls(data=base64.b64encode(raw).decode("ascii"), media_type=media_type)

    @classmethod
    def from_image_file(
        cls,
        path: str | os.PathLike[str],
        *,
        provider: str | None = None,
        detail: Literal["auto", "low", "high"] | None = None,
    ) -> ImageBlock:
        """An image file in any common format (PNG, JPEG, GIF, WEBP, BMP, ...), converted
        to PNG or JPEG and scaled down to what `provider` (a name or `"provider/model"`)
        accepts; with no provider, to what every provider accepts. Needs Pillow
        (`pip install "conduit[images]"`); see `conduit.media.prepare_image`.

        Example:
            >>> import tempfile
            >>> from PIL import Image
            >>> path = f"{tempfile.mkdtemp()}/photo.webp"
            >>> Image.new("RGB", (3000, 2000), "teal").save(path)
            >>> block = ImageBlock.from_image_file(path, provider="anthropic")
            >>> block.media_type
            'image/png'
        """
        from conduit.schema.images import prepare_image, read_image_file

        image = prepare_image(read_image_file(path), provider=provider)
        return cls(
            data=base64.b64encode(image.data).decode("ascii"),
            media_type=image.media_type,
            detail=detail,
        )

    @classmethod
    def from_base64(
        cls,
        data: str,
        media_type: str | None = None,
        *,
        provider: str | None = None,
        detail: Literal["auto", "low", "high"] | None = None,
    ) -> ImageBlock:
        """Base64 image data (or a `data:` URL), converted and scaled like
        `from_image_file`; `media_type` is only a hint, the bytes decide.

        Example:
            >>> ImageBlock.from_base64("not base64!")
            Traceback (most recent call last):
            ...
            conduit.errors.ValidationError: the image data is not valid base64...
        """
        del media_type  # the decoded bytes say what they are
        from conduit.schema.images import prepare_image

        if data.startswith("data:"):
            header, _, data = data.partition(",")
            if not header.endswith(";base64"):
                raise ValidationError(
                    "a data: URL image must be base64 (data:image/png;base64,...)"
                )
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError("the image data is not valid base64") from None
        image = prepare_image(raw, provider=provider)
        return cls(
            data=base64.b64encode(image.data).decode("ascii"),
            media_type=image.media_type,
            detail=detail,
        )

    @classmethod
    def from_url(
        cls, url: str, *, detail: Literal["auto", "low", "high"] | None = None
    ) -> ImageBlock:
        """An image by URL, fetched by the provider (Conduit downloads nothing). A
        `data:` URL is decoded and checked like `from_base64`.

        Example:
            >>> ImageBlock.from_url("https://example.com/cat.png", detail="low").detail
            'low'
        """
        if url.startswith("data:"):
            return cls.from_base64(url, detail=detail)
        if not url.startswith(("https://", "http://")):
            raise ValidationError(
                f"an image URL must start with https:// or http://, not {url[:40]!r}"
            )
        return cls(url=url, detail=detail)

    def as_data_url(self) -> str:
        """The image as a URL: the given URL, or a `data:` URL for base64 data."""
        if self.url is not None:
            return self.url
        return f"data:{self.media_type};base64,{self.data}"


class AudioBlock(SchemaModel):
    """Audio as base64 data with its format (`wav`, `mp3`, ...).

    Example:
        >>> AudioBlock.from_bytes(b"RIFF....", "wav").format
        'wav'
    """

    type: Literal["audio"] = "audio"
    data: str
    format: str

    @classmethod
    def from_bytes(cls, raw: bytes, format: str) -> AudioBlock:
        """Build an audio block from raw bytes (encoded to base64 here)."""
        if not format:
            raise ValidationError("AudioBlock needs a format such as 'wav' or 'mp3'")
        return cls(data=base64.b64encode(raw).decode("ascii"), format=format)

    @classmethod
    def from_audio_file(cls, path: str | os.PathLike[str], format: str | None = None) -> AudioBlock:
        """An audio file; its format (`wav`, `mp3`, ...) is read from its first bytes,
        else its name, unless given.

        Example:
            >>> AudioBlock.from_audio_file("no-such.wav")
            Traceback (most recent call last):
            ...
            conduit.errors.ValidationError: cannot read the audio file 'no-such.wav'...
        """
        from conduit.schema.audio import read_audio_file

        raw, found = read_audio_file(path, format)
        return cls.from_bytes(raw, found)

    @classmethod
    def from_base64(cls, data: str, format: str | None = None) -> AudioBlock:
        """Base64 audio; its format is read from the decoded bytes unless given.

        Example:
            >>> AudioBlock.from_base64("UklGRiQAAABXQVZF").format
            'wav'
        """
        from conduit.schema.audio import AUDIO_FORMATS, audio_format

        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError("the audio data is not valid base64") from None
        found = format or audio_format(raw)
        if not found:
            raise ValidationError(
                f"the audio is not a format Conduit recognises ({', '.join(AUDIO_FORMATS)}); "
                "pass format="
            )
        return cls(data=data, format=found)


ContentBlock = Annotated[TextBlock | ImageBlock | AudioBlock, Field(discriminator="type")]
