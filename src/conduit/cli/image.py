"""`conduit image "prompt" -o out.png`: generate an image and save it.

The model is `--model`, else `$CONDUIT_IMAGE_MODEL`, else `openai/gpt-image-1.5`.
In a terminal that shows images inline (iTerm2, WezTerm, kitty) the image is shown
too; elsewhere the path, media type, size in pixels and bytes are printed.

Example:
    >>> from click.testing import CliRunner
    >>> import tempfile
    >>> out = f"{tempfile.mkdtemp()}/boat.png"
    >>> result = CliRunner().invoke(image, ["a boat", "-m", "fake/image", "-o", out])
    >>> result.output.startswith("saved ")
    True
"""

from __future__ import annotations

import base64
import os
import struct
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import click

__all__ = ["DEFAULT_IMAGE_MODEL", "IMAGE_MODEL_ENV", "describe", "image", "inline_image"]

DEFAULT_IMAGE_MODEL = "openai/gpt-image-1.5"
IMAGE_MODEL_ENV = "CONDUIT_IMAGE_MODEL"
_KITTY_CHUNK = 4096


def _dimensions(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG header (the IHDR chunk), else from Pillow if present."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    try:
        import io

        from PIL import Image
    except ImportError:
        return None
    try:
        with Image.open(io.BytesIO(data)) as found:
            return found.size
    except (OSError, ValueError):
        return None


def describe(path: Path, data: bytes, media_type: str) -> str:
    """One line about a saved image: path, type, pixels and size.

    Example:
        >>> from conduit.media.fake import solid_png
        >>> describe(Path("out.png"), solid_png(3, 2, (0, 0, 0)), "image/png")
        'saved out.png (image/png, 3x2, ... bytes)'
    """
    size = _dimensions(data)
    pixels = f"{size[0]}x{size[1]}, " if size else ""
    size_bytes = len(data)
    if size_bytes < 10_000:
        amount = f"{size_bytes} bytes"
    elif size_bytes < 1_000_000:
        amount = f"{size_bytes / 1000:.0f} kB"
    else:
        amount = f"{size_bytes / 1_000_000:.1f} MB"
    return f"saved {path} ({media_type}, {pixels}{amount})"


def inline_image(data: bytes, media_type: str, environ: Mapping[str, str]) -> str | None:
    """The escape sequence that shows `data` inline in this terminal, or None when the
    terminal is not one known to (iTerm2's and kitty's image protocols).

    Example:
        >>> inline_image(b"...", "image/png", {"TERM": "xterm-256color"}) is None
        True
        >>> inline_image(b"abc", "image/png", {"TERM_PROGRAM": "iTerm.app"})[:12]
        '\\x1b]1337;File='
    """
    encoded = base64.b64encode(data).decode("ascii")
    program = environ.get("TERM_PROGRAM", "")
    if program in ("iTerm.app", "WezTerm") or environ.get("LC_TERMINAL") == "iTerm2":
        # https://iterm2.com/documentation-images.html
        return f"\x1b]1337;File=inline=1;size={len(data)};preserveAspectRatio=1:{encoded}\x07\n"
    if media_type == "image/png" and (
        environ.get("TERM") == "xterm-kitty" or "KITTY_WINDOW_ID" in environ
    ):
        # https://sw.kovidgoyal.net/kitty/graphics-protocol/ : f=100 is PNG, sent in
        # chunks of at most 4096 base64 bytes, m=1 on all but the last.
        chunks = [encoded[i : i + _KITTY_CHUNK] for i in range(0, len(encoded), _KITTY_CHUNK)]
        parts = []
        for i, chunk in enumerate(chunks):
            more = int(i < len(chunks) - 1)
            keys = f"f=100,a=T,m={more}" if i == 0 else f"m={more}"
            parts.append(f"\x1b_G{keys};{chunk}\x1b\\")
        return "".join(parts) + "\n"
    return None


def _is_terminal(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@click.command("image")
@click.argument("prompt", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("image"),
    show_default=True,
    help="file to write (the extension is added when it has none)",
)
@click.option(
    "-m",
    "--model",
    help=f"provider/model (default: ${IMAGE_MODEL_ENV}, else {DEFAULT_IMAGE_MODEL})",
)
@click.option("--size", help="e.g. 1024x1024, 1536x1024, auto (Gemini: 16:9, 2K, ...)")
@click.option("--quality", help="e.g. low, medium, high, auto")
@click.option(
    "--preview/--no-preview",
    default=None,
    help="show the image inline (default: when the terminal can)",
)
def image(
    prompt: tuple[str, ...],
    output: Path,
    model: str | None,
    size: str | None,
    quality: str | None,
    preview: bool | None,
) -> None:
    """Generate an image from PROMPT and save it."""
    from conduit.errors import ConduitError
    from conduit.media import generate_image_sync

    chosen = model or os.environ.get(IMAGE_MODEL_ENV) or DEFAULT_IMAGE_MODEL
    try:
        result = generate_image_sync(chosen, " ".join(prompt), size=size, quality=quality)
        path = result.save(output)
    except ConduitError as exc:
        raise click.ClickException(str(exc)) from None
    if preview is None:
        preview = _is_terminal(sys.stdout)
    if preview:
        shown = inline_image(result.data, result.media_type, os.environ)
        if shown is not None:
            click.echo(shown, nl=False)
    click.echo(describe(path, result.data, result.media_type))
