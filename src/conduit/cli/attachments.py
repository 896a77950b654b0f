"""`-a FILE|URL` attachments and `-f FILE|URL` fragments for `conduit ask` and `chat`.

An attachment is an image (`ImageBlock`) or audio (`AudioBlock`); its type is read from
the file's first bytes, else its name. Whether the model takes it is the core's
capability check, before anything is sent. A fragment is text placed before the
prompt (`-f notes.md "Summarise"`), from a file or a URL.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> _ = path.write_text("Ada wrote the first program.")
    >>> fragment_text(str(path))
    'Ada wrote the first program.'
"""

from __future__ import annotations

import mimetypes
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from conduit.errors import ValidationError

__all__ = ["attachment_block", "fragment_text", "media_type"]

_URL = ("https://", "http://")
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"BM", "image/bmp"),
    (b"ID3", "audio/mpeg"),
    (b"\xff\xfb", "audio/mpeg"),
    (b"fLaC", "audio/flac"),
    (b"OggS", "audio/ogg"),
)


def media_type(name: str, head: bytes = b"") -> str | None:
    """The media type of a file from its first bytes, else its name (None if unknown).

    Example:
        >>> media_type("photo.bin", b"\\x89PNG\\r\\n")
        'image/png'
        >>> media_type("clip.wav")
        'audio/x-wav'
    """
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            return kind
    guessed, _ = mimetypes.guess_type(name)
    return guessed


def _fetch(url: str, what: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=60) as answer:  # offline-ok: a URL the user passed
            data: bytes = answer.read()
            return data
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ValidationError(f"{what}: cannot fetch {url!r} ({reason}) — check the URL") from None


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise ValidationError(
            f"{what}: cannot read {path!r} ({exc.strerror}) — give a file or an http(s) URL"
        ) from None


def attachment_block(value: str) -> Any:
    """The content block for `-a value`: an image or audio file or URL.

    Example:
        >>> attachment_block("https://example.com/cat.png").url
        'https://example.com/cat.png'
        >>> attachment_block("notes.txt")
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: -a: cannot read 'notes.txt' (No such file or directory)...
    """
    from conduit.schema import AudioBlock, ImageBlock

    is_url = value.startswith(_URL)
    if is_url and (media_type(value.split("?")[0]) or "").startswith("image/"):
        return ImageBlock.from_url(value)  # the provider fetches it
    raw = _fetch(value, "-a") if is_url else _read(value, "-a")
    kind = media_type(value.split("?")[0], raw[:16]) or "of a type not recognised"
    if kind.startswith("image/"):
        from conduit.schema.images import prepare_image

        image = prepare_image(raw)
        return ImageBlock.from_bytes(image.data, image.media_type)
    if kind.startswith("audio/"):
        from conduit.schema.audio import audio_format

        found = audio_format(raw) or kind.split("/")[1].removeprefix("x-").replace("mpeg", "mp3")
        return AudioBlock.from_bytes(raw, found)
    raise ValidationError(
        f"-a: {value!r} is {kind}, not an image or audio — attach images or audio, "
        "or use -f for text"
    )


def fragment_text(value: str) -> str:
    """The text of `-f value`: a file or an http(s) URL, as UTF-8.

    Example:
        >>> fragment_text("no-such-file.md")
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: -f: cannot read 'no-such-file.md'...
    """
    raw = _fetch(value, "-f") if value.startswith(_URL) else _read(value, "-f")
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ValidationError(
            f"-f: {value!r} is not UTF-8 text — use -a for images and audio"
        ) from None
