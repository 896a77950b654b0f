"""Generated media: what an image or speech model returns, and the options it takes."""

from __future__ import annotations

import base64
import mimetypes
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field

from conduit.errors import ValidationError
from conduit.schema.base import SchemaModel
from conduit.schema.content import AudioBlock, ImageBlock
from conduit.schema.responses import Usage

__all__ = ["ImageOptions", "MediaResponse", "SpeechOptions", "sniff_media_type"]

# mimetypes knows most of these, but not on every platform (audio/opus, audio/pcm).
_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "audio/mpeg": ".mp3",
    "audio/wav": ".wav",
    "audio/opus": ".opus",
    "audio/ogg": ".ogg",
    "audio/aac": ".aac",
    "audio/flac": ".flac",
    "audio/pcm": ".pcm",
}


_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"ID3", "audio/mpeg"),
    (b"fLaC", "audio/flac"),
    (b"OggS", "audio/ogg"),
)


def sniff_media_type(raw: bytes) -> str | None:
    """The media type of image or audio bytes from their signature, or None.

    Example:
        >>> sniff_media_type(b"\\x89PNG\\r\\n\\x1a\\n..."), sniff_media_type(b"RIFF....WAVE")
        ('image/png', 'audio/wav')
    """
    for prefix, media_type in _SIGNATURES:
        if raw.startswith(prefix):
            return media_type
    if raw[:4] == b"RIFF":
        return {b"WAVE": "audio/wav", b"WEBP": "image/webp"}.get(raw[8:12])
    return None


class ImageOptions(SchemaModel):
    """Settings for one image generation; `None` means "the provider's default".

    `extra` passes provider-specific parameters through unchanged (merged last).

    Example:
        >>> ImageOptions(size="1024x1536", quality="low").size
        '1024x1536'
    """

    model_config = ConfigDict(frozen=True)

    size: str | None = None
    quality: str | None = None
    output_format: Literal["png", "jpeg", "webp"] | None = None
    background: Literal["transparent", "opaque", "auto"] | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


class SpeechOptions(SchemaModel):
    """Settings for one text-to-speech call: the voice, the audio format, the speed and
    (for models that take them) instructions on how to speak.

    Example:
        >>> SpeechOptions(voice="coral", format="wav").format
        'wav'
    """

    model_config = ConfigDict(frozen=True)

    voice: str | None = None
    format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] | None = None
    speed: float | None = Field(default=None, ge=0.25, le=4.0)
    instructions: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


class MediaResponse(SchemaModel):
    """Generated media: the bytes, their media type, and where they came from.

    Example:
        >>> r = MediaResponse(data=b"\\x89PNG...", media_type="image/png", model="m")
        >>> r.kind, r.extension, len(r)
        ('image', '.png', 7)
    """

    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    data: bytes
    media_type: str
    model: str = ""
    provider: str | None = None
    url: str | None = Field(default=None, description="where the provider served it, if it did")
    revised_prompt: str | None = Field(
        default=None, description="the prompt the model actually used, when it rewrote it"
    )
    usage: Usage = Field(default_factory=Usage)
    duration: float | None = Field(default=None, description="seconds from request to answer")
    provider_data: dict[str, Any] = Field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:  # never the bytes themselves
        return (
            f"MediaResponse(media_type={self.media_type!r}, bytes={len(self.data)}, "
            f"model={self.model!r})"
        )

    @property
    def kind(self) -> str:
        """`image`, `audio`, ...: the first part of the media type."""
        return self.media_type.partition("/")[0]

    @property
    def extension(self) -> str:
        """The usual file extension for the media type (`.png`, `.mp3`, ...)."""
        found = _EXTENSIONS.get(self.media_type) or mimetypes.guess_extension(self.media_type)
        return found or ".bin"

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the bytes to `path` (the usual extension is added when it has none);
        returns the path written.

        Example:
            >>> import tempfile
            >>> r = MediaResponse(data=b"RIFF", media_type="audio/wav")
            >>> r.save(f"{tempfile.mkdtemp()}/hello").suffix
            '.wav'
        """
        target = Path(path)
        if not target.suffix:
            target = target.with_suffix(self.extension)
        try:
            target.write_bytes(self.data)
        except OSError as exc:
            raise ValidationError(f"cannot write {target}: {exc}") from None
        return target

    def to_block(self) -> ImageBlock | AudioBlock:
        """The media as a content block, to send to a chat model.

        Example:
            >>> MediaResponse(data=b"x", media_type="image/png").to_block().type
            'image'
        """
        encoded = base64.b64encode(self.data).decode("ascii")
        if self.kind == "image":
            return ImageBlock(data=encoded, media_type=self.media_type)
        if self.kind == "audio":
            fmt = self.extension.lstrip(".")
            return AudioBlock(data=encoded, format=fmt)
        raise ValidationError(f"{self.media_type} is neither an image nor audio")
