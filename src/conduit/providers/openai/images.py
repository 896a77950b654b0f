"""`OpenAIImageModel`: OpenAI's Images API, `POST /images/generations`.

Request and answer follow the API reference
(https://platform.openai.com/docs/api-reference/images/create and
https://platform.openai.com/docs/api-reference/images/object): the answer's `data[0]`
holds the image as `b64_json` (GPT image models, always) or as a `url` (the legacy
`response_format="url"`), which is then downloaded without our credentials, since it
points at a storage host, not at the API.

Example:
    >>> model = OpenAIImageModel("gpt-image-1.5", api_key="sk-test")
    >>> model.payload("a red fox", ImageOptions(size="1024x1024", quality="low"))
    {'model': 'gpt-image-1.5', 'prompt': 'a red fox', 'size': '1024x1024', 'quality': 'low'}
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import time
from typing import Any, Unpack

from conduit.catalog.registry import describe_model
from conduit.core.media import BaseImageModel
from conduit.core.protocols import Capabilities, ModelInfo
from conduit.errors import APIConnectionError, ValidationError
from conduit.providers.openai.connection import ConnectionOptions, OpenAIConnection
from conduit.providers.registry import ProviderSpec
from conduit.schema import ImageOptions, MediaResponse, Usage
from conduit.schema.media import sniff_media_type
from conduit.transport import HTTPRequest

__all__ = ["OpenAIImageModel", "build_image_payload", "parse_image_usage"]

# What an image model can do: nothing of a chat model's, and images out.
IMAGE_CAPABILITIES = Capabilities(
    streaming=False, tools=False, json_mode=False, json_schema=False, image_output=True
)


def build_image_payload(model: str, prompt: str, options: ImageOptions) -> dict[str, Any]:
    """The JSON body for one image generation (`n` is 1: one `MediaResponse`).

    Example:
        >>> build_image_payload("gpt-image-1.5", "a cat", ImageOptions(output_format="jpeg"))
        {'model': 'gpt-image-1.5', 'prompt': 'a cat', 'output_format': 'jpeg'}
    """
    if options.extra.get("n", 1) != 1:
        raise ValidationError(
            "one image per call: call generate_image() again (or several at once with "
            "asyncio.gather) instead of passing n"
        )
    payload: dict[str, Any] = {"model": model, "prompt": prompt}
    for field in ("size", "quality", "output_format", "background"):
        value = getattr(options, field)
        if value is not None:
            payload[field] = value
    payload.update(options.extra)
    return payload


def parse_image_usage(usage: dict[str, Any] | None) -> Usage:
    """The Images API's `usage` (`input_tokens`, `output_tokens`) → `Usage`.

    Example:
        >>> parse_image_usage({"input_tokens": 50, "output_tokens": 4160, "total_tokens": 4210})
        Usage(input_tokens=50, output_tokens=4160, total_tokens=4210, ...)
    """
    if not usage:
        return Usage()
    return Usage(
        input_tokens=usage.get("input_tokens") or 0,
        output_tokens=usage.get("output_tokens") or 0,
        total_tokens=usage.get("total_tokens") or 0,
    )


class OpenAIImageModel(BaseImageModel):
    """Images from OpenAI's Images API (GPT image models), or a server that speaks it.

    Example:
        >>> OpenAIImageModel("gpt-image-1.5", api_key="sk-test").model_info.ref
        'openai/gpt-image-1.5'
    """

    def __init__(
        self,
        name: str,
        *,
        provider: ProviderSpec | str = "openai",
        capabilities: Capabilities | None = None,
        **connection: Unpack[ConnectionOptions],
    ) -> None:
        self._conn = OpenAIConnection(provider, **connection)
        self._info = describe_model(
            self._conn.spec.name, name, fallback=IMAGE_CAPABILITIES, capabilities=capabilities
        )
        self._url = f"{self._conn.base_url}/images/generations"

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    def payload(self, prompt: str, options: ImageOptions) -> dict[str, Any]:
        """The exact JSON body this model sends."""
        return build_image_payload(self._info.name, prompt, options)

    async def _generate_image(self, prompt: str, options: ImageOptions) -> MediaResponse:
        started = time.perf_counter()
        data = await self._conn.client.post_json(self._url, self.payload(prompt, options))
        provider = self._info.provider
        try:
            item = data["data"][0]
        except (KeyError, IndexError, TypeError):
            raise APIConnectionError(
                self._conn.client.redact(f"the answer holds no image: {str(data)[:200]!r}"),
                provider=provider,
            ) from None
        url = item.get("url")
        if item.get("b64_json"):
            try:
                raw = base64.b64decode(item["b64_json"], validate=True)
            except (binascii.Error, ValueError):
                raise APIConnectionError(
                    "the image in the answer is not valid base64", provider=provider
                ) from None
            served = None
        elif url:
            raw, served = await self._download(url)
        else:
            raise APIConnectionError(
                "the answer's image has neither b64_json nor url", provider=provider
            )
        fmt = data.get("output_format") or options.output_format or "png"
        media_type = sniff_media_type(raw) or served or f"image/{fmt}"
        keep = {k: data[k] for k in ("created", "size", "quality", "background") if k in data}
        return MediaResponse(
            data=raw,
            media_type=media_type,
            model=self._info.name,
            provider=provider,
            url=url,
            revised_prompt=item.get("revised_prompt"),
            usage=parse_image_usage(data.get("usage")),
            duration=time.perf_counter() - started,
            provider_data=keep,
        )

    async def _download(self, url: str) -> tuple[bytes, str | None]:
        # A bare request: the API key must not travel to the storage host.
        client = self._conn.client
        request = HTTPRequest("GET", url, {"accept": "image/*"}, None, client.timeout)
        response = await client.send(request)
        content = await response.aread()
        served = (response.header("content-type") or "").split(";")[0].strip()
        if not served.startswith("image/"):
            served = mimetypes.guess_type(url.split("?", 1)[0])[0] or ""
        return content, served or None

    async def aclose(self) -> None:
        await self._conn.aclose()
