"""`OpenAISpeechModel`: OpenAI's text-to-speech API, `POST /audio/speech`.

The request follows https://platform.openai.com/docs/api-reference/audio/createSpeech;
the answer is the audio file itself (not JSON), in `response_format` (mp3 by default).

Example:
    >>> model = OpenAISpeechModel("gpt-4o-mini-tts", api_key="sk-test")
    >>> model.payload("Hello", SpeechOptions(voice="coral", format="wav"))
    {'model': 'gpt-4o-mini-tts', 'input': 'Hello', 'voice': 'coral', 'response_format': 'wav'}
"""

from __future__ import annotations

import time
from typing import Any, Unpack

from conduit import _json
from conduit.catalog.registry import describe_model
from conduit.core.media import BaseSpeechModel
from conduit.core.protocols import Capabilities, ModelInfo
from conduit.errors import APIConnectionError
from conduit.providers.openai.connection import ConnectionOptions, OpenAIConnection
from conduit.providers.registry import ProviderSpec
from conduit.schema import MediaResponse, SpeechOptions
from conduit.transport import HTTPRequest

__all__ = ["DEFAULT_VOICE", "MEDIA_TYPES", "OpenAISpeechModel", "build_speech_payload"]

DEFAULT_VOICE = "alloy"
# The formats `response_format` takes and what each is; pcm is raw 24 kHz 16-bit
# little-endian mono samples, with no header.
MEDIA_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
SPEECH_CAPABILITIES = Capabilities(
    streaming=False, tools=False, json_mode=False, json_schema=False, audio_output=True
)


def build_speech_payload(model: str, text: str, options: SpeechOptions) -> dict[str, Any]:
    """The JSON body for one speech request (the voice is required; `alloy` by default).

    Example:
        >>> build_speech_payload("tts-1", "Hi", SpeechOptions(speed=1.5))
        {'model': 'tts-1', 'input': 'Hi', 'voice': 'alloy', 'speed': 1.5}
    """
    payload: dict[str, Any] = {
        "model": model,
        "input": text,
        "voice": options.voice or DEFAULT_VOICE,
    }
    if options.format is not None:
        payload["response_format"] = options.format
    if options.speed is not None:
        payload["speed"] = options.speed
    if options.instructions is not None:
        payload["instructions"] = options.instructions
    payload.update(options.extra)
    return payload


class OpenAISpeechModel(BaseSpeechModel):
    """Speech from OpenAI's text-to-speech API (`tts-1`, `gpt-4o-mini-tts`, ...).

    Example:
        >>> OpenAISpeechModel("tts-1", api_key="sk-test").model_info.capabilities.audio_output
        True
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
            self._conn.spec.name, name, fallback=SPEECH_CAPABILITIES, capabilities=capabilities
        )
        self._url = f"{self._conn.base_url}/audio/speech"

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    def payload(self, text: str, options: SpeechOptions) -> dict[str, Any]:
        """The exact JSON body this model sends."""
        return build_speech_payload(self._info.name, text, options)

    async def _speak(self, text: str, options: SpeechOptions) -> MediaResponse:
        started = time.perf_counter()
        client = self._conn.client
        body = _json.dumps(self.payload(text, options))
        request = HTTPRequest(
            "POST", self._url, {**client.headers, "accept": "audio/*"}, body, client.timeout
        )
        response = await client.send(request)
        audio = await response.aread()
        if not audio:
            raise APIConnectionError("the answer holds no audio", provider=self._info.provider)
        fmt = options.format or "mp3"
        served = (response.header("content-type") or "").split(";")[0].strip()
        return MediaResponse(
            data=audio,
            media_type=served if served.startswith("audio/") else MEDIA_TYPES[fmt],
            model=self._info.name,
            provider=self._info.provider,
            duration=time.perf_counter() - started,
            provider_data={"request_id": response.header("x-request-id")}
            if response.header("x-request-id")
            else {},
        )

    async def aclose(self) -> None:
        await self._conn.aclose()
