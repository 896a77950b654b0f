"""Content blocks: the parts a message is made of (text, image, audio)."""

from __future__ import annotations

import base64
from typing import Annotated, Literal

from pydantic import Field, model_validator

from conduit.errors import ValidationError
from conduit.schema._base import SchemaModel

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


ContentBlock = Annotated[TextBlock | ImageBlock | AudioBlock, Field(discriminator="type")]
