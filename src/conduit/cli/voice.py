"""One voice for every CLI error: `conduit: error: <what> — <what to do>`, one line.

Library errors speak to Python callers ("pass api_key=", "lower max_tokens"); on the
command line the same advice names the flag or variable to use instead.

Example:
    >>> from conduit.errors import ContextWindowExceededError
    >>> error_line(ContextWindowExceededError("the prompt is too long"))
    'conduit: error: the prompt is too long — Shorten the messages or lower --max-tokens, or use a model with a larger context.'
    >>> error_line(ValueError("boom"))
    'conduit: error: ValueError: boom — this is a bug: run again with --traceback and report what it prints'
    >>> plural(1, "answer"), plural(2, "answer"), plural(3, "match", "matches")
    ('1 answer', '2 answers', '3 matches')
"""  # noqa: E501

from __future__ import annotations

import click

from conduit.errors import ConduitError

__all__ = ["BUG_HINT", "cli_hint", "error_line", "plural"]

BUG_HINT = "this is a bug: run again with --traceback and report what it prints"

# Python-side advice -> the command line's words for it.
_FOR_THE_SHELL = (
    (" or pass api_key=", " or run 'conduit secrets set PROVIDER'"),
    ("pass api_key=", "set the provider's key variable (conduit models list names them)"),
    ("lower max_tokens", "lower --max-tokens"),
    ("raise the timeout", "raise --timeout"),
    ("(raise it with n_ctx=)", "(use a model with a larger context)"),
)


def cli_hint(text: str) -> str:
    """`text` with Python argument names replaced by the CLI's flags.

    Example:
        >>> cli_hint("set the OPENAI_API_KEY environment variable or pass api_key=")
        "set the OPENAI_API_KEY environment variable or run 'conduit secrets set PROVIDER'"
    """
    for python, shell in _FOR_THE_SHELL:
        text = text.replace(python, shell)
    return text


def error_line(error: BaseException) -> str:
    """The one line printed for `error` (a `ConduitError`, a click error or a bug)."""
    if isinstance(error, ConduitError):
        what = cli_hint(str(error))
    elif isinstance(error, click.ClickException):
        what = error.format_message()
    else:
        what = f"{type(error).__name__}: {error} — {BUG_HINT}"
    return f"conduit: error: {what}"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`count` and the noun in the number it needs ("1 answer", "2 answers")."""
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"
