"""Images in the terminal through a real `chafa`, and audio played by writing to a file
sink: the framework face's `display()` and `play()`."""

from __future__ import annotations

import base64
import io
import shutil
import sys
import wave
from pathlib import Path

import pytest

from conduit import AudioMessage, ImageMessage, Response
from conduit.errors import MissingDependencyError, ValidationError
from conduit.media.fake import solid_png, tone_wav
from conduit.schema.display import WaveFileSink, play_audio, show_image

CHAFA = shutil.which("chafa")
needs_chafa = pytest.mark.skipif(
    CHAFA is None,
    reason="the chafa program is not installed (Debian package `chafa`; .ci/run installs it)",
)


def _image() -> ImageMessage:
    raw = base64.b64encode(solid_png(48, 24, (200, 30, 30))).decode()
    return ImageMessage.from_base64(image_content=raw, text_content="What is this?")


@needs_chafa
def test_an_image_is_drawn_by_chafa() -> None:
    out = io.StringIO()
    assert _image().display(out=out, size=(20, 8)) is True
    drawn = out.getvalue()
    assert "\x1b[" in drawn  # colour escape sequences: character art, not a note
    assert 1 <= len(drawn.strip("\n").splitlines()) <= 8  # within the size asked for
    assert "image/png image" not in drawn
    answer = Response(content=_image().blocks)
    again = io.StringIO()
    answer.display(out=again, size=(20, 8))
    assert "\x1b[" in again.getvalue()


@needs_chafa
def test_what_chafa_cannot_draw_is_a_one_line_note() -> None:
    out = io.StringIO()
    assert show_image(b"\x89PNG but not really", "image/png", out=out, size=(20, 8)) is False
    assert out.getvalue().startswith("[image/png image, 19 bytes: chafa could not draw it (")
    assert out.getvalue().count("\n") == 1


def test_without_chafa_a_note_says_what_the_image_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    out = io.StringIO()
    assert _image().display(out=out) is False
    [line] = out.getvalue().splitlines()
    assert line.startswith("[image/png image, ")
    assert line.endswith("bytes: install chafa to see it in the terminal]")
    url = ImageMessage.from_url("https://example.com/cat.png")
    shown = io.StringIO()
    assert url.display(out=shown) is False
    assert "https://example.com/cat.png" in shown.getvalue()
    text_only = io.StringIO()
    Response(content="no picture").display(out=text_only)
    assert text_only.getvalue() == "[no image in this answer]\n"


def _frames(path: Path) -> tuple[int, int, int]:
    with wave.open(str(path)) as file:
        return file.getnframes(), file.getnchannels(), file.getframerate()


def test_audio_plays_into_a_wav_file_sink(tmp_path: Path) -> None:
    clip = AudioMessage.from_base64(
        audio_content=base64.b64encode(tone_wav(0.5, rate=8000)).decode(),
        text_content="Listen",
        format="wav",
    )
    target = tmp_path / "played.wav"
    assert clip.play(sink=WaveFileSink(target)) == 4000
    assert _frames(target) == (4000, 1, 8000)
    with wave.open(str(target)) as played:
        samples = played.readframes(4000)
    assert samples == tone_wav(0.5, rate=8000)[44:]  # the same PCM that went in


def test_mp3_is_decoded_before_it_plays(tmp_path: Path) -> None:
    # Twenty MPEG-1 Layer III frames of silence (128 kbit/s, 44.1 kHz, stereo): a valid
    # MP3 made here, 1,152 samples per frame.
    frame = bytes([0xFF, 0xFB, 0x90, 0x64]) + bytes(413)
    clip = AudioMessage.from_base64(audio_content=base64.b64encode(frame * 20).decode())
    assert clip.format == "mp3"
    target = tmp_path / "mp3.wav"
    assert clip.play(sink=target) == 20 * 1152
    assert _frames(target) == (20 * 1152, 2, 44100)


def test_any_sink_gets_the_pcm_and_bad_audio_is_refused(tmp_path: Path) -> None:
    got: list[tuple[int, int, int]] = []

    class Counter:
        def write(self, pcm: bytes, *, sample_rate: int, channels: int) -> None:
            got.append((len(pcm), sample_rate, channels))

    assert play_audio(tone_wav(0.1), "wav", sink=Counter()) == 800
    assert got == [(1600, 8000, 1)]
    with pytest.raises(ValidationError, match="cannot be decoded"):
        play_audio(b"RIFF-not-audio", "wav", sink=Counter())
    with pytest.raises(ValidationError, match="cannot play 'aiff'"):
        play_audio(b"FORM", "aiff", sink=Counter())
    with pytest.raises(ValidationError, match="no audio"):
        Response(content="text only").play(sink=tmp_path / "x.wav")


def test_playing_without_miniaudio_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "miniaudio", None)
    with pytest.raises(MissingDependencyError, match=r"conduit\[audio\]"):
        play_audio(tone_wav(0.1), "wav", sink=tmp_path / "x.wav")
