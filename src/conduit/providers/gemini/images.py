"""`GeminiImageModel`: images from Gemini's image models through `generateContent`.

The request asks for image output with `generationConfig.responseModalities` and sets
the shape in `generationConfig.imageConfig.aspectRatio`; the answer's first part with
`inlineData` of an image type is the image (https://ai.google.dev/gemini-api/docs/image-generation,
https://ai.google.dev/api/generate-content#v1beta.GenerationConfig). A size such as
`"1536x1024"` is sent as its aspect ratio (`"3:2"`); `"1K"`, `"2K"`, `"4K"` as `imageSize`.

Example:
    >>> model = GeminiImageModel("gemini-2.5-flash-image", api_key="test-key")
    >>> model.payload("a fox", ImageOptions(size="1024x1024"))["generationConfig"]
    {'responseModalities': ['TEXT', 'IMAGE'], 'imageConfig': {'aspectRatio': '1:1'}}
"""

from __future__ import annotations

import math
import time
from typing import Any, Unpack

from conduit.catalog.registry import describe_model
from conduit.core.media import BaseImageModel
from conduit.core.protocols import Capabilities, ModelInfo
from conduit.errors import ValidationError
from conduit.providers.gemini.connection import GeminiConnection, GeminiOptions
from conduit.providers.gemini.media import first_candidate, inline_media, no_media, part_texts
from conduit.providers.gemini.response import parse_usage
from conduit.providers.registry import ProviderSpec
from conduit.schema import ImageOptions, MediaResponse

__all__ = ["ASPECT_RATIOS", "GeminiImageModel", "build_image_payload"]

# The aspect ratios imageConfig takes (the image-generation guide's table).
ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
_IMAGE_SIZES = ("1K", "2K", "4K")
IMAGE_CAPABILITIES = Capabilities(
    streaming=False,
    tools=False,
    json_mode=False,
    json_schema=False,
    vision=True,
    image_output=True,
)


def _image_config(size: str | None) -> dict[str, str]:
    if size is None or size == "auto":
        return {}
    if size in _IMAGE_SIZES:
        return {"imageSize": size}
    ratio = size
    width, sep, height = size.partition("x")
    if sep and width.isdigit() and height.isdigit() and int(width) and int(height):
        common = math.gcd(int(width), int(height))
        ratio = f"{int(width) // common}:{int(height) // common}"
    if ratio not in ASPECT_RATIOS:
        raise ValidationError(
            f"Gemini makes images in the aspect ratios {', '.join(ASPECT_RATIOS)} "
            f"(or sizes {', '.join(_IMAGE_SIZES)}), not {size!r}"
        )
    return {"aspectRatio": ratio}


def build_image_payload(prompt: str, options: ImageOptions) -> dict[str, Any]:
    """The `generateContent` body asking for an image.

    Example:
        >>> build_image_payload("a cat", ImageOptions(size="16:9"))["generationConfig"]
        {'responseModalities': ['TEXT', 'IMAGE'], 'imageConfig': {'aspectRatio': '16:9'}}
    """
    unsupported = [
        name for name in ("quality", "output_format", "background") if getattr(options, name)
    ]
    if unsupported:
        raise ValidationError(
            f"Gemini image generation does not take {', '.join(unsupported)}; "
            "describe what you want in the prompt"
        )
    config: dict[str, Any] = {"responseModalities": ["TEXT", "IMAGE"]}
    image_config = _image_config(options.size)
    if image_config:
        config["imageConfig"] = image_config
    payload: dict[str, Any] = {
        "contents": [{"role": "user", "parts": [{"text": prompt}]}],
        "generationConfig": config,
    }
    payload.update(options.extra)
    return payload


class GeminiImageModel(BaseImageModel):
    """Images from Gemini's image models (`gemini-2.5-flash-image`, ...).

    Example:
        >>> GeminiImageModel("gemini-2.5-flash-image", api_key="k").model_info.ref
        'gemini/gemini-2.5-flash-image'
    """

    def __init__(
        self,
        name: str,
        *,
        provider: ProviderSpec | str = "gemini",
        capabilities: Capabilities | None = None,
        **connection: Unpack[GeminiOptions],
    ) -> None:
        self._conn = GeminiConnection(provider, **connection)
        self._info = describe_model(
            self._conn.spec.name, name, fallback=IMAGE_CAPABILITIES, capabilities=capabilities
        )
        self._url = self._conn.model_url(name, "generateContent")

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    def payload(self, prompt: str, options: ImageOptions) -> dict[str, Any]:
        """The exact JSON body this model sends."""
        return build_image_payload(prompt, options)

    async def _generate_image(self, prompt: str, options: ImageOptions) -> MediaResponse:
        started = time.perf_counter()
        data = await self._conn.client.post_json(self._url, self.payload(prompt, options))
        provider = self._info.provider
        candidate = first_candidate(data, provider)
        texts = part_texts(candidate)
        found = inline_media(candidate, "image/", provider)
        if found is None:
            said = "".join(texts)[:200]
            no_media(
                candidate,
                provider,
                f"the answer holds no image{f' (the model said: {said!r})' if said else ''}; "
                "is this an image model?",
            )
        raw, media_type = found
        return MediaResponse(
            data=raw,
            media_type=media_type,
            model=data.get("modelVersion") or self._info.name,
            provider=provider,
            usage=parse_usage(data.get("usageMetadata")),
            duration=time.perf_counter() - started,
            provider_data={"text": "".join(texts)} if texts else {},
        )

    async def aclose(self) -> None:
        await self._conn.aclose()
