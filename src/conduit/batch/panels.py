"""Request and response panels for the higher verbosity levels.

SUMMARY prints one line per call (model, tokens, cost, seconds); DETAILED adds the
request and the answer, each cut to a few hundred characters; COMPLETE shows them in
full; DEBUG adds the options sent. With rich on a terminal they are drawn as panels,
otherwise as plain framed text.

Example:
    >>> import io
    >>> from conduit.schema import Response, TextBlock, Usage, user
    >>> out = io.StringIO()
    >>> answer = Response(model="echo", provider="fake", content=[TextBlock(text="hi")],
    ...                   usage=Usage(input_tokens=3, output_tokens=1))
    >>> show_exchange(Verbosity.DETAILED, [user("hello")], answer, stream=out)
    >>> print(out.getvalue().strip())
    fake/echo · 3 in / 1 out tokens
    --- request
    user: hello
    --- response
    hi
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

from conduit.batch.verbosity import Verbosity
from conduit.schema import Message, Response

__all__ = ["show_exchange", "summary_line"]

_SHORT = 400


def summary_line(response: Response) -> str:
    """`provider/model · N in / M out tokens[ · $cost][ · seconds]`."""
    ref = f"{response.provider}/{response.model}" if response.provider else response.model
    parts = [ref, f"{response.usage.input_tokens} in / {response.usage.output_tokens} out tokens"]
    if response.cost is not None:
        parts.append(f"${response.cost:.6f}")
    if response.duration is not None:
        parts.append(f"{response.duration:.2f}s")
    return " · ".join(parts)


def _cut(text: str, full: bool) -> str:
    return text if full or len(text) <= _SHORT else text[:_SHORT] + f"… (+{len(text) - _SHORT})"


def _transcript(messages: Sequence[Message], full: bool) -> str:
    return "\n".join(f"{m.role}: {_cut(m.text, full)}" for m in messages)


def show_exchange(
    verbosity: Verbosity | bool | int | str | None,
    messages: Sequence[Message],
    response: Response,
    *,
    options: dict[str, Any] | None = None,
    stream: TextIO | None = None,
) -> None:
    """Print what the verbosity asks for about one call (nothing below SUMMARY)."""
    level = Verbosity.from_input(verbosity)
    if level < Verbosity.SUMMARY:
        return
    out = stream if stream is not None else sys.stderr
    sections = [("summary", summary_line(response))]
    if level >= Verbosity.DETAILED:
        full = level >= Verbosity.COMPLETE
        if level >= Verbosity.DEBUG and options:
            sections.append(("options", repr(options)))
        sections.append(("request", _transcript(messages, full)))
        sections.append(("response", _cut(response.text, full)))
    isatty = getattr(out, "isatty", None)
    if isatty is not None and isatty() and _draw_rich(sections, out):
        return
    lines = [sections[0][1]]
    for title, body in sections[1:]:
        lines += [f"--- {title}", body]
    out.write("\n".join(lines) + "\n")
    out.flush()


def _draw_rich(sections: list[tuple[str, str]], out: TextIO) -> bool:
    try:
        from rich.console import Console
        from rich.panel import Panel
        from rich.text import Text
    except ImportError:
        return False
    console = Console(file=out)
    console.print(Text(sections[0][1], style="dim"))
    for title, body in sections[1:]:
        console.print(Panel(Text(body), title=title, title_align="left"))
    return True
