"""Images and audio built with the constructors, as each provider's adapter sends them.

The expected bodies are wire fixtures (tests/fixtures/media/<provider>_*.json) shaped like each API
reference, with `$PNG` / `$WAV` standing for the base64 data; the transports of the
provider test suites also validate every body against the official SDK types. Input a
model cannot take is refused before any request.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from conduit.errors import ValidationError
from conduit.media import AudioMessage, ImageMessage
from conduit.media.fake import solid_png
from conduit.schema import AudioBlock, ImageBlock, Message
from tests.media.conftest import decode, make_image, make_wav
from tests.providers.anthropic import conftest as anthropic
from tests.providers.gemini import conftest as gemini
from tests.providers.ollama import conftest as ollama
from tests.providers.openai import conftest as openai

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "media"
PNG = solid_png(2, 2, (255, 0, 0))
WAV = make_wav()


def expected(path: str) -> Any:
    text = (FIXTURES / path).read_text(encoding="utf-8")
    text = text.replace("$PNG", base64.b64encode(PNG).decode())
    return json.loads(text.replace("$WAV", base64.b64encode(WAV).decode()))


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "dot.png").write_bytes(PNG)
    (tmp_path / "hello.wav").write_bytes(WAV)
    return {"png": tmp_path / "dot.png", "wav": tmp_path / "hello.wav"}


def image_and_audio(files: dict[str, Path], provider: str) -> Message:
    image = ImageMessage.from_image_file(
        files["png"], "What do you see and hear?", provider=provider
    )
    audio = AudioMessage.from_audio_file(files["wav"])
    return Message(role="user", content=[*image.blocks, *audio.blocks])


async def test_openai_sends_image_and_audio_parts(files: dict[str, Path]) -> None:
    model, transport = openai.chat_model(
        openai.reply("chat_completion_text"), name="gpt-4o-audio-preview"
    )
    await model.chat([image_and_audio(files, "openai")])
    assert transport.requests[0].json() == expected("openai_chat_request_image_audio.json")


async def test_anthropic_sends_a_base64_image_source(files: dict[str, Path]) -> None:
    model, transport = anthropic.chat_model(anthropic.reply("message_text"))
    await model.chat(
        [ImageMessage.from_image_file(files["png"], "What do you see?", provider="anthropic")]
    )
    assert transport.requests[0].json() == expected("anthropic_messages_request_image.json")


async def test_gemini_sends_inline_data_parts(files: dict[str, Path]) -> None:
    model, transport = gemini.chat_model(gemini.reply("generate_text"))
    await model.chat([image_and_audio(files, "gemini")])
    assert transport.requests[0].json() == expected("gemini_generate_request_image_audio.json")


async def test_ollama_sends_bare_base64_images(files: dict[str, Path]) -> None:
    model, transport = ollama.chat_model(ollama.reply("chat_text"), name="llava")
    await model.chat(
        [ImageMessage.from_image_file(files["png"], "What do you see?", provider="ollama")]
    )
    assert transport.requests[0].json() == expected("ollama_chat_request_image.json")


async def test_a_large_photo_arrives_within_the_providers_limit() -> None:
    raw = base64.b64encode(make_image("JPEG", (4000, 3000))).decode()
    model, transport = anthropic.chat_model(anthropic.reply("message_text"))
    await model.chat([ImageMessage.from_base64(raw, "Describe", provider="anthropic")])
    source = transport.requests[0].json()["messages"][0]["content"][1]["source"]
    sent = decode(base64.b64decode(source["data"]))
    assert source["media_type"] == "image/jpeg"
    assert max(sent.size) == 1568


@pytest.mark.parametrize(
    "make",
    [
        lambda: anthropic.chat_model(anthropic.reply("message_text")),
        lambda: ollama.chat_model(ollama.reply("chat_text"), name="llava"),
        lambda: openai.chat_model(openai.reply("chat_completion_text"), name="gpt-4o-mini"),
    ],
    ids=["anthropic", "ollama", "openai-gpt-4o-mini"],
)
async def test_audio_a_model_cannot_take_is_refused_before_sending(make: Any) -> None:
    model, transport = make()
    with pytest.raises(ValidationError, match="does not take audio input"):
        await model.chat([Message(role="user", content=[AudioBlock.from_bytes(WAV, "wav")])])
    assert transport.requests == []


async def test_a_url_image_goes_by_reference() -> None:
    model, transport = openai.chat_model(openai.reply("chat_completion_text"))
    await model.chat(
        [ImageMessage.from_url("https://example.com/cat.png", "What is it?", detail="low")]
    )
    part = transport.requests[0].json()["messages"][0]["content"][1]
    assert part == {
        "type": "image_url",
        "image_url": {"url": "https://example.com/cat.png", "detail": "low"},
    }


def test_blocks_made_by_the_constructors(files: dict[str, Path]) -> None:
    block = ImageBlock.from_image_file(files["png"], detail="high")
    assert (block.media_type, block.detail, base64.b64decode(block.data or "")) == (
        "image/png",
        "high",
        PNG,
    )
    data_url = f"data:image/png;base64,{base64.b64encode(PNG).decode()}"
    assert ImageBlock.from_url(data_url).data == block.data
    assert AudioBlock.from_audio_file(files["wav"]).format == "wav"
    assert (
        AudioBlock.from_base64(base64.b64encode(WAV).decode()).data
        == base64.b64encode(WAV).decode()
    )
    assert AudioBlock.from_base64(base64.b64encode(b"?").decode(), format="flac").format == "flac"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: ImageBlock.from_image_file(p / "missing.png"), "cannot read the image file"),
        (lambda p: ImageBlock.from_base64("***"), "not valid base64"),
        (lambda p: ImageBlock.from_base64("data:image/png,abc"), "must be base64"),
        (lambda p: ImageBlock.from_url("ftp://example.com/a.png"), "must start with https://"),
        (lambda p: AudioBlock.from_base64("***"), "not valid base64"),
        (lambda p: AudioBlock.from_base64(base64.b64encode(b"noise").decode()), "pass format="),
        (lambda p: AudioBlock.from_audio_file(p / "missing.wav"), "cannot read the audio file"),
    ],
)
def test_bad_input_says_what_is_wrong(tmp_path: Path, call: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        call(tmp_path)


def test_audio_format_comes_from_bytes_then_name(tmp_path: Path) -> None:
    from conduit.media import audio_format

    assert audio_format(b"\xff\xfb\x90\x00") == "mp3"
    assert audio_format(b"fLaC....") == "flac"
    assert audio_format(b"OggS....") == "ogg"
    assert audio_format(b"FORM\x00\x00\x00\x00AIFF") == "aiff"
    unknown = tmp_path / "speech.mp3"
    unknown.write_bytes(b"\x00\x00 not a frame")
    assert AudioBlock.from_audio_file(unknown).format == "mp3"
    nameless = tmp_path / "speech.bin"
    nameless.write_bytes(b"\x00\x00")
    with pytest.raises(ValidationError, match="pass format="):
        AudioBlock.from_audio_file(nameless)
    assert AudioBlock.from_audio_file(nameless, format="wav").format == "wav"


def test_message_helpers_are_not_instantiated() -> None:
    with pytest.raises(TypeError, match="only builds messages"):
        ImageMessage()
    with pytest.raises(TypeError, match="only builds messages"):
        AudioMessage()
    only_image = AudioMessage.from_base64(base64.b64encode(WAV).decode())
    assert [b.type for b in only_image.blocks] == ["audio"]
