"""`conduit embed TEXT…`: embedding vectors, one JSON line per text.

Texts come from the arguments, or one per line on stdin. The model is `--model`, else
the embedded local one (all-MiniLM-L6-v2, offline). Each output line is
`{"text": …, "embedding": [...]}`; `--vectors-only` prints just the arrays.

Example:
    >>> texts_from(["a", "b"], None)
    ['a', 'b']
"""

from __future__ import annotations

import json
import sys
from typing import TextIO

import click

from conduit.errors import ValidationError

__all__ = ["DEFAULT_EMBEDDER", "embed_command", "texts_from"]

DEFAULT_EMBEDDER = "local/all-minilm-l6-v2"


def texts_from(words: list[str] | tuple[str, ...], stdin: TextIO | None) -> list[str]:
    """The arguments, else the non-empty lines of stdin (when it is not a terminal)."""
    if words:
        return list(words)
    if stdin is not None and not stdin.isatty():
        found = [line.strip() for line in stdin if line.strip()]
        if found:
            return found
    raise ValidationError('embed what? e.g. conduit embed "some text" (or pipe lines in)')


@click.command("embed")
@click.argument("text", nargs=-1)
@click.option("-m", "--model", default=DEFAULT_EMBEDDER, show_default=True)
@click.option("--vectors-only", is_flag=True, help="print only the vectors")
def embed_command(text: tuple[str, ...], model: str, vectors_only: bool) -> int:
    """Embed texts (arguments, or lines on stdin) and print JSON lines."""
    from conduit.api import embed_sync

    texts = texts_from(text, sys.stdin)
    result = embed_sync(model, texts)
    for item, vector in zip(texts, result.vectors, strict=True):
        row = vector if vectors_only else {"text": item, "embedding": vector}
        sys.stdout.write(json.dumps(row) + "\n")
    return 0
