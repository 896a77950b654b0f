"""Make any common image fit what a provider accepts: PNG or JPEG, within its largest
side and file size (the `conduit.schema.image_limits` table). Pillow does the work; it is
imported on first use and comes with the `images` extra.

Rules, in order: an image that already fits is sent as it is (no re-encoding, no quality
lost); otherwise the first frame is taken (animated GIF/WebP), EXIF rotation applied,
the image scaled down to the longest side allowed, and encoded as JPEG when it came as
JPEG (photos) or PNG otherwise (lossless, keeps transparency). A PNG that is still too
large becomes a JPEG, then the JPEG's quality and size step down until it fits.

Example:
    >>> from PIL import Image
    >>> import io
    >>> buffer = io.BytesIO()
    >>> Image.new("RGB", (4000, 1000), "red").save(buffer, format="BMP")
    >>> image = prepare_image(buffer.getvalue(), provider="anthropic")
    >>> image.media_type, image.width, image.height
    ('image/png', 1568, 392)
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conduit.errors import MissingDependencyError, ValidationError
from conduit.schema.image_limits import ImageLimits, image_limits

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

__all__ = ["PreparedImage", "prepare_image", "read_image_file"]

INSTALL_HINT = 'pip install "conduit[images]"'
_JPEG_QUALITIES = (85, 75, 60)
_SHRINK = 0.75  # each further step down in size, when even the lowest quality is too big
_SMALLEST = 32  # give up below this many pixels on the long side


@dataclass(frozen=True, slots=True)
class PreparedImage:
    """Image bytes ready to send, with their media type and size in pixels."""

    data: bytes
    media_type: str
    width: int
    height: int


def _pillow() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise MissingDependencyError(
            f"converting and resizing images needs Pillow: {INSTALL_HINT}"
        ) from None
    return Image


def read_image_file(path: str | os.PathLike[str]) -> bytes:
    """The bytes of an image file; a missing or unreadable file is a `ValidationError`."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read the image file {os.fspath(path)!r}: {exc}") from None


def prepare_image(
    raw: bytes, *, provider: str | None = None, limits: ImageLimits | None = None
) -> PreparedImage:
    """`raw` (any format Pillow reads) as a PNG or JPEG within `limits`, by default those
    of `provider` (a name or `"provider/model"`; None: limits every provider takes).

    Example:
        >>> from PIL import Image
        >>> import io
        >>> buffer = io.BytesIO()
        >>> Image.new("RGB", (10, 10)).save(buffer, format="PNG")
        >>> prepare_image(buffer.getvalue()).data == buffer.getvalue()  # fits: unchanged
        True
    """
    limits = limits or image_limits(provider)
    image_module = _pillow()
    image = _open(image_module, raw)
    media_type = image_module.MIME.get(image.format or "")
    width, height = image.size
    if (
        media_type in limits.formats
        and max(width, height) <= limits.max_dimension
        and len(raw) <= limits.max_bytes
        and not getattr(image, "is_animated", False)
        and _orientation(image) in (None, 1)
    ):
        _load(image_module, image)  # sent as it is, but only if it decodes
        return PreparedImage(raw, media_type, width, height)
    photo = media_type == "image/jpeg"
    if photo and max(width, height) > limits.max_dimension:
        # A JPEG decodes straight to 1/2, 1/4 or 1/8 of its size (DCT scaling): several
        # times faster than decoding every pixel and then throwing most of them away.
        scale = limits.max_dimension / max(width, height)
        image.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
    _load(image_module, image)
    image = _first_frame(image)
    if max(image.size) > limits.max_dimension:
        # Bicubic (antialiased when shrinking): 30% faster than Lanczos on a 4K image,
        # with no difference a vision model would notice.
        image.thumbnail((limits.max_dimension, limits.max_dimension), image_module.BICUBIC)
    jpeg = "image/jpeg" in limits.formats
    if (not photo or not jpeg) and "image/png" in limits.formats:
        data = _encode(image, "PNG")
        if len(data) <= limits.max_bytes:
            return PreparedImage(data, "image/png", *image.size)
        if not jpeg:
            raise ValidationError(
                f"the image is {len(data)} bytes as PNG, over the limit of "
                f"{limits.max_bytes}; send a smaller one"
            )
    return _fit_jpeg(image_module, image, limits)


def _unreadable(exc: Exception) -> ValidationError:
    return ValidationError(f"not an image Pillow can read ({exc}); use PNG, JPEG, GIF, WEBP or BMP")


def _open(image_module: Any, raw: bytes) -> PILImage:
    """The image with its header read (size, format), its pixels not yet decoded."""
    try:
        image: PILImage = image_module.open(io.BytesIO(raw))
    except image_module.DecompressionBombError as exc:
        raise ValidationError(f"the image is too large to decode safely: {exc}") from None
    except (image_module.UnidentifiedImageError, OSError, ValueError) as exc:
        raise _unreadable(exc) from None
    return image


def _load(image_module: Any, image: PILImage) -> None:
    try:
        image.load()
    except (OSError, ValueError) as exc:  # truncated or corrupt pixel data
        raise _unreadable(exc) from None


def _orientation(image: PILImage) -> int | None:
    value = image.getexif().get(0x0112)  # EXIF "Orientation"
    return value if isinstance(value, int) else None


def _first_frame(image: PILImage) -> PILImage:
    """Frame 0, upright (EXIF rotation applied), in a mode PNG and resizing handle well."""
    from PIL import ImageOps

    image.seek(0)
    upright = ImageOps.exif_transpose(image)
    transparent = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
    if upright.mode not in ("RGB", "RGBA", "L", "LA"):
        upright = upright.convert("RGBA" if transparent else "RGB")
    elif upright is image:
        upright = upright.copy()  # never resize the caller's (or the decoder's) image
    return upright


def _flatten(image_module: Any, image: PILImage) -> PILImage:
    """RGB on white: JPEG has no transparency."""
    if image.mode in ("RGB", "L"):
        return image
    rgba = image.convert("RGBA")
    background: PILImage = image_module.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _encode(image: PILImage, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _fit_jpeg(image_module: Any, image: PILImage, limits: ImageLimits) -> PreparedImage:
    image = _flatten(image_module, image)
    while True:
        for quality in _JPEG_QUALITIES:
            data = _encode(image, "JPEG", quality=quality)
            if len(data) <= limits.max_bytes:
                return PreparedImage(data, "image/jpeg", *image.size)
        width, height = image.size
        if max(width, height) * _SHRINK < _SMALLEST:
            raise ValidationError(
                f"cannot make the image fit in {limits.max_bytes} bytes; send a smaller one"
            )
        size = (max(1, int(width * _SHRINK)), max(1, int(height * _SHRINK)))
        image = image.resize(size, image_module.BICUBIC)
