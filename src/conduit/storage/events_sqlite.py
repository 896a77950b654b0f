"""The usage ledger in SQLite: the odometer's persistent default.

One row per `TokenEvent` in `conduit_events` (a STRICT table with CHECK constraints, so
a wrong type or a negative count is refused when written, not summed as zero later).
Each `record` is one transaction; many processes may write the same file at once (WAL,
`BEGIN IMMEDIATE` with a busy timeout) and every event is kept exactly once (its id is
unique). Totals are computed by SQL `GROUP BY`.

Schema versions: 1 created the table; 2 added the caller `tag` and its index; 3 added
the gateway's `key_id`, `end_user`, `tags` and `status`; 4 an index on the time.

Example:
    >>> import asyncio
    >>> async def main():
    ...     store = SQLiteEventStore(":memory:")
    ...     await store.record(TokenEvent(provider="openai", model="gpt-4o", input_tokens=7))
    ...     rows = await store.totals(by=["provider"])
    ...     await store.aclose()
    ...     return [(r.key, r.input_tokens) for r in rows]
    >>> asyncio.run(main())
    [(('openai',), 7)]
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence

from conduit.storage._sqlite_db import SQLiteDatabase
from conduit.storage.events import (
    EVENT_COLUMNS,
    EventFilter,
    TokenEvent,
    UsageRow,
    event_from_row,
    rows_from_sql,
    totals_sql,
    where_clause,
)
from conduit.storage.migrations import Migration

__all__ = ["SQLITE_EVENT_MIGRATIONS", "SQLiteEventStore"]

_TABLE = "conduit_events"

SQLITE_EVENT_MIGRATIONS = (
    Migration(
        1,
        (
            f"CREATE TABLE {_TABLE} ("
            "seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, ts REAL NOT NULL, "
            "day TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, "
            "input_tokens INTEGER NOT NULL CHECK (input_tokens >= 0), "
            "output_tokens INTEGER NOT NULL CHECK (output_tokens >= 0), "
            "cached_tokens INTEGER NOT NULL CHECK (cached_tokens >= 0), "
            "cost REAL CHECK (cost IS NULL OR cost >= 0), duration REAL, "
            "conversation_id TEXT) STRICT",
            f"CREATE INDEX {_TABLE}_day ON {_TABLE} (day)",
            f"CREATE INDEX {_TABLE}_conversation ON {_TABLE} (conversation_id)",
        ),
    ),
    Migration(
        2,
        (
            f"ALTER TABLE {_TABLE} ADD COLUMN tag TEXT",
            f"CREATE INDEX {_TABLE}_tag ON {_TABLE} (tag)",
        ),
    ),
    # 3: what a gateway records per request: the virtual key's id, the end user, every
    # tag, and the HTTP status of the answer. Old rows read back with these unset.
    Migration(
        3,
        (
            f"ALTER TABLE {_TABLE} ADD COLUMN key_id TEXT",
            f"ALTER TABLE {_TABLE} ADD COLUMN end_user TEXT",
            f"ALTER TABLE {_TABLE} ADD COLUMN tags TEXT",
            f"ALTER TABLE {_TABLE} ADD COLUMN status INTEGER",
            f"CREATE INDEX {_TABLE}_key ON {_TABLE} (key_id, ts)",
            f"CREATE INDEX {_TABLE}_user ON {_TABLE} (end_user, ts)",
        ),
    ),
    # 4: totals over a time range (the dashboard's spend and activity) find their rows
    # by time instead of scanning the day index.
    Migration(4, (f"CREATE INDEX {_TABLE}_ts ON {_TABLE} (ts)",)),
)

_INSERT = (
    f"INSERT INTO {_TABLE} (id, ts, day, provider, model, input_tokens, output_tokens, "
    "cached_tokens, cost, duration, conversation_id, tag, key_id, end_user, tags, status) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)


def _placeholder(n: int) -> str:
    return "?"


class SQLiteEventStore:
    """Token events in one SQLite file (default: `events.sqlite3` in the user data
    folder, see `conduit.storage.ledger.open_ledger`).

    `durable=True` syncs every commit to disk (survives power loss, slower); the default
    survives a crashed or killed process without losing a committed event.

    Example:
        >>> SQLiteEventStore(":memory:")
        SQLiteEventStore(':memory:')
    """

    def __init__(
        self, path: str | os.PathLike[str], *, timeout: float = 30.0, durable: bool = False
    ) -> None:
        self.path = str(path)
        self._db = SQLiteDatabase(
            path, "events", SQLITE_EVENT_MIGRATIONS, timeout=timeout, durable=durable
        )

    async def record(self, event: TokenEvent) -> None:
        """Keep one event (one transaction; an id already kept is not counted twice)."""
        row = event.row()
        await self._db.write(lambda conn: conn.execute(_INSERT, row))

    async def record_many(self, events: Iterable[TokenEvent]) -> None:
        """Keep several events in one transaction."""
        rows = [e.row() for e in events]
        await self._db.write(lambda conn: conn.executemany(_INSERT, rows))

    async def events(
        self, filters: EventFilter | None = None, *, limit: int | None = None
    ) -> list[TokenEvent]:
        """The events that match, oldest first."""
        where, params = where_clause(filters or EventFilter(), _placeholder)
        sql = f"SELECT {EVENT_COLUMNS} FROM {_TABLE}{where} ORDER BY ts, seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"

        def read(conn: sqlite3.Connection) -> list[TokenEvent]:
            return [event_from_row(r, _TABLE) for r in conn.execute(sql, params)]

        return await self._db.read(read)

    async def count(self, filters: EventFilter | None = None) -> int:
        """How many events match."""
        where, params = where_clause(filters or EventFilter(), _placeholder)
        sql = f"SELECT count(*) FROM {_TABLE}{where}"
        return await self._db.read(lambda conn: int(conn.execute(sql, params).fetchone()[0]))

    async def totals(
        self, by: Sequence[str] = (), filters: EventFilter | None = None
    ) -> list[UsageRow]:
        """Events added up by the group keys `by`, computed by SQLite."""
        where, params = where_clause(filters or EventFilter(), _placeholder)
        sql, width = totals_sql(_TABLE, by, where)

        def read(conn: sqlite3.Connection) -> list[UsageRow]:
            records = conn.execute(sql, params).fetchall()
            return [] if records and records[0][width] == 0 else rows_from_sql(records, width)

        return await self._db.read(read)

    async def aclose(self) -> None:
        """Close the connection and its worker thread."""
        await self._db.aclose()

    def __repr__(self) -> str:
        return f"SQLiteEventStore({self.path!r})"
