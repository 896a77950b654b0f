"""Offline image and speech models for tests, docs and demos: `fake/image`, `fake/speech`.

The image is a PNG of one colour chosen by the prompt; the speech a WAV tone whose
length follows the text. Both are made with the standard library alone.

Example:
    >>> import asyncio
    >>> image = asyncio.run(FakeImageModel().generate_image("sunset", size="8x4"))
    >>> image.media_type, image.data[:4]
    ('image/png', b'\\x89PNG')
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
import wave
import zlib
from typing import Any

from conduit.core.media import BaseImageModel, BaseSpeechModel
from conduit.core.protocols import Capabilities, ModelInfo
from conduit.errors import ValidationError
from conduit.schema import ImageOptions, MediaResponse, SpeechOptions

__all__ = ["FakeImageModel", "FakeSpeechModel", "solid_png", "tone_wav"]

_MAX_SIDE = 4096


def _chunk(kind: bytes, body: bytes) -> bytes:
    # PNG chunk: length, type, data, CRC of type + data (PNG spec, section 5.3).
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def solid_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A PNG of one colour (8-bit RGB, no filtering).

    Example:
        >>> solid_png(2, 2, (255, 0, 0))[:8]
        b'\\x89PNG\\r\\n\\x1a\\n'
    """
    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(row * height))
        + _chunk(b"IEND", b"")
    )


def tone_wav(seconds: float, *, frequency: float = 440.0, rate: int = 8000) -> bytes:
    """A mono 16-bit WAV of a sine tone.

    Example:
        >>> tone_wav(0.01)[:4]
        b'RIFF'
    """
    frames = int(seconds * rate)
    samples = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * frequency * i / rate)))
        for i in range(frames)
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples)
    return buffer.getvalue()


def _size(size: str | None) -> tuple[int, int]:
    if size is None or size == "auto":
        return 64, 64
    width, _, height = size.partition("x")
    if not (width.isdigit() and height.isdigit()) or not (
        0 < int(width) <= _MAX_SIDE and 0 < int(height) <= _MAX_SIDE
    ):
        raise ValidationError(
            f"size must look like '1024x1024' (at most {_MAX_SIDE}), not {size!r}"
        )
    return int(width), int(height)


class FakeImageModel(BaseImageModel):
    """An image model that draws one colour picked by the prompt; no network, no key.

    Example:
        >>> FakeImageModel().model_info.ref
        'fake/image'
    """

    def __init__(self, name: str = "image", *, provider: Any = None) -> None:
        del provider  # the registry passes its entry; nothing to reach
        self._info = ModelInfo("fake", name, Capabilities(image_output=True))

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    async def _generate_image(self, prompt: str, options: ImageOptions) -> MediaResponse:
        if options.output_format not in (None, "png"):
            raise ValidationError("the fake image model makes PNG only")
        width, height = _size(options.size)
        digest = hashlib.sha256(prompt.encode()).digest()
        return MediaResponse(
            data=solid_png(width, height, (digest[0], digest[1], digest[2])),
            media_type="image/png",
            model=self._info.name,
            provider="fake",
            revised_prompt=prompt,
        )


class FakeSpeechModel(BaseSpeechModel):
    """A speech model that plays a tone, 50 ms a character (at most 5 s).

    Example:
        >>> import asyncio
        >>> len(asyncio.run(FakeSpeechModel().speak("Hi")).data) > 44
        True
    """

    def __init__(self, name: str = "speech", *, provider: Any = None) -> None:
        del provider
        self._info = ModelInfo("fake", name, Capabilities(audio_output=True))

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    async def _speak(self, text: str, options: SpeechOptions) -> MediaResponse:
        if options.format not in (None, "wav"):
            raise ValidationError("the fake speech model makes wav only")
        seconds = min(len(text) * 0.05, 5.0) / (options.speed or 1.0)
        return MediaResponse(
            data=tone_wav(seconds), media_type="audio/wav", model=self._info.name, provider="fake"
        )
