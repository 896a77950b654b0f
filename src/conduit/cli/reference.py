"""The command reference in `docs/cli.md`, generated from the click definitions, so the
page cannot drift from the commands (a test compares them).

Regenerate the page's reference section with:

    python -m conduit.cli.reference docs/cli.md

Example:
    >>> text = render_reference()
    >>> "### `conduit ask`" in text and "### `conduit logs`" in text
    True
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import click

__all__ = ["BEGIN", "END", "render_reference", "update_page"]

BEGIN = "<!-- BEGIN GENERATED: python -m conduit.cli.reference docs/cli.md -->"
END = "<!-- END GENERATED -->"
_WIDTH = 92


def _walk(
    command: click.Command, path: str, parent: click.Context | None
) -> Iterator[tuple[str, click.Command, click.Context]]:
    name = path.rsplit(" ", 1)[-1]
    settings = {**command.context_settings, "terminal_width": _WIDTH, "max_content_width": _WIDTH}
    ctx = click.Context(command, info_name=name, parent=parent, **settings)
    yield path, command, ctx
    if isinstance(command, click.Group):
        for sub in command.list_commands(ctx):
            found = command.get_command(ctx, sub)
            if found is not None and not found.hidden:
                yield from _walk(found, f"{path} {sub}", ctx)


def render_reference() -> str:
    """Every command's `--help`, in order, as Markdown.

    Example:
        >>> render_reference().startswith("## Reference")
        True
    """
    from conduit.cli.main import cli

    parts = [
        "## Reference",
        "",
        "Every command's `--help`, generated from the commands themselves.",
    ]
    for path, _command, ctx in _walk(cli, "conduit", None):
        help_text = ctx.get_help().replace("\r", "")
        help_text = re.sub(r"[ \t]+$", "", help_text, flags=re.MULTILINE)
        parts += ["", f"### `{path}`", "", "```text", help_text, "```"]
    return "\n".join(parts) + "\n"


def update_page(page: str) -> str:
    """`page` with its generated section replaced by the current reference (appended,
    between the markers, when it has none).

    Example:
        >>> BEGIN in update_page("# The command line\\n")
        True
    """
    section = f"{BEGIN}\n\n{render_reference()}\n{END}\n"
    if BEGIN in page and END in page:
        head, _, rest = page.partition(BEGIN)
        _, _, tail = rest.partition(END)
        return head + section + tail.lstrip("\n")
    return page.rstrip("\n") + "\n\n" + section


if __name__ == "__main__":  # pragma: no cover
    # Run in a fresh process: click remembers each command's help option from its first
    # use, so an earlier in-process call could change how --help is spelled here.
    check = "--check" in sys.argv
    target = Path(next((a for a in sys.argv[1:] if a != "--check"), "docs/cli.md"))
    current = target.read_text(encoding="utf-8")
    if check:
        sys.exit(0 if update_page(current) == current else 1)
    target.write_text(update_page(current), encoding="utf-8")
