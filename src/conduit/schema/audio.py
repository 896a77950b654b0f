"""Recognise audio files by their first bytes: WAV and MP3 (what OpenAI's and Gemini's
chat APIs both take), and FLAC, OGG and AIFF (Gemini).

Example:
    >>> audio_format(b"RIFF\\x24\\x00\\x00\\x00WAVEfmt ")
    'wav'
    >>> audio_format(b"ID3\\x04\\x00") , audio_format(b"hello") is None
    ('mp3', True)
"""

from __future__ import annotations

import os
from pathlib import Path

from conduit.errors import ValidationError

__all__ = ["AUDIO_FORMATS", "audio_format", "read_audio_file"]

AUDIO_FORMATS = ("wav", "mp3", "flac", "ogg", "aiff")
_SUFFIXES = {".wav": "wav", ".wave": "wav", ".mp3": "mp3", ".flac": "flac", ".ogg": "ogg"}
_SUFFIXES |= {".aif": "aiff", ".aiff": "aiff"}


def audio_format(raw: bytes) -> str | None:
    """The format of audio bytes from their signature, or None when not recognised."""
    if raw[:4] == b"RIFF" and raw[8:12] == b"WAVE":
        return "wav"
    # An MP3 starts with an ID3v2 tag or straight with an MPEG audio frame, whose
    # header begins with 11 set bits (the frame sync, ISO/IEC 11172-3 2.4.1.3).
    if raw[:3] == b"ID3" or (len(raw) > 1 and raw[0] == 0xFF and raw[1] & 0xE0 == 0xE0):
        return "mp3"
    if raw[:4] == b"fLaC":
        return "flac"
    if raw[:4] == b"OggS":
        return "ogg"
    if raw[:4] == b"FORM" and raw[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    return None


def read_audio_file(path: str | os.PathLike[str], format: str | None = None) -> tuple[bytes, str]:
    """An audio file's bytes and format: `format` if given, else from the bytes, else
    from the file name.

    Raises `ValidationError` for a missing file or one that is not recognised audio.
    """
    where = Path(path)
    try:
        raw = where.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read the audio file {os.fspath(path)!r}: {exc}") from None
    found = format or audio_format(raw) or _SUFFIXES.get(where.suffix.lower())
    if not found:
        raise ValidationError(
            f"{where.name} is not audio Conduit recognises ({', '.join(AUDIO_FORMATS)}); "
            "pass format= if you know it"
        )
    return raw, found
