"""How much a run prints: from nothing to every request and response.

Example:
    >>> Verbosity.from_input("vvv")
    <Verbosity.DETAILED: 3>
    >>> Verbosity.from_input(True), Verbosity.from_input(None)
    (<Verbosity.PROGRESS: 1>, <Verbosity.SILENT: 0>)
"""

from __future__ import annotations

from enum import IntEnum

from conduit.errors import ValidationError

__all__ = ["Verbosity"]


class Verbosity(IntEnum):
    """Output levels, each including the ones below it.

    - SILENT: nothing.
    - PROGRESS: a progress bar (batches) or nothing (single calls).
    - SUMMARY: a one-line summary per call or batch (tokens, cost, time).
    - DETAILED: request and response panels, truncated.
    - COMPLETE: request and response panels in full.
    - DEBUG: everything, including the options sent.
    """

    SILENT = 0
    PROGRESS = 1
    SUMMARY = 2
    DETAILED = 3
    COMPLETE = 4
    DEBUG = 5

    @classmethod
    def from_input(cls, value: Verbosity | bool | int | str | None) -> Verbosity:
        """Read a level from a bool, a number 0 to 5, a name (`"summary"`) or `"v"`s.

        `"v"` is PROGRESS, `"vv"` SUMMARY, and so on; `True` is PROGRESS; `None` and
        `False` are SILENT.

        Example:
            >>> Verbosity.from_input("summary"), Verbosity.from_input(5)
            (<Verbosity.SUMMARY: 2>, <Verbosity.DEBUG: 5>)
        """
        if value is None or value is False:
            return cls.SILENT
        if value is True:
            return cls.PROGRESS
        if isinstance(value, cls):
            return value
        if isinstance(value, int):
            if cls.SILENT <= value <= cls.DEBUG:
                return cls(value)
            raise ValidationError(f"verbosity is 0 to 5, not {value}")
        text = value.strip()
        if text and set(text) == {"v"}:
            return cls(min(len(text), cls.DEBUG))
        try:
            return cls[text.upper()]
        except KeyError:
            names = ", ".join(level.name.lower() for level in cls)
            raise ValidationError(
                f"unknown verbosity {value!r}: use a bool, 0-5, 'v'..'vvvvv' or one of {names}"
            ) from None
