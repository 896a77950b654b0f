"""Token buckets in PostgreSQL (asyncpg): one rate limit shared by many machines.

One row per bucket in `conduit_buckets` (schema version 1, as in SQLite). Each `take`
is one transaction that first takes a transaction-level advisory lock per bucket
(`pg_advisory_xact_lock`, in ascending lock-id order, so takes over overlapping buckets
cannot deadlock), then reads the levels, runs the bucket arithmetic
(`conduit.storage.buckets.apply_takes`, the same as in memory) and writes them back: all
or nothing. Time is the database server's clock, shared by every machine, unless a
`clock` is given.

Example:
    >>> PostgresBuckets("postgresql://app:secret@127.0.0.1:5432/conduit")
    PostgresBuckets('postgresql://app:***@127.0.0.1:5432/conduit')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from conduit.storage._postgres_db import PostgresDatabase
from conduit.storage.buckets import Bucket, apply_takes, check_amount, check_takes, refill
from conduit.storage.migrations import Migration
from conduit.storage.spend import safe_url
from conduit.storage.spend_postgres import advisory_lock_id

__all__ = ["POSTGRES_BUCKET_MIGRATIONS", "PostgresBuckets"]

_TABLE = "conduit_buckets"

POSTGRES_BUCKET_MIGRATIONS = (
    Migration(
        1,
        (
            f"CREATE TABLE {_TABLE} (key TEXT PRIMARY KEY, level DOUBLE PRECISION NOT NULL, "
            "ts DOUBLE PRECISION NOT NULL)",
        ),
    ),
)

_LOCK = "SELECT pg_advisory_xact_lock(x) FROM unnest($1::bigint[]) AS x"
_NOW = "SELECT extract(epoch FROM clock_timestamp())::float8"
_READ = f"SELECT key, level, ts FROM {_TABLE} WHERE key = ANY($1::text[])"
_SAVE = (
    f"INSERT INTO {_TABLE} (key, level, ts) "
    "SELECT * FROM unnest($1::text[], $2::float8[], $3::float8[]) "
    "ON CONFLICT (key) DO UPDATE SET level = excluded.level, ts = excluded.ts"
)


class PostgresBuckets:
    """Token buckets in PostgreSQL at `dsn` (a `postgresql://` URL).

    Example:
        >>> PostgresBuckets("postgresql://127.0.0.1/x").dsn
        'postgresql://127.0.0.1/x'
    """

    def __init__(
        self,
        dsn: str,
        *,
        clock: Callable[[], float] | None = None,
        min_size: int = 1,
        max_size: int = 10,
    ) -> None:
        self.dsn = dsn
        self._clock = clock
        self._db = PostgresDatabase(
            dsn, "buckets", POSTGRES_BUCKET_MIGRATIONS, min_size=min_size, max_size=max_size
        )

    async def _levels(self, conn: Any, buckets: Sequence[Bucket]) -> tuple[float, list[float]]:
        """Lock the buckets; the time and their levels now."""
        locks = sorted({advisory_lock_id("bucket", b.key) for b in buckets})
        await conn.execute(_LOCK, locks)
        now = self._clock() if self._clock is not None else float(await conn.fetchval(_NOW))
        rows = {
            r[0]: (float(r[1]), float(r[2]))
            for r in await conn.fetch(_READ, [b.key for b in buckets])
        }
        levels = []
        for bucket in buckets:
            found = rows.get(bucket.key)
            levels.append(
                float(bucket.capacity)
                if found is None
                else refill(found[0], now - found[1], bucket)
            )
        return now, levels

    async def take(self, takes: Sequence[tuple[Bucket, float]]) -> float:
        """Take every amount or none; 0.0, or the seconds to wait (see
        `conduit.storage.buckets.BucketStore`)."""
        check_takes(takes)
        if not takes:
            return 0.0
        async with self._db.transaction() as conn:
            now, levels = await self._levels(conn, [b for b, _ in takes])
            wait, levels = apply_takes(takes, levels)
            if wait == 0.0:
                keys = [b.key for b, _ in takes]
                await conn.execute(_SAVE, keys, levels, [now] * len(keys))
        return wait

    async def give(self, bucket: Bucket, amount: float) -> None:
        """Put `amount` back (negative takes more), capped at the capacity."""
        amount = check_amount(amount, "amount", signed=True)
        async with self._db.transaction() as conn:
            now, (level,) = await self._levels(conn, [bucket])
            level = min(float(bucket.capacity), level + amount)
            await conn.execute(_SAVE, [bucket.key], [level], [now])

    async def level(self, bucket: Bucket) -> float:
        """The bucket's level now (negative while in debt)."""
        async with self._db.transaction() as conn:
            _, (level,) = await self._levels(conn, [bucket])
        return level

    async def aclose(self) -> None:
        """Close the pool."""
        await self._db.aclose()

    def __repr__(self) -> str:
        return f"PostgresBuckets({safe_url(self.dsn)!r})"
