"""`prepare_image`: every common format and size comes out as PNG or JPEG within the
provider's limits, and an image that already fits is left exactly as it was."""

from __future__ import annotations

import io
import sys

import pytest
from PIL import Image

from conduit.errors import MissingDependencyError, ValidationError
from conduit.media import IMAGE_LIMITS, ImageLimits, image_limits, prepare_image
from tests.media.conftest import FORMATS, SIZES, decode, make_image

PROVIDERS = [None, *IMAGE_LIMITS]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_any_format_and_size_fits_the_providers_limits(
    fmt: str, size: tuple[int, int], provider: str | None
) -> None:
    raw = make_image(fmt, size)
    limits = image_limits(provider)
    image = prepare_image(raw, provider=provider)

    assert image.media_type in limits.formats
    assert len(image.data) <= limits.max_bytes
    decoded = decode(image.data)
    assert decoded.format == {"image/png": "PNG", "image/jpeg": "JPEG"}[image.media_type]
    assert decoded.size == (image.width, image.height)
    assert max(decoded.size) <= limits.max_dimension
    # scaled, never stretched: the aspect ratio survives (to a pixel of rounding)
    if max(size) > limits.max_dimension:
        assert max(decoded.size) == limits.max_dimension
        assert decoded.size[0] / decoded.size[1] == pytest.approx(size[0] / size[1], rel=0.01)
    else:
        assert decoded.size == size


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_an_image_that_fits_is_sent_unchanged(fmt: str) -> None:
    raw = make_image(fmt, (300, 200))
    assert prepare_image(raw, provider="openai").data == raw


def test_jpeg_stays_jpeg_and_other_formats_become_png() -> None:
    assert prepare_image(make_image("JPEG", (3000, 3000))).media_type == "image/jpeg"
    for fmt in ("GIF", "WEBP", "BMP"):
        assert prepare_image(make_image(fmt, (40, 40))).media_type == "image/png"


def test_transparency_is_kept_as_png() -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (3000, 100), (255, 0, 0, 0)).save(buffer, format="WEBP", lossless=True)
    image = prepare_image(buffer.getvalue(), provider="anthropic")
    decoded = decode(image.data)
    assert image.media_type == "image/png"
    assert decoded.mode == "RGBA"
    pixel = decoded.getpixel((0, 0))
    assert isinstance(pixel, tuple)
    assert pixel[3] == 0


def test_a_png_too_large_in_bytes_becomes_a_smaller_jpeg() -> None:
    raw = make_image("PNG", (1500, 1500), noise=True)
    limits = ImageLimits(("image/png", "image/jpeg"), 2000, 500_000)
    assert len(raw) > limits.max_bytes
    image = prepare_image(raw, limits=limits)
    assert image.media_type == "image/jpeg"
    assert len(image.data) <= limits.max_bytes
    assert decode(image.data).format == "JPEG"


def test_png_only_limits_refuse_what_cannot_fit() -> None:
    raw = make_image("BMP", (1200, 1200), noise=True)
    with pytest.raises(ValidationError, match="over the limit"):
        prepare_image(raw, limits=ImageLimits(("image/png",), 2000, 100_000))


def test_an_impossible_byte_limit_is_an_error() -> None:
    with pytest.raises(ValidationError, match="cannot make the image fit"):
        prepare_image(
            make_image("JPEG", (400, 400), noise=True), limits=ImageLimits(("image/jpeg",), 400, 50)
        )


def test_animated_gif_sends_its_first_frame() -> None:
    frames = [Image.new("RGB", (20, 20), color) for color in ("red", "blue", "green")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=50)
    image = prepare_image(buffer.getvalue())
    decoded = decode(image.data)
    assert image.media_type == "image/png"
    assert not getattr(decoded, "is_animated", False)
    assert decoded.convert("RGB").getpixel((5, 5)) == (255, 0, 0)


def test_exif_rotation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "white").save(buffer, format="JPEG", exif=exif)
    image = prepare_image(buffer.getvalue())
    assert (image.width, image.height) == (20, 40)


def test_a_gif_is_converted_even_when_small() -> None:
    raw = make_image("GIF", (10, 10))
    image = prepare_image(raw, provider="openai")
    assert image.media_type == "image/png"
    assert image.data != raw


@pytest.mark.parametrize("raw", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\ntruncated"])
def test_bytes_that_are_not_an_image_are_refused(raw: bytes) -> None:
    with pytest.raises(ValidationError, match="not an image Pillow can read"):
        prepare_image(raw)


def test_a_decompression_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ValidationError, match="too large to decode safely"):
        prepare_image(make_image("PNG", (200, 200)))


def test_without_pillow_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "conduit\[images\]"'):
        prepare_image(b"anything")


def test_limits_table_rows_and_lookup() -> None:
    assert image_limits("anthropic/claude-sonnet-4-5") is IMAGE_LIMITS["anthropic"]
    assert image_limits("GEMINI") is IMAGE_LIMITS["gemini"]
    strictest = image_limits(None)
    assert strictest.max_dimension == min(r.max_dimension for r in IMAGE_LIMITS.values())
    assert strictest.max_bytes == min(r.max_bytes for r in IMAGE_LIMITS.values())
    assert image_limits("mistral") is strictest
    with pytest.raises(ValidationError, match="must include"):
        ImageLimits(("image/webp",), 100, 100)
    with pytest.raises(ValidationError, match="positive"):
        ImageLimits(("image/png",), 0, 100)


def test_transparent_images_that_must_become_jpeg_are_flattened_on_white() -> None:
    rng = __import__("random").Random(3)
    noisy = Image.frombytes("RGB", (900, 900), rng.randbytes(900 * 900 * 3)).convert("RGBA")
    noisy.paste((0, 0, 0, 0), (0, 0, 64, 64))
    buffer = io.BytesIO()
    noisy.save(buffer, format="PNG")
    image = prepare_image(
        buffer.getvalue(), limits=ImageLimits(("image/png", "image/jpeg"), 900, 400_000)
    )
    decoded = decode(image.data)
    assert (image.media_type, decoded.mode) == ("image/jpeg", "RGB")
    corner = decoded.getpixel((24, 24))
    assert isinstance(corner, tuple)
    assert min(corner) > 240  # the transparent corner is white now


def test_a_truncated_image_is_refused_even_when_it_would_fit() -> None:
    raw = make_image("JPEG", (200, 200))
    with pytest.raises(ValidationError, match="not an image Pillow can read"):
        prepare_image(raw[: len(raw) // 2])
