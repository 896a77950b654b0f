"""Checks for the numbers every entry point takes: seconds, counts, money and rates.

Each raises `ValidationError` naming the argument, before anything is sent or stored.
`True`/`False` are refused where a number is expected (they are `int`s in Python, and
`timeout=True` is always a mistake), and so are NaN and infinity: a budget of `inf` is
refused, never stored as "unlimited" (pass None for no limit).

Example:
    >>> check_seconds(30, "timeout")
    30.0
    >>> check_money(float("inf"), "max_budget")
    Traceback (most recent call last):
    ...
    conduit.errors.ValidationError: max_budget must be a finite number of US dollars >= 0...
"""

from __future__ import annotations

import math
import re
from typing import Any

from conduit.errors import ValidationError

__all__ = ["check_count", "check_money", "check_rate", "check_seconds", "check_window"]

# A window as budgets spell it (LiteLLM's `budget_duration`, the gateway's keys): a number
# and a unit, seconds to weeks.
_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, "w": 604_800.0}


def _number(value: Any) -> float | None:
    """`value` as a float when it is a real number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def check_seconds(value: Any, name: str, *, allow_zero: bool = False) -> float:
    """A positive (or, with `allow_zero`, non-negative), finite number of seconds.

    Example:
        >>> check_seconds(0, "delay", allow_zero=True)
        0.0
    """
    number = _number(value)
    ok = (
        number is not None
        and math.isfinite(number)
        and (number > 0 or (allow_zero and number == 0))
    )
    if not ok:
        kind = (
            "a finite number of seconds >= 0"
            if allow_zero
            else "a positive, finite number of seconds"
        )
        raise ValidationError(f"{name} must be {kind}, not {value!r}")
    assert number is not None
    return number


def check_count(value: Any, name: str) -> int:
    """A whole number >= 0 (retries, attempts).

    Example:
        >>> check_count(2, "max_retries")
        2
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{name} must be a whole number >= 0, not {value!r}")
    return value


def check_money(value: Any, name: str) -> float:
    """A finite amount of US dollars >= 0 (budgets, prices).

    Example:
        >>> check_money(0.1, "max_budget")
        0.1
    """
    number = _number(value)
    if number is None or not math.isfinite(number) or number < 0:
        raise ValidationError(f"{name} must be a finite number of US dollars >= 0, not {value!r}")
    return number


def check_rate(value: Any, name: str) -> float:
    """A positive, finite rate (requests or tokens per minute).

    Example:
        >>> check_rate(60, "rpm")
        60.0
    """
    number = _number(value)
    if number is None or not math.isfinite(number) or number <= 0:
        raise ValidationError(f"{name} must be a positive, finite number, not {value!r}")
    return number


def check_window(value: Any, name: str = "window") -> float | None:
    """A budget window in seconds: a number of seconds, or `"30s"`, `"15m"`, `"12h"`,
    `"30d"`, `"4w"`; None means for ever.

    Example:
        >>> check_window("1d"), check_window(90), check_window(None)
        (86400.0, 90.0, None)
        >>> check_window("monthly")
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: window looks like '30d', '12h', '15m', '90s' or ...
    """
    if value is None:
        return None
    if isinstance(value, str):
        found = _WINDOW.match(value)
        if not found:
            raise ValidationError(
                f"{name} looks like '30d', '12h', '15m', '90s' or a number of seconds, "
                f"not {value!r}"
            )
        return check_seconds(float(found.group(1)) * _UNITS[found.group(2)], name)
    return check_seconds(value, name)
