"""Option types for numbers the command line takes: seconds, retry counts, US dollars,
rates and budget windows.

Each one checks its value with the same function the library uses
(`conduit.core.checks`), so `--timeout -1` is refused with the same words as
`timeout=-1`, before anything is sent: `conduit: error: invalid value for '--timeout':
timeout must be a positive, finite number of seconds, not -1.0 — …` (exit status 2).

Example:
    >>> import click
    >>> SECONDS.convert("2.5", None, None)
    2.5
    >>> COUNT.convert("-1", None, None)
    Traceback (most recent call last):
    ...
    click.exceptions.BadParameter: max_retries must be a whole number >= 0, not -1
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from conduit.core.checks import check_count, check_money, check_rate, check_seconds, check_window
from conduit.errors import ValidationError

__all__ = ["COUNT", "CheckedNumber", "MONEY", "RATE", "SECONDS", "WINDOW", "Window"]

if TYPE_CHECKING:  # click 8.2+ types its ParamType as generic; older ones are not
    _ParamType = click.ParamType[Any, Any]
else:
    _ParamType = click.ParamType


class CheckedNumber(_ParamType):
    """A number parsed from the command line (`whole=True`: an integer) and passed
    through `check(value, name)` from `conduit.core.checks`.

    Example:
        >>> CheckedNumber("seconds", check_seconds, "timeout").convert("30", None, None)
        30.0
    """

    def __init__(
        self, name: str, check: Callable[[Any, str], Any], label: str, *, whole: bool = False
    ) -> None:
        self.name = name
        self.check = check
        self.label = label
        self.whole = whole

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        label = param.name if param is not None and param.name else self.label
        number: Any = value
        if isinstance(value, str):
            try:
                number = int(value) if self.whole else float(value)
            except ValueError:
                kind = "a whole number" if self.whole else "a number"
                self.fail(f"{kind} is needed, not {value!r}", param, ctx)
        try:
            checked = self.check(number, label)
        except ValidationError as exc:
            self.fail(exc.message, param, ctx)
        return int(checked) if self.whole else checked


class Window(_ParamType):
    """A budget window as the gateway stores it (`"30d"`, `"12h"`, `"15m"`, `"90s"`,
    `"4w"`): the text is kept, after checking that it is a positive, finite length.

    Example:
        >>> WINDOW.convert("30d", None, None)
        '30d'
        >>> Window.seconds("1h")
        3600.0
    """

    name = "window"

    @staticmethod
    def seconds(text: str) -> float:
        """The window's length in seconds (a `ValidationError` when it is not one).

        Example:
            >>> Window.seconds("15m")
            900.0
        """
        seconds = check_window(text, "budget_window")
        assert seconds is not None
        return seconds

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            self.seconds(str(value))
        except ValidationError as exc:
            self.fail(exc.message, param, ctx)
        return str(value).strip()


SECONDS = CheckedNumber("seconds", check_seconds, "timeout")
"""A positive number of seconds (`--timeout`)."""
COUNT = CheckedNumber("count", check_count, "max_retries", whole=True)
"""A whole number >= 0 (`--max-retries`)."""
MONEY = CheckedNumber("usd", check_money, "max_budget")
"""A finite amount of US dollars >= 0 (`--max-budget`)."""
RATE = CheckedNumber("rate", check_rate, "rate", whole=True)
"""A positive whole rate (`--rpm`, `--tpm`)."""
WINDOW = Window()
"""A budget window (`--budget-window 30d`)."""
