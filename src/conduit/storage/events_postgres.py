"""The usage ledger in PostgreSQL (asyncpg): the same behaviour as the SQLite store,
shared by many machines.

Each `record` is one transaction; ids are unique, so an event is kept exactly once;
totals are computed by `GROUP BY` in the server. Schema versions match the SQLite
store's: 1 created the table, 2 added the caller `tag`, 3 added the gateway's
`key_id`, `end_user`, `tags` and `status`.

Example:
    >>> PostgresEventStore("postgresql://127.0.0.1:5432/conduit")
    PostgresEventStore('postgresql://127.0.0.1:5432/conduit')
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from conduit.storage._postgres_db import PostgresDatabase
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

__all__ = ["POSTGRES_EVENT_MIGRATIONS", "PostgresEventStore"]

_TABLE = "conduit_events"

POSTGRES_EVENT_MIGRATIONS = (
    Migration(
        1,
        (
            f"CREATE TABLE {_TABLE} ("
            "seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, ts DOUBLE PRECISION NOT NULL, "
            "day TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, "
            "input_tokens BIGINT NOT NULL CHECK (input_tokens >= 0), "
            "output_tokens BIGINT NOT NULL CHECK (output_tokens >= 0), "
            "cached_tokens BIGINT NOT NULL CHECK (cached_tokens >= 0), "
            "cost DOUBLE PRECISION CHECK (cost IS NULL OR cost >= 0), "
            "duration DOUBLE PRECISION, conversation_id TEXT)",
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
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) "
    "ON CONFLICT (id) DO NOTHING"
)


def _placeholder(n: int) -> str:
    return f"${n}"


class PostgresEventStore:
    """Token events in PostgreSQL at `dsn` (a `postgresql://` URL).

    Example:
        >>> PostgresEventStore("postgresql://127.0.0.1/x", max_size=4).dsn
        'postgresql://127.0.0.1/x'
    """

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.dsn = dsn
        self._db = PostgresDatabase(
            dsn, "events", POSTGRES_EVENT_MIGRATIONS, min_size=min_size, max_size=max_size
        )

    async def record(self, event: TokenEvent) -> None:
        """Keep one event (one transaction; an id already kept is not counted twice)."""
        async with self._db.transaction() as conn:
            await conn.execute(_INSERT, *event.row())

    async def record_many(self, events: Iterable[TokenEvent]) -> None:
        """Keep several events in one transaction."""
        rows = [e.row() for e in events]
        async with self._db.transaction() as conn:
            await conn.executemany(_INSERT, rows)

    async def events(
        self, filters: EventFilter | None = None, *, limit: int | None = None
    ) -> list[TokenEvent]:
        """The events that match, oldest first."""
        where, params = where_clause(filters or EventFilter(), _placeholder, "strpos")
        sql = f"SELECT {EVENT_COLUMNS} FROM {_TABLE}{where} ORDER BY ts, seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [event_from_row(tuple(r), _TABLE) for r in await self._db.fetch(sql, *params)]

    async def count(self, filters: EventFilter | None = None) -> int:
        """How many events match."""
        where, params = where_clause(filters or EventFilter(), _placeholder, "strpos")
        rows = await self._db.fetch(f"SELECT count(*) FROM {_TABLE}{where}", *params)
        return int(rows[0][0])

    async def totals(
        self, by: Sequence[str] = (), filters: EventFilter | None = None
    ) -> list[UsageRow]:
        """Events added up by the group keys `by`, computed by the server."""
        where, params = where_clause(filters or EventFilter(), _placeholder, "strpos")
        sql, width = totals_sql(_TABLE, by, where)
        records = [tuple(r) for r in await self._db.fetch(sql, *params)]
        return [] if records and records[0][width] == 0 else rows_from_sql(records, width)

    async def aclose(self) -> None:
        """Close the pool."""
        await self._db.aclose()

    def __repr__(self) -> str:
        return f"PostgresEventStore({self.dsn!r})"
