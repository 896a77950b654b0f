"""`GeminiSpeechModel`: speech from Gemini's text-to-speech models through `generateContent`.

The request asks for the AUDIO modality and names a prebuilt voice in
`generationConfig.speechConfig`; the answer's `inlineData` part holds raw 16-bit mono
PCM (`audio/L16;codec=pcm;rate=24000`), which is wrapped in a WAV header here so the file
plays anywhere (`format="pcm"` keeps it raw). How to speak is said in words: the
`instructions` go before the text (https://ai.google.dev/gemini-api/docs/speech-generation).

Example:
    >>> model = GeminiSpeechModel("gemini-2.5-flash-preview-tts", api_key="test-key")
    >>> model.payload("Hello", SpeechOptions(voice="Puck"))["generationConfig"]["speechConfig"]
    {'voiceConfig': {'prebuiltVoiceConfig': {'voiceName': 'Puck'}}}
"""

from __future__ import annotations

import io
import time
import wave
from typing import Any, Unpack

from conduit.catalog.registry import describe_model
from conduit.core.media import BaseSpeechModel
from conduit.core.protocols import Capabilities, ModelInfo
from conduit.errors import ValidationError
from conduit.providers.gemini.connection import GeminiConnection, GeminiOptions
from conduit.providers.gemini.media import first_candidate, inline_media, no_media
from conduit.providers.gemini.response import parse_usage
from conduit.providers.registry import ProviderSpec
from conduit.schema import MediaResponse, SpeechOptions

__all__ = ["DEFAULT_VOICE", "GeminiSpeechModel", "build_speech_payload", "pcm_to_wav"]

DEFAULT_VOICE = "Kore"
_RATE = 24000  # what the TTS models send when the mime type does not say
SPEECH_CAPABILITIES = Capabilities(
    streaming=False, tools=False, json_mode=False, json_schema=False, audio_output=True
)


def pcm_to_wav(pcm: bytes, rate: int = _RATE) -> bytes:
    """Raw 16-bit little-endian mono samples as a WAV file.

    Example:
        >>> pcm_to_wav(b"\\x00\\x00" * 10)[:4]
        b'RIFF'
    """
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return buffer.getvalue()


def build_speech_payload(text: str, options: SpeechOptions) -> dict[str, Any]:
    """The `generateContent` body asking for speech.

    Example:
        >>> build_speech_payload("Hi", SpeechOptions(instructions="Say cheerfully"))["contents"]
        [{'role': 'user', 'parts': [{'text': 'Say cheerfully: Hi'}]}]
    """
    if options.format not in (None, "wav", "pcm"):
        raise ValidationError(f"Gemini speech comes as wav or pcm, not {options.format!r}")
    if options.speed is not None:
        raise ValidationError("Gemini speech takes no speed; say it in instructions= instead")
    spoken = f"{options.instructions}: {text}" if options.instructions else text
    voice = {"prebuiltVoiceConfig": {"voiceName": options.voice or DEFAULT_VOICE}}
    payload: dict[str, Any] = {
        "contents": [{"role": "user", "parts": [{"text": spoken}]}],
        "generationConfig": {
            "responseModalities": ["AUDIO"],
            "speechConfig": {"voiceConfig": voice},
        },
    }
    payload.update(options.extra)
    return payload


def _rate(mime_type: str) -> int:
    for param in mime_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key == "rate" and value.isdigit():
            return int(value)
    return _RATE


class GeminiSpeechModel(BaseSpeechModel):
    """Speech from Gemini's TTS models (`gemini-2.5-flash-preview-tts`, ...).

    Example:
        >>> GeminiSpeechModel("gemini-2.5-flash-preview-tts", api_key="k").model_info.ref
        'gemini/gemini-2.5-flash-preview-tts'
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
            self._conn.spec.name, name, fallback=SPEECH_CAPABILITIES, capabilities=capabilities
        )
        self._url = self._conn.model_url(name, "generateContent")

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    def payload(self, text: str, options: SpeechOptions) -> dict[str, Any]:
        """The exact JSON body this model sends."""
        return build_speech_payload(text, options)

    async def _speak(self, text: str, options: SpeechOptions) -> MediaResponse:
        started = time.perf_counter()
        data = await self._conn.client.post_json(self._url, self.payload(text, options))
        provider = self._info.provider
        candidate = first_candidate(data, provider)
        found = inline_media(candidate, "audio/", provider)
        if found is None:
            no_media(
                candidate, provider, "the answer holds no audio; is this a text-to-speech model?"
            )
        pcm, mime = found
        raw = options.format == "pcm"
        return MediaResponse(
            data=pcm if raw else pcm_to_wav(pcm, _rate(mime)),
            media_type="audio/pcm" if raw else "audio/wav",
            model=data.get("modelVersion") or self._info.name,
            provider=provider,
            usage=parse_usage(data.get("usageMetadata")),
            duration=time.perf_counter() - started,
            provider_data={"mime_type": mime},
        )

    async def aclose(self) -> None:
        await self._conn.aclose()
