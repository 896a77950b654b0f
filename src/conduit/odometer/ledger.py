"""What a `ledger=` argument means, for every object that records its calls by default.

The framework's `Model` and batch `Pipeline`s record each call in the one usage ledger
(`conduit.storage.ledger.open_ledger()`, what `conduit usage` reads) unless told
otherwise. `ledger=` says where: None or True for the one ledger, a ledger URL or path
(`postgresql://…`, `sqlite:///…`), an `EventStore`, a `UsageRecorder` (to share one
writer), or False for nowhere. `usage_recorder` turns that into the one recorder
(`conduit.storage.recorder.UsageRecorder`) and the store to close afterwards (the one it
opened itself; a store you passed stays open).

Example:
    >>> recorder, opened = usage_recorder(":memory:")
    >>> recorder.store, opened is recorder.store
    (SQLiteEventStore(':memory:'), True)
    >>> usage_recorder(False)
    (None, None)
"""

from __future__ import annotations

import os
from typing import Any

from conduit.errors import ValidationError
from conduit.storage.events import EventStore
from conduit.storage.ledger import open_ledger
from conduit.storage.recorder import UsageRecorder

__all__ = ["LedgerInput", "check_ledger", "usage_recorder"]

LedgerInput = EventStore | UsageRecorder | str | os.PathLike[str] | bool | None
"""Where calls are recorded: None or True for the one usage ledger, a ledger URL or path,
an `EventStore`, a `UsageRecorder`, or False for nowhere."""


def check_ledger(ledger: Any, name: str = "ledger") -> LedgerInput:
    """`ledger` when it is something `usage_recorder` understands, else a
    `ValidationError` naming `name` (checked when an object is made, before any call).

    Example:
        >>> check_ledger(False)
        False
        >>> check_ledger(3)
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: ledger must be a ledger URL or path, an EventStore, a UsageRecorder, or False to record nothing, not int...
    """  # noqa: E501 - a doctest output line
    if ledger is None or isinstance(ledger, bool | str | os.PathLike | UsageRecorder | EventStore):
        checked: LedgerInput = ledger
        return checked
    raise ValidationError(
        f"{name} must be a ledger URL or path, an EventStore, a UsageRecorder, "
        f"or False to record nothing, not {type(ledger).__name__}"
    )


def usage_recorder(ledger: LedgerInput = None) -> tuple[UsageRecorder | None, EventStore | None]:
    """The recorder `ledger` names (None for False) and the store this call opened (to
    close when done; None when it was given).

    Example:
        >>> recorder, opened = usage_recorder()  # the one ledger
        >>> str(recorder.store.path).endswith("usage.sqlite3") or "CONDUIT_LEDGER" in os.environ
        True
    """
    ledger = check_ledger(ledger)
    if ledger is False:
        return None, None
    if isinstance(ledger, UsageRecorder):
        return ledger, None
    if ledger is None or isinstance(ledger, bool | str | os.PathLike):
        opened = open_ledger(None if ledger is None or isinstance(ledger, bool) else ledger)
        return UsageRecorder(opened), opened
    return UsageRecorder(ledger), None
