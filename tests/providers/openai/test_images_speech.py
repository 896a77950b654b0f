"""The Images API and the text-to-speech API through the OpenAI adapter.

Request bodies are checked against the official SDK's `ImageGenerateParams` /
`SpeechCreateParams` TypedDicts (strictly: no key they do not define); the image
fixtures parse with the SDK's `ImagesResponse` with no unknown field.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pydantic
import pytest
from openai.types import ImagesResponse, image_generate_params
from openai.types.audio import speech_create_params

import conduit.media
from conduit.errors import APIConnectionError, BadRequestError, ValidationError
from conduit.media.fake import solid_png
from conduit.providers.openai.images import OpenAIImageModel
from conduit.providers.openai.speech import OpenAISpeechModel
from conduit.schema import ImageOptions, SpeechOptions
from conduit.transport import HTTPRequest, HTTPResponse, MockTransport, json_response
from tests.providers.openai.conftest import FIXTURES, TEST_KEY, headers_of
from tests.support.sdk_types import extras, materialize, problems

MEDIA = FIXTURES.parent / "media"

PNG = solid_png(3, 2, (0, 128, 255))
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 8
IMAGE_REQUEST = image_generate_params.ImageGenerateParamsNonStreaming
SPEECH_REQUEST = speech_create_params.SpeechCreateParams


def fixture(name: str) -> Any:
    text = (MEDIA / f"openai_{name}").read_text(encoding="utf-8")
    return json.loads(text.replace("$PNG", base64.b64encode(PNG).decode()))


def assert_valid(payload: dict[str, Any], td: Any) -> None:
    materialize(pydantic.TypeAdapter(td).validate_python(payload))
    assert problems(td, payload, "$") == []


def assert_valid_images_response(data: Any) -> None:
    parsed = ImagesResponse.model_validate(data)
    assert list(extras(parsed, "$")) == []


def transport_for(*answers: HTTPResponse) -> MockTransport:
    queue = list(answers)

    def handler(request: HTTPRequest) -> HTTPResponse:
        if request.method == "POST" and request.url.endswith("/images/generations"):
            assert_valid(request.json(), IMAGE_REQUEST)
        elif request.method == "POST":
            assert_valid(request.json(), SPEECH_REQUEST)
        return queue.pop(0)

    return MockTransport(handler)


def image_model(transport: MockTransport, name: str = "gpt-image-1.5") -> OpenAIImageModel:
    return OpenAIImageModel(name, api_key=TEST_KEY, transport=transport, max_retries=0)


def speech_model(transport: MockTransport, name: str = "gpt-4o-mini-tts") -> OpenAISpeechModel:
    return OpenAISpeechModel(name, api_key=TEST_KEY, transport=transport, max_retries=0)


def test_fixtures_are_what_the_sdk_reads() -> None:
    assert_valid_images_response(fixture("images_b64.json"))
    assert_valid_images_response(fixture("images_url.json"))
    assert_valid(fixture("images_request.json"), IMAGE_REQUEST)
    assert_valid(fixture("speech_request.json"), SPEECH_REQUEST)


async def test_image_request_and_b64_answer() -> None:
    transport = transport_for(json_response(fixture("images_b64.json")))
    model = image_model(transport)
    result = await model.generate_image(
        "A watercolour painting of a red fox",
        size="1024x1024",
        quality="low",
        output_format="png",
        background="opaque",
    )
    request = transport.requests[0]
    assert request.url == "https://api.openai.com/v1/images/generations"
    assert headers_of(request)["authorization"] == f"Bearer {TEST_KEY}"
    assert request.json() == fixture("images_request.json")
    assert (result.data, result.media_type, result.model) == (PNG, "image/png", "gpt-image-1.5")
    assert (result.usage.input_tokens, result.usage.output_tokens) == (50, 272)
    assert result.usage.total_tokens == 322
    assert result.provider_data["size"] == "1024x1024"
    assert result.url is None


async def test_url_answer_is_downloaded_without_the_key() -> None:
    answer = fixture("images_url.json")
    transport = transport_for(
        json_response(answer),
        HTTPResponse(200, {"content-type": "image/png"}, PNG),
    )
    result = await image_model(transport).generate_image("a fox", extra={"n": 1})
    with pytest.raises(ValidationError, match="one image per call"):
        await image_model(transport).generate_image("a fox", extra={"n": 2})
    download = transport.requests[1]
    assert download.method == "GET"
    assert download.url == answer["data"][0]["url"]
    assert "authorization" not in headers_of(download)
    assert result.data == PNG
    assert result.url == answer["data"][0]["url"]
    assert result.revised_prompt == answer["data"][0]["revised_prompt"]


async def test_downloaded_media_type_falls_back_to_the_url() -> None:
    answer = {"created": 1, "data": [{"url": "https://files.example/x.webp"}]}
    transport = transport_for(
        json_response(answer),
        HTTPResponse(200, {"content-type": "application/octet-stream"}, b"??"),
    )
    result = await image_model(transport).generate_image("a fox")
    assert result.media_type == "image/webp"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"created": 1, "data": []}, "holds no image"),
        ({"created": 1}, "holds no image"),
        ({"created": 1, "data": [{}]}, "neither b64_json nor url"),
        ({"created": 1, "data": [{"b64_json": "@@"}]}, "not valid base64"),
    ],
)
async def test_answers_without_an_image_are_errors(answer: Any, message: str) -> None:
    transport = transport_for(json_response(answer))
    with pytest.raises(APIConnectionError, match=message):
        await image_model(transport).generate_image("a fox")


async def test_api_errors_are_typed() -> None:
    error = json.loads((FIXTURES / "error_invalid_request.json").read_text())
    transport = transport_for(json_response(error, status=400))
    with pytest.raises(BadRequestError):
        await image_model(transport).generate_image("a fox")
    transport = transport_for(json_response(error, status=400))
    with pytest.raises(BadRequestError):
        await speech_model(transport).speak("Hello")


async def test_speech_request_and_audio_answer() -> None:
    transport = transport_for(HTTPResponse(200, {"content-type": "audio/wav"}, b"RIFF0000WAVE"))
    model = speech_model(transport)
    body = fixture("speech_request.json")
    result = await model.speak(
        body["input"],
        SpeechOptions(voice="coral", format="wav", speed=1.25, instructions=body["instructions"]),
    )
    request = transport.requests[0]
    assert request.url == "https://api.openai.com/v1/audio/speech"
    assert request.json() == body
    assert headers_of(request)["accept"] == "audio/*"
    assert (result.data, result.media_type, result.kind) == (b"RIFF0000WAVE", "audio/wav", "audio")


async def test_speech_defaults_and_media_type_without_a_header() -> None:
    transport = transport_for(HTTPResponse(200, {"x-request-id": "req_1"}, MP3))
    result = await speech_model(transport, "tts-1").speak("Hi")
    assert transport.requests[0].json() == {"model": "tts-1", "input": "Hi", "voice": "alloy"}
    assert (result.media_type, result.extension) == ("audio/mpeg", ".mp3")
    assert result.provider_data == {"request_id": "req_1"}


async def test_empty_audio_is_an_error() -> None:
    transport = transport_for(HTTPResponse(200, {"content-type": "audio/mpeg"}, b""))
    with pytest.raises(APIConnectionError, match="no audio"):
        await speech_model(transport).speak("Hi")


async def test_chat_models_the_catalog_lists_are_refused_before_sending() -> None:
    transport = transport_for()
    with pytest.raises(ValidationError, match="does not generate images"):
        await image_model(transport, "gpt-4o-mini").generate_image("a fox")
    with pytest.raises(ValidationError, match="does not speak"):
        await speech_model(transport, "gpt-4o").speak("Hi")
    with pytest.raises(ValidationError, match="needs some text"):
        await image_model(transport).generate_image("  ")
    assert transport.requests == []


async def test_reached_through_the_media_api_by_string(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    built = conduit.media.image_model("openai/gpt-image-1.5", transport=transport_for())
    assert isinstance(built, OpenAIImageModel)
    spoken = conduit.media.speech_model("openai/tts-1", transport=transport_for())
    assert spoken.model_info.capabilities.audio_output
    with pytest.raises(ValidationError, match="unexpected keyword argument"):
        conduit.media.image_model("openai/gpt-image-1.5", nope=1)
    await built.aclose()


def test_options_objects_and_keywords_merge() -> None:
    model = image_model(transport_for())
    body = model.payload("x", ImageOptions(size="1024x1536", extra={"moderation": "low"}))
    assert body == {
        "model": "gpt-image-1.5",
        "prompt": "x",
        "size": "1024x1536",
        "moderation": "low",
    }
    assert TEST_KEY not in repr(model)


async def test_openai_compatible_servers_serve_images_and_speech_too() -> None:
    transport = transport_for(
        json_response(fixture("images_b64.json")),
        HTTPResponse(200, {"content-type": "audio/mpeg"}, MP3),
    )
    painter = conduit.media.image_model(
        "openai-compatible/sd-turbo", base_url="http://127.0.0.1:8080/v1", transport=transport
    )
    result = await conduit.media.generate_image(painter, "a fox")
    speaker = conduit.media.speech_model(
        "openai-compatible/kokoro", base_url="http://127.0.0.1:8080/v1", transport=transport
    )
    spoken = await conduit.media.speak(speaker, "Hello")
    assert [r.url for r in transport.requests] == [
        "http://127.0.0.1:8080/v1/images/generations",
        "http://127.0.0.1:8080/v1/audio/speech",
    ]
    assert (result.data, spoken.data) == (PNG, MP3)
