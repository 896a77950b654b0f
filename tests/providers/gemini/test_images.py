"""Image output through Gemini's `generateContent`: the request asks for the IMAGE
modality (validated against the google-genai SDK types), the answer's `inlineData`
part becomes a `MediaResponse`."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from google.genai import types as gt

from conduit.errors import APIConnectionError, ContentFilterError, ValidationError
from conduit.media.fake import solid_png
from conduit.providers.gemini.images import GeminiImageModel
from conduit.schema import ImageOptions
from conduit.transport import HTTPRequest, HTTPResponse, MockTransport, json_response
from tests.providers.gemini.conftest import (
    FIXTURES,
    assert_sdk_shape,
    assert_valid_gemini_request,
    load_fixture,
    method_of,
)

PNG = solid_png(4, 4, (10, 200, 30))


def image_answer() -> Any:
    text = (FIXTURES.parent / "media" / "gemini_generate_image.json").read_text(encoding="utf-8")
    return json.loads(text.replace("$PNG", base64.b64encode(PNG).decode()))


def model_answering(
    data: Any, name: str = "gemini-2.5-flash-image"
) -> tuple[GeminiImageModel, MockTransport]:
    def handler(request: HTTPRequest) -> HTTPResponse:
        body = request.json()
        # google-genai's `GenerationConfig` model has no `imageConfig`: the SDK writes it
        # into `generationConfig` from `GenerateContentConfig.image_config`, and for the
        # Developer API only `aspectRatio` and `imageSize` (models._ImageConfig_to_mldev).
        image_config = body["generationConfig"].pop("imageConfig", None)
        if image_config is not None:
            assert set(image_config) <= {"aspectRatio", "imageSize"}
            assert_sdk_shape(gt.ImageConfig, image_config, "$.generationConfig.imageConfig")
        assert_valid_gemini_request(body, method_of(request))
        return json_response(data)

    transport = MockTransport(handler)
    return GeminiImageModel(name, api_key="test-key", transport=transport, max_retries=0), transport


def test_the_fixture_is_what_the_sdk_reads() -> None:
    assert_sdk_shape(gt.GenerateContentResponse, image_answer())


async def test_image_request_and_answer() -> None:
    model, transport = model_answering(image_answer())
    result = await model.generate_image("A watercolour fox in the snow", size="1536x1024")
    request = transport.requests[0]
    assert request.url.endswith("/models/gemini-2.5-flash-image:generateContent")
    assert request.json() == {
        "contents": [{"role": "user", "parts": [{"text": "A watercolour fox in the snow"}]}],
        "generationConfig": {
            "responseModalities": ["TEXT", "IMAGE"],
            "imageConfig": {"aspectRatio": "3:2"},
        },
    }
    assert (result.data, result.media_type, result.model) == (
        PNG,
        "image/png",
        "gemini-2.5-flash-image",
    )
    assert result.provider_data == {"text": "Here is a watercolour fox in the snow."}
    assert result.usage.input_tokens == 9


@pytest.mark.parametrize(
    ("size", "config"),
    [("16:9", {"aspectRatio": "16:9"}), ("2K", {"imageSize": "2K"}), ("auto", None), (None, None)],
)
def test_sizes(size: str | None, config: Any) -> None:
    model, _ = model_answering({})
    body = model.payload("x", ImageOptions(size=size))
    assert body["generationConfig"].get("imageConfig") == config


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": "1000x333"}, "aspect ratios"),
        ({"quality": "high"}, "does not take quality"),
        ({"output_format": "jpeg"}, "does not take output_format"),
    ],
)
async def test_options_gemini_does_not_take_are_refused_before_sending(
    kwargs: Any, message: str
) -> None:
    model, transport = model_answering(image_answer())
    with pytest.raises(ValidationError, match=message):
        await model.generate_image("x", **kwargs)
    assert transport.requests == []


async def test_a_chat_model_the_catalog_lists_is_refused() -> None:
    model, transport = model_answering(image_answer(), name="gemini-2.5-flash")
    with pytest.raises(ValidationError, match="does not generate images"):
        await model.generate_image("x")
    assert transport.requests == []


async def test_blocked_and_empty_answers() -> None:
    model, _ = model_answering(load_fixture("generate_prompt_blocked"))
    with pytest.raises(ContentFilterError):
        await model.generate_image("x")
    model, _ = model_answering(load_fixture("generate_text"))
    with pytest.raises(APIConnectionError, match=r"holds no image .*Hello"):
        await model.generate_image("x")
    filtered = {"candidates": [{"finishReason": "IMAGE_SAFETY", "index": 0}]}
    model, _ = model_answering(filtered)
    with pytest.raises(ContentFilterError):
        await model.generate_image("x")
    bad = image_answer()
    bad["candidates"][0]["content"]["parts"][1]["inlineData"]["data"] = "@@"
    model, _ = model_answering(bad)
    with pytest.raises(APIConnectionError, match="not valid base64"):
        await model.generate_image("x")
    await model.aclose()
