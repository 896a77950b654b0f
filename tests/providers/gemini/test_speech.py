"""Speech through Gemini's TTS models: the request asks for the AUDIO modality with a
prebuilt voice (validated against the google-genai SDK types); the answer's raw PCM
comes back as a WAV file (or as it is, with `format="pcm"`)."""

from __future__ import annotations

import base64
import io
import json
import struct
import wave
from typing import Any

import pytest
from google.genai import types as gt

from conduit.errors import APIConnectionError, ContentFilterError, ValidationError
from conduit.providers.gemini.speech import GeminiSpeechModel
from conduit.transport import HTTPRequest, HTTPResponse, MockTransport, json_response
from tests.providers.gemini.conftest import (
    FIXTURES,
    assert_sdk_shape,
    assert_valid_gemini_request,
    load_fixture,
    method_of,
)

PCM = b"".join(struct.pack("<h", (i * 37) % 2000 - 1000) for i in range(480))


def speech_answer() -> Any:
    text = (FIXTURES.parent / "media" / "gemini_generate_speech.json").read_text(encoding="utf-8")
    return json.loads(text.replace("$PCM", base64.b64encode(PCM).decode()))


def model_answering(
    data: Any, name: str = "gemini-2.5-flash-preview-tts"
) -> tuple[GeminiSpeechModel, MockTransport]:
    def handler(request: HTTPRequest) -> HTTPResponse:
        assert_valid_gemini_request(request.json(), method_of(request))
        return json_response(data)

    transport = MockTransport(handler)
    return GeminiSpeechModel(
        name, api_key="test-key", transport=transport, max_retries=0
    ), transport


def test_the_fixture_is_what_the_sdk_reads() -> None:
    assert_sdk_shape(gt.GenerateContentResponse, speech_answer())


async def test_speech_request_and_wav_answer() -> None:
    model, transport = model_answering(speech_answer())
    result = await model.speak("Have a wonderful day!", voice="Puck", instructions="Say cheerfully")
    assert transport.requests[0].json() == {
        "contents": [
            {"role": "user", "parts": [{"text": "Say cheerfully: Have a wonderful day!"}]}
        ],
        "generationConfig": {
            "responseModalities": ["AUDIO"],
            "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Puck"}}},
        },
    }
    assert result.media_type == "audio/wav"
    with wave.open(io.BytesIO(result.data)) as audio:
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == (1, 2, 24000)
        assert audio.readframes(audio.getnframes()) == PCM
    assert result.usage.output_tokens == 62


async def test_raw_pcm_on_request() -> None:
    model, transport = model_answering(speech_answer())
    result = await model.speak("Hi", format="pcm")
    assert (result.data, result.media_type) == (PCM, "audio/pcm")
    voice = transport.requests[0].json()["generationConfig"]["speechConfig"]["voiceConfig"]
    assert voice == {"prebuiltVoiceConfig": {"voiceName": "Kore"}}


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"format": "mp3"}, "wav or pcm"), ({"speed": 1.5}, "no speed")]
)
async def test_options_gemini_does_not_take_are_refused(kwargs: Any, message: str) -> None:
    model, transport = model_answering(speech_answer())
    with pytest.raises(ValidationError, match=message):
        await model.speak("Hi", **kwargs)
    assert transport.requests == []


async def test_a_chat_model_the_catalog_lists_is_refused() -> None:
    model, transport = model_answering(speech_answer(), name="gemini-2.5-flash")
    with pytest.raises(ValidationError, match="does not speak"):
        await model.speak("Hi")
    assert transport.requests == []


async def test_blocked_empty_and_broken_answers() -> None:
    model, _ = model_answering(load_fixture("generate_prompt_blocked"))
    with pytest.raises(ContentFilterError):
        await model.speak("x")
    model, _ = model_answering(load_fixture("generate_text"))
    with pytest.raises(APIConnectionError, match="holds no audio"):
        await model.speak("x")
    model, _ = model_answering({"candidates": [{"finishReason": "SAFETY", "index": 0}]})
    with pytest.raises(ContentFilterError):
        await model.speak("x")
    bad = speech_answer()
    bad["candidates"][0]["content"]["parts"][0]["inlineData"]["data"] = "@@"
    model, _ = model_answering(bad)
    with pytest.raises(APIConnectionError, match="not valid base64"):
        await model.speak("x")
    odd_rate = speech_answer()
    odd_rate["candidates"][0]["content"]["parts"][0]["inlineData"]["mimeType"] = (
        "audio/L16;rate=16000"
    )
    model, _ = model_answering(odd_rate)
    with wave.open(io.BytesIO((await model.speak("x")).data)) as audio:
        assert audio.getframerate() == 16000
    await model.aclose()
