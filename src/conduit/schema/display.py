"""Show an image in the terminal and play audio: what `Response.display()`,
`Response.play()`, `ImageMessage.display()` and `AudioMessage.play()` do.

Images go through the `chafa` program (https://hpjansson.org/chafa/) when it is on the
`PATH`; otherwise, or when it fails, one line says what the image is (its type and size)
and how to see it. Showing an image never raises.

Audio is decoded by miniaudio (https://github.com/irmen/pyminiaudio: MP3, WAV, FLAC and
Vorbis decoders in one wheel, no system library; `pip install "conduit[audio]"`) and
written to a sink: the default output device, or a WAV file (`WaveFileSink`, or a path),
or anything with the `AudioSink` method. Playing on a device waits until the sound has
played.

These live in the data layer because `Response` (data) offers them; they depend on
nothing but the standard library, the `chafa` program and miniaudio.

Example:
    >>> import io
    >>> from conduit.media.fake import solid_png
    >>> out = io.StringIO()
    >>> show_image(solid_png(4, 4, (0, 128, 0)), "image/png", out=out, chafa="no-such-chafa")
    False
    >>> out.getvalue()
    '[image/png image, 72 bytes: install chafa to see it in the terminal]\\n'
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import wave
from pathlib import Path
from typing import Any, Protocol, TextIO, runtime_checkable

from conduit.errors import MissingDependencyError, ValidationError

__all__ = [
    "AUDIO_INSTALL_HINT",
    "AudioSink",
    "DeviceSink",
    "WaveFileSink",
    "describe_image",
    "play_audio",
    "show_image",
]

AUDIO_INSTALL_HINT = 'pip install "conduit[audio]"'
_CHAFA_TIMEOUT = 60.0  # a hang guard: chafa renders a screenful in milliseconds
_SUFFIX = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp"}


def _size(count: int) -> str:
    if count < 1000:
        return f"{count} bytes"
    if count < 1_000_000:
        return f"{count / 1000:.1f} kB"
    return f"{count / 1_000_000:.1f} MB"


def describe_image(data: bytes, media_type: str, reason: str) -> str:
    """The one line shown instead of an image: its type, its size and `reason`.

    Example:
        >>> describe_image(b"x" * 2048, "image/jpeg", "no terminal")
        '[image/jpeg image, 2.0 kB: no terminal]'
    """
    return f"[{media_type} image, {_size(len(data))}: {reason}]"


def _terminal(out: TextIO) -> bool:
    isatty = getattr(out, "isatty", None)
    return bool(isatty is not None and isatty())


def show_image(
    data: bytes,
    media_type: str,
    *,
    out: TextIO | None = None,
    size: tuple[int, int] | None = None,
    chafa: str = "chafa",
) -> bool:
    """Draw `data` in the terminal with `chafa`; True when it was drawn.

    `out` is where the picture goes (standard output by default); `size` is the most
    columns and rows it may take (the terminal's size by default). Off a terminal
    chafa draws with plain character symbols. When chafa is missing or fails, one line
    (`describe_image`) is written instead and False returned: never an exception.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> show_image(b"not an image", "image/png", out=out, chafa="no-such-chafa")
        False
    """
    stream = out if out is not None else sys.stdout
    program = shutil.which(chafa)
    if program is None:
        stream.write(describe_image(data, media_type, "install chafa to see it in the terminal"))
        stream.write("\n")
        return False
    columns, rows = size or _terminal_size()
    command = [program, f"--size={columns}x{rows}", "--animate=off"]
    if not _terminal(stream):
        command.append("--format=symbols")  # no terminal to ask about graphics protocols
    handle, name = tempfile.mkstemp(suffix=_SUFFIX.get(media_type, ".img"), prefix="conduit-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        done = subprocess.run(
            [*command, name], capture_output=True, timeout=_CHAFA_TIMEOUT, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        stream.write(describe_image(data, media_type, f"chafa failed: {type(exc).__name__}"))
        stream.write("\n")
        return False
    finally:
        Path(name).unlink(missing_ok=True)
    if done.returncode != 0 or not done.stdout:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        # chafa says "chafa: Failed to open 'FILE': REASON": the reason, not our temp file.
        said = why[-1].rsplit(": ", 1)[-1] if why else f"exit {done.returncode}"
        reason = f"chafa could not draw it ({said})"
        stream.write(describe_image(data, media_type, reason) + "\n")
        return False
    stream.write(done.stdout.decode("utf-8", "replace"))
    if not done.stdout.endswith(b"\n"):
        stream.write("\n")
    stream.flush()
    return True


def _terminal_size() -> tuple[int, int]:
    size = shutil.get_terminal_size((80, 25))
    return max(size.columns, 10), max(size.lines - 2, 5)


@runtime_checkable
class AudioSink(Protocol):
    """Where decoded sound goes: 16-bit signed little-endian PCM frames."""

    def write(self, pcm: bytes, *, sample_rate: int, channels: int) -> None:
        """Take all of the sound at once (16-bit samples, channels interleaved)."""
        ...


class WaveFileSink:
    """Writes the sound to a WAV file (16-bit PCM): playback you can check, or keep.

    Example:
        >>> import tempfile, wave
        >>> path = Path(tempfile.mkdtemp(), "out.wav")
        >>> WaveFileSink(path).write(b"\\x00\\x00" * 80, sample_rate=8000, channels=1)
        >>> wave.open(str(path)).getnframes()
        80
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def write(self, pcm: bytes, *, sample_rate: int, channels: int) -> None:
        """Write the frames as one WAV file."""
        with wave.open(str(self.path), "wb") as file:
            file.setnchannels(channels)
            file.setsampwidth(2)
            file.setframerate(sample_rate)
            file.writeframes(pcm)

    def __repr__(self) -> str:
        return f"WaveFileSink({str(self.path)!r})"


class DeviceSink:
    """The default sound output (miniaudio's playback device); `write` returns when the
    sound has played.

    Example:
        >>> DeviceSink()
        DeviceSink()
    """

    def write(self, pcm: bytes, *, sample_rate: int, channels: int) -> None:
        """Play the frames and wait until they have played."""
        miniaudio = _miniaudio()
        finished = threading.Event()
        frame_bytes = 2 * channels

        def feed() -> Any:
            offset = 0
            wanted = yield b""
            while offset < len(pcm):
                chunk = pcm[offset : offset + wanted * frame_bytes]
                offset += len(chunk)
                wanted = yield chunk
            finished.set()
            while True:  # silence until the device is closed
                wanted = yield b"\x00" * (wanted * frame_bytes)

        device = miniaudio.PlaybackDevice(nchannels=channels, sample_rate=sample_rate)
        try:
            generator = feed()
            next(generator)
            device.start(generator)
            # The sound's own length plus a generous margin: a hang guard, not a timer.
            finished.wait(timeout=len(pcm) / (frame_bytes * sample_rate) + 30.0)
        finally:
            device.close()

    def __repr__(self) -> str:
        return "DeviceSink()"


def _miniaudio() -> Any:
    try:
        import miniaudio  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        raise MissingDependencyError(
            f"playing audio needs miniaudio; install it with: {AUDIO_INSTALL_HINT}"
        ) from None
    return miniaudio


def play_audio(
    data: bytes, format: str, *, sink: AudioSink | str | os.PathLike[str] | None = None
) -> int:
    """Decode `data` (`format`: mp3, wav, flac or ogg) and send it to `sink`: the default
    output device (None), a `WaveFileSink` or a `.wav` path, or any `AudioSink`. Returns
    the number of frames played. Needs miniaudio (`pip install "conduit[audio]"`).

    Example:
        >>> import tempfile, wave
        >>> from conduit.media.fake import tone_wav
        >>> path = Path(tempfile.mkdtemp(), "played.wav")
        >>> play_audio(tone_wav(0.25), "wav", sink=path)
        2000
        >>> wave.open(str(path)).getnframes()
        2000
    """
    miniaudio = _miniaudio()
    readers = {
        "mp3": miniaudio.mp3_get_info,
        "wav": miniaudio.wav_get_info,
        "flac": miniaudio.flac_get_info,
        "ogg": miniaudio.vorbis_get_info,
    }
    reader = readers.get(format.lower())
    if reader is None:
        raise ValidationError(
            f"cannot play {format!r} audio; miniaudio decodes {', '.join(sorted(readers))}"
        )
    try:
        info = reader(data)
        sound = miniaudio.decode(data, nchannels=info.nchannels, sample_rate=info.sample_rate)
    except miniaudio.MiniaudioError as exc:
        raise ValidationError(f"the {format} audio cannot be decoded: {exc}") from None
    target: AudioSink
    if sink is None:
        target = DeviceSink()
    elif isinstance(sink, str | os.PathLike):
        target = WaveFileSink(sink)
    else:
        target = sink
    target.write(sound.samples.tobytes(), sample_rate=sound.sample_rate, channels=sound.nchannels)
    frames: int = sound.num_frames
    return frames
