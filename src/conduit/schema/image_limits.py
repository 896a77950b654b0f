"""What each provider accepts as image input: formats, largest side, largest file.

One table, so the limits are data and live in one place. Each row cites the provider's
page it follows; `prepare_image` makes any image fit the row it is given.

Example:
    >>> image_limits("anthropic").max_dimension
    1568
    >>> image_limits("anthropic/claude-sonnet-4-5") == image_limits("anthropic")
    True
    >>> image_limits(None).formats
    ('image/png', 'image/jpeg')
"""

from __future__ import annotations

from dataclasses import dataclass

from conduit.errors import ValidationError

__all__ = ["IMAGE_LIMITS", "ImageLimits", "image_limits"]

_MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """The images a provider takes: media types (preferred first), the longest side in
    pixels, and the largest encoded file in bytes (before base64).

    Example:
        >>> ImageLimits(formats=("image/png",), max_dimension=512, max_bytes=1_000_000).max_bytes
        1000000
    """

    formats: tuple[str, ...]
    max_dimension: int
    max_bytes: int

    def __post_init__(self) -> None:
        if not {"image/png", "image/jpeg"} & set(self.formats):
            raise ValidationError("ImageLimits.formats must include image/png or image/jpeg")
        if self.max_dimension < 1 or self.max_bytes < 1:
            raise ValidationError("ImageLimits.max_dimension and max_bytes must be positive")


IMAGE_LIMITS: dict[str, ImageLimits] = {
    # https://platform.openai.com/docs/guides/images-vision#image-input-requirements:
    # PNG, JPEG, WEBP, non-animated GIF; "high" detail is scaled to fit 2048 x 2048, so
    # more pixels only cost upload time. 20 MB per image (the payload cap is 50 MB).
    "openai": ImageLimits(("image/png", "image/jpeg"), 2048, 20 * _MB),
    # https://docs.anthropic.com/en/docs/build-with-claude/vision: JPEG, PNG, GIF, WebP;
    # images whose long edge exceeds 1568 px are scaled down by the API (and more than
    # 2000 px is refused when a request holds many images); 5 MB per image, counted on
    # the base64 text, so 3.75 MB of file.
    "anthropic": ImageLimits(("image/png", "image/jpeg"), 1568, 5 * _MB * 3 // 4),
    # https://ai.google.dev/gemini-api/docs/image-understanding: PNG, JPEG, WEBP, HEIC,
    # HEIF; larger images are scaled to fit 3072 x 3072; inline data may make a request
    # of at most 20 MB, base64 included, so 15 MB of file.
    "gemini": ImageLimits(("image/png", "image/jpeg"), 3072, 20 * _MB * 3 // 4),
    # https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion:
    # base64 images, no documented size limit; vision models there work at 336-1344 px,
    # so 2048 px bounds the request without losing anything the model sees.
    "ollama": ImageLimits(("image/png", "image/jpeg"), 2048, 20 * _MB),
}

# For an unnamed provider: what every provider above accepts (the strictest row).
_ANY = ImageLimits(
    ("image/png", "image/jpeg"),
    min(row.max_dimension for row in IMAGE_LIMITS.values()),
    min(row.max_bytes for row in IMAGE_LIMITS.values()),
)


def image_limits(provider: str | None) -> ImageLimits:
    """The limits for `provider` (a name, or a `"provider/model"` reference); for None
    or a provider without its own row, the strictest row, which every provider takes.

    Example:
        >>> image_limits("openai").max_dimension
        2048
        >>> image_limits("groq") == image_limits(None)
        True
    """
    if provider is None:
        return _ANY
    return IMAGE_LIMITS.get(provider.partition("/")[0].lower(), _ANY)
