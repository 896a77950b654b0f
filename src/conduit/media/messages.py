"""`ImageMessage` and `AudioMessage`: a user message holding an image or audio (and,
optionally, the question about it) in one call.

Example:
    >>> message = ImageMessage.from_url("https://example.com/cat.png", "What is this?")
    >>> message.role, [b.type for b in message.blocks]
    ('user', ['text', 'image'])
"""

from __future__ import annotations

import os
from typing import Literal

from conduit.schema import AudioBlock, ContentBlock, ImageBlock, Message, TextBlock

__all__ = ["AudioMessage", "ImageMessage"]

Detail = Literal["auto", "low", "high"] | None


def _message(block: ContentBlock, text: str | None) -> Message:
    blocks: list[ContentBlock] = [TextBlock(text=text)] if text else []
    return Message(role="user", content=[*blocks, block])


class ImageMessage:
    """Builds user messages with an image: the `ImageBlock` constructors, plus text.

    Example:
        >>> ImageMessage.from_url("https://example.com/a.png").blocks[0].url
        'https://example.com/a.png'
    """

    def __init__(self) -> None:
        raise TypeError("ImageMessage only builds messages: use ImageMessage.from_image_file(...)")

    @staticmethod
    def from_image_file(
        path: str | os.PathLike[str],
        text: str | None = None,
        *,
        provider: str | None = None,
        detail: Detail = None,
    ) -> Message:
        """A user message with the image file (converted and scaled for `provider`, see
        `ImageBlock.from_image_file`) after `text`.

        Example:
            >>> import tempfile
            >>> from PIL import Image
            >>> path = f"{tempfile.mkdtemp()}/chart.bmp"
            >>> Image.new("RGB", (64, 32)).save(path)
            >>> ImageMessage.from_image_file(path, "Describe it").blocks[1].media_type
            'image/png'
        """
        block = ImageBlock.from_image_file(path, provider=provider, detail=detail)
        return _message(block, text)

    @staticmethod
    def from_base64(
        data: str,
        text: str | None = None,
        *,
        media_type: str | None = None,
        provider: str | None = None,
        detail: Detail = None,
    ) -> Message:
        """A user message with base64 image data (see `ImageBlock.from_base64`).

        Example:
            >>> import base64
            >>> from conduit.media.fake import solid_png
            >>> data = base64.b64encode(solid_png(4, 4, (0, 0, 255))).decode()
            >>> ImageMessage.from_base64(data, "Which colour?").blocks[1].media_type
            'image/png'
        """
        block = ImageBlock.from_base64(data, media_type, provider=provider, detail=detail)
        return _message(block, text)

    @staticmethod
    def from_url(url: str, text: str | None = None, *, detail: Detail = None) -> Message:
        """A user message with an image URL (fetched by the provider).

        Example:
            >>> ImageMessage.from_url("https://example.com/a.png", detail="low").blocks[0].detail
            'low'
        """
        return _message(ImageBlock.from_url(url, detail=detail), text)


class AudioMessage:
    """Builds user messages with audio: the `AudioBlock` constructors, plus text.

    Example:
        >>> AudioMessage.from_base64("UklGRiQAAABXQVZF", "Transcribe this").blocks[1].format
        'wav'
    """

    def __init__(self) -> None:
        raise TypeError("AudioMessage only builds messages: use AudioMessage.from_audio_file(...)")

    @staticmethod
    def from_audio_file(
        path: str | os.PathLike[str], text: str | None = None, *, format: str | None = None
    ) -> Message:
        """A user message with the audio file (format read from its bytes) after `text`.

        Example:
            >>> import pathlib, tempfile
            >>> from conduit.media.fake import tone_wav
            >>> path = pathlib.Path(tempfile.mkdtemp(), "hello.wav")
            >>> _ = path.write_bytes(tone_wav(0.05))
            >>> AudioMessage.from_audio_file(path).blocks[0].format
            'wav'
        """
        return _message(AudioBlock.from_audio_file(path, format), text)

    @staticmethod
    def from_base64(data: str, text: str | None = None, *, format: str | None = None) -> Message:
        """A user message with base64 audio (see `AudioBlock.from_base64`)."""
        return _message(AudioBlock.from_base64(data, format), text)
