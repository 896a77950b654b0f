"""`generate_image`, `speak`, `generate_media` and `MediaResponse`, above the providers
(the offline `fake/image` and `fake/speech` models), and the refusals that happen
before any request."""

from __future__ import annotations

import base64
import io
import threading
import wave
from pathlib import Path

import pytest

import conduit.media as media
from conduit.core.media import check_output, make_image_options, make_speech_options
from conduit.core.protocols import Capabilities, ModelInfo
from conduit.errors import NotFoundError, ValidationError
from conduit.media.fake import FakeImageModel, FakeSpeechModel, solid_png
from conduit.schema import AudioBlock, ImageBlock, ImageOptions, MediaResponse, SpeechOptions
from tests.media.conftest import decode


async def test_generate_image_by_string() -> None:
    result = await media.generate_image("fake/image", "a lighthouse at dusk", size="32x16")
    image = decode(result.data)
    assert (result.media_type, image.format, image.size) == ("image/png", "PNG", (32, 16))
    assert result.provider == "fake"
    again = await media.generate_image("fake/image", "a lighthouse at dusk", size="32x16")
    other = await media.generate_image("fake/image", "a forest", size="32x16")
    assert again.data == result.data != other.data  # the colour follows the prompt


async def test_speak_by_string_makes_a_wav() -> None:
    result = await media.speak("fake/speech", "Hello there", SpeechOptions(format="wav"))
    with wave.open(io.BytesIO(result.data)) as audio:
        assert audio.getnframes() == int(len("Hello there") * 0.05 * 8000)
    assert (result.media_type, result.kind) == ("audio/wav", "audio")


async def test_generate_media_dispatches_on_output_type() -> None:
    image = await media.generate_media("fake/image", "x", output_type="image")
    audio = await media.generate_media("fake/speech", "x", output_type="audio")
    assert (image.kind, audio.kind) == ("image", "audio")
    with pytest.raises(ValidationError, match="output_type must be"):
        await media.generate_media("fake/image", "x", output_type="video")  # type: ignore[call-overload]


async def test_model_objects_are_used_as_they_are() -> None:
    model = FakeImageModel("painter")
    result = await media.generate_image(model, "x", ImageOptions(size="4x4"))
    assert result.model == "painter"
    assert (await media.speak(FakeSpeechModel(), "x")).media_type == "audio/wav"
    async with FakeImageModel() as same:
        assert repr(same) == "FakeImageModel('fake/image')"
    assert repr(FakeSpeechModel()) == "FakeSpeechModel('fake/speech')"


def test_sync_twins_agree_with_async(tmp_path: Path) -> None:
    assert media.generate_image_sync("fake/image", "x").data == solid_png(64, 64, _colour("x"))
    assert media.speak_sync("fake/speech", "x").kind == "audio"
    assert media.generate_media_sync("fake/speech", "x", output_type="audio").kind == "audio"
    assert FakeImageModel().generate_image_sync("x").data == solid_png(64, 64, _colour("x"))
    assert FakeSpeechModel().speak_sync("x").media_type == "audio/wav"
    results: list[MediaResponse] = []
    worker = threading.Thread(
        target=lambda: results.append(media.generate_image_sync("fake/image", "x"))
    )
    worker.start()
    worker.join()
    assert results[0].data == solid_png(64, 64, _colour("x"))


def _colour(prompt: str) -> tuple[int, int, int]:
    import hashlib

    digest = hashlib.sha256(prompt.encode()).digest()
    return digest[0], digest[1], digest[2]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: media.image_model("anthropic/claude-sonnet-4-5"),
            ValidationError,
            "has no image generation",
        ),
        (
            lambda: media.speech_model("ollama/llava"),
            ValidationError,
            "has no text-to-speech",
        ),
        (lambda: media.image_model("nosuch/model"), NotFoundError, "unknown provider"),
        (
            lambda: media.image_model("fake/image", colour="red"),
            ValidationError,
            "unexpected keyword",
        ),
    ],
)
def test_providers_without_the_kind_are_refused(
    call: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()  # type: ignore[operator]


def test_the_refusal_lists_providers_that_can() -> None:
    with pytest.raises(ValidationError, match="fake, gemini, openai"):
        media.image_model("ollama/llava")


async def test_bad_input_is_refused_before_the_model_runs() -> None:
    with pytest.raises(ValidationError, match="needs some text"):
        await media.speak("fake/speech", "")
    with pytest.raises(ValidationError, match="size must look like"):
        await media.generate_image("fake/image", "x", size="huge")
    with pytest.raises(ValidationError, match="PNG only"):
        await media.generate_image("fake/image", "x", output_format="jpeg")
    with pytest.raises(ValidationError, match="wav only"):
        await media.speak("fake/speech", "x", format="mp3")
    with pytest.raises(ValidationError, match="options must be ImageOptions"):
        await media.generate_image("fake/image", "x", {"size": "2x2"})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="options must be SpeechOptions"):
        await media.speak("fake/speech", "x", ImageOptions())  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="speed"):
        await media.speak("fake/speech", "x", speed=9)


def test_check_output_uses_capabilities() -> None:
    info = ModelInfo("acme", "m", Capabilities(audio_output=True))
    check_output(info, "audio")
    with pytest.raises(ValidationError, match="acme/m does not generate images"):
        check_output(info, "image")
    with pytest.raises(ValidationError, match="does not speak"):
        check_output(ModelInfo("acme", "m"), "audio")
    with pytest.raises(ValidationError, match="output_type"):
        check_output(info, "text")  # type: ignore[arg-type]


def test_options_merge_keywords_over_objects() -> None:
    merged = make_image_options(ImageOptions(size="1x1", quality="low"), {"quality": "high"})
    assert (merged.size, merged.quality) == ("1x1", "high")
    assert make_image_options(None, {}) == ImageOptions()
    spoken = make_speech_options(SpeechOptions(voice="coral"), {"speed": 2})
    assert (spoken.voice, spoken.speed) == ("coral", 2.0)
    assert make_speech_options(None, {}) == SpeechOptions()


def test_media_response_save_and_blocks(tmp_path: Path) -> None:
    png = solid_png(2, 2, (1, 2, 3))
    image = MediaResponse(data=png, media_type="image/png", model="m")
    assert image.save(tmp_path / "pic").read_bytes() == png
    assert image.save(tmp_path / "pic.data").name == "pic.data"
    block = image.to_block()
    assert isinstance(block, ImageBlock)
    assert base64.b64decode(block.data or "") == png
    audio = MediaResponse(data=b"ID3", media_type="audio/mpeg")
    sound = audio.to_block()
    assert isinstance(sound, AudioBlock)
    assert sound.format == "mp3"
    with pytest.raises(ValidationError, match="neither an image nor audio"):
        MediaResponse(data=b"{}", media_type="application/json").to_block()
    with pytest.raises(ValidationError, match="cannot write"):
        image.save(tmp_path / "missing-dir" / "pic.png")
    assert MediaResponse(data=b"", media_type="application/x-nothing").extension == ".bin"
    assert "bytes=4" in repr(MediaResponse(data=b"1234", media_type="image/png"))


def test_media_response_round_trips_as_json() -> None:
    original = MediaResponse(data=bytes(range(256)), media_type="image/png", model="m")
    again = MediaResponse.model_validate_json(original.model_dump_json())
    assert again.data == original.data
    assert len(again) == 256


def test_sniffing_media_types() -> None:
    from conduit.schema.media import sniff_media_type

    assert sniff_media_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert sniff_media_type(b"GIF89a...") == "image/gif"
    assert sniff_media_type(b"RIFF\0\0\0\0WEBPVP8 ") == "image/webp"
    assert sniff_media_type(b"RIFF\0\0\0\0AVI ") is None
    assert sniff_media_type(b"plain") is None


class PlainImageModel(FakeImageModel):
    """A plugin's image model whose constructor takes no `provider=`."""

    def __init__(self, name: str, *, broken: bool = False) -> None:
        if broken:
            raise TypeError("broken on purpose")
        super().__init__(name)


def test_plugin_image_models_without_a_provider_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    from conduit.providers import registry

    spec = registry.ProviderSpec("acme-images", image=f"{__name__}:PlainImageModel")
    monkeypatch.setitem(registry._registry, spec.name, spec)
    assert media.image_model("acme-images/painter").model_info.name == "painter"
    with pytest.raises(TypeError, match="broken on purpose"):
        media.image_model("acme-images/painter", broken=True)


def test_models_update_marks_image_and_speech_models_by_name() -> None:
    from conduit.catalog.refresh import parse_gemini_models, parse_openai_models

    listed = parse_openai_models(
        {
            "data": [
                {"id": "gpt-image-1.5"},
                {"id": "dall-e-3"},
                {"id": "gpt-4o-mini-tts"},
                {"id": "gpt-5"},
            ]
        }
    )
    assert [dict(m.reported) for m in listed] == [
        {"image_output": True},
        {"image_output": True},
        {"audio_output": True},
        {},
    ]
    methods = {"supportedGenerationMethods": ["generateContent"]}
    gemini = parse_gemini_models(
        {
            "models": [
                {"name": "models/gemini-2.5-flash-image", **methods},
                {"name": "models/gemini-2.5-flash", **methods},
            ]
        }
    )
    assert [dict(m.reported) for m in gemini] == [{"image_output": True}, {}]
