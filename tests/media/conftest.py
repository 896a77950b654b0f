"""Images and audio made here, with Pillow and the standard library: no binary fixtures."""

from __future__ import annotations

import functools
import io
import random
import struct
import wave

from PIL import Image

FORMATS = ["PNG", "JPEG", "GIF", "WEBP", "BMP"]
SIZES = [(16, 12), (1000, 700), (3600, 900), (800, 3400)]


@functools.cache
def make_image(fmt: str, size: tuple[int, int], *, mode: str = "RGB", noise: bool = False) -> bytes:
    """An image in `fmt`: a gradient (or random noise, which compresses badly)."""
    width, height = size
    if noise:
        rng = random.Random(7)
        image = Image.frombytes("RGB", size, rng.randbytes(width * height * 3))
    else:
        image = Image.linear_gradient("L").resize(size).convert("RGB")
    if mode != "RGB":
        image = image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def decode(raw: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(raw))
    image.load()
    return image


def make_wav(seconds: float = 0.05, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", i % 100) for i in range(int(seconds * rate))))
    return buffer.getvalue()
