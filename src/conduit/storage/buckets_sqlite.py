"""Token buckets in SQLite: one rate limit shared by every process on one machine.

One row per bucket in `conduit_buckets` (its level and when it was measured). Each
`take` is one `BEGIN IMMEDIATE` transaction: the write lock is taken before the levels
are read, so takes from any number of processes run one after another and the bucket
arithmetic (`conduit.storage.buckets.apply_takes`, the same as in memory) is all or
nothing. SQL runs in the store's worker thread, never on the event loop. Time is the
wall clock (`time.time`), which every process on the machine shares and which survives
a reboot (a monotonic clock restarts at boot, and levels are kept on disk). Schema
version 1 created the table.

Example:
    >>> import asyncio
    >>> from conduit.storage.buckets import Bucket
    >>> async def main():
    ...     store = SQLiteBuckets(":memory:", clock=lambda: 0.0)
    ...     bucket = Bucket("requests", rate=1.0, capacity=2)
    ...     waits = [await store.take([(bucket, 1)]) for _ in range(3)]
    ...     await store.aclose()
    ...     return waits
    >>> asyncio.run(main())
    [0.0, 0.0, 1.0]
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Sequence

from conduit.core.checks import check_seconds
from conduit.storage._sqlite_db import SQLiteDatabase
from conduit.storage.buckets import Bucket, apply_takes, check_amount, check_takes, refill
from conduit.storage.migrations import Migration

__all__ = ["SQLITE_BUCKET_MIGRATIONS", "SQLiteBuckets"]

_TABLE = "conduit_buckets"

SQLITE_BUCKET_MIGRATIONS = (
    Migration(
        1,
        (
            f"CREATE TABLE {_TABLE} (key TEXT PRIMARY KEY, level REAL NOT NULL, "
            "ts REAL NOT NULL) STRICT, WITHOUT ROWID",
        ),
    ),
)

_SAVE = (
    f"INSERT INTO {_TABLE} (key, level, ts) VALUES (?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET level = excluded.level, ts = excluded.ts"
)


def _level(conn: sqlite3.Connection, bucket: Bucket, now: float) -> float:
    row = conn.execute(f"SELECT level, ts FROM {_TABLE} WHERE key = ?", (bucket.key,)).fetchone()
    if row is None:
        return float(bucket.capacity)
    return refill(float(row[0]), now - float(row[1]), bucket)


class SQLiteBuckets:
    """Token buckets in one SQLite file (or `":memory:"`, for this store alone).

    Example:
        >>> SQLiteBuckets("limits.sqlite3")
        SQLiteBuckets('limits.sqlite3')
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Callable[[], float] = time.time,
        timeout: float = 30.0,
    ) -> None:
        self.path = str(path)
        self._clock = clock
        self._db = SQLiteDatabase(
            path, "buckets", SQLITE_BUCKET_MIGRATIONS, timeout=check_seconds(timeout, "timeout")
        )

    async def take(self, takes: Sequence[tuple[Bucket, float]]) -> float:
        """Take every amount or none; 0.0, or the seconds to wait (see
        `conduit.storage.buckets.BucketStore`)."""
        check_takes(takes)
        if not takes:
            return 0.0

        def take(conn: sqlite3.Connection) -> float:
            now = self._clock()
            levels = [_level(conn, bucket, now) for bucket, _ in takes]
            wait, levels = apply_takes(takes, levels)
            if wait == 0.0:
                conn.executemany(
                    _SAVE,
                    [(b.key, lv, now) for (b, _), lv in zip(takes, levels, strict=True)],
                )
            return wait

        return await self._db.write(take)

    async def give(self, bucket: Bucket, amount: float) -> None:
        """Put `amount` back (negative takes more), capped at the capacity."""
        amount = check_amount(amount, "amount", signed=True)

        def give(conn: sqlite3.Connection) -> None:
            now = self._clock()
            level = min(float(bucket.capacity), _level(conn, bucket, now) + amount)
            conn.execute(_SAVE, (bucket.key, level, now))

        await self._db.write(give)

    async def level(self, bucket: Bucket) -> float:
        """The bucket's level now (negative while in debt)."""
        return await self._db.read(lambda conn: _level(conn, bucket, self._clock()))

    async def aclose(self) -> None:
        """Close the connection and its worker thread."""
        await self._db.aclose()

    def __repr__(self) -> str:
        return f"SQLiteBuckets({self.path!r})"
