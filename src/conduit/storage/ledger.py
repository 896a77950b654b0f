"""The usage ledger every face writes and `conduit usage` reads: where it is and how to
open it.

One ledger by default for the command line, the framework's `Model`, batch runs and the
gateway: `usage.sqlite3` in Conduit's data folder (SQLite in WAL mode, so several
processes can write it at once). `$CONDUIT_LEDGER` moves it: a path, `sqlite:///path`,
or a `postgresql://` URL for several machines.

Example:
    >>> import os
    >>> os.environ["CONDUIT_LEDGER"] = "postgresql://127.0.0.1/usage"
    >>> default_ledger_url()
    'postgresql://127.0.0.1/usage'
    >>> open_ledger()
    PostgresEventStore('postgresql://127.0.0.1/usage')
    >>> del os.environ["CONDUIT_LEDGER"]
"""

from __future__ import annotations

import os

from conduit.storage.events import EventStore
from conduit.storage.paths import events_path

__all__ = ["LEDGER_ENV", "default_ledger_url", "open_ledger"]

LEDGER_ENV = "CONDUIT_LEDGER"


def default_ledger_url() -> str:
    """`$CONDUIT_LEDGER`, else `usage.sqlite3` in the data folder.

    Example:
        >>> default_ledger_url().endswith("usage.sqlite3") or "CONDUIT_LEDGER" in os.environ
        True
    """
    return os.environ.get(LEDGER_ENV) or str(events_path())


def open_ledger(url: str | os.PathLike[str] | None = None) -> EventStore:
    """The usage store `url` names: a `postgresql://` URL, a `sqlite:///path`, a path or
    `":memory:"`; by default the one ledger (`default_ledger_url()`).

    Example:
        >>> open_ledger(":memory:")
        SQLiteEventStore(':memory:')
    """
    text = default_ledger_url() if url is None else os.fspath(url)
    if text.startswith(("postgresql://", "postgres://")):
        from conduit.storage.events_postgres import PostgresEventStore

        return PostgresEventStore(text)
    from conduit.storage.events_sqlite import SQLiteEventStore

    return SQLiteEventStore(text.removeprefix("sqlite:///") if text != ":memory:" else text)
