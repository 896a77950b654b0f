"""Spending limits in PostgreSQL (asyncpg): one budget shared by many machines.

The same two tables as the SQLite store (`conduit_spend`, `conduit_spend_holds`;
schema version 1). A `reserve` is one transaction that first takes a transaction-level
advisory lock per limit key (`pg_advisory_xact_lock`), always in ascending lock-id order
so two reservations over overlapping limits cannot deadlock; reservations for one limit
therefore run one after another on every machine, and the lock goes with the
transaction (a client that dies releases it). The sums are read in one statement, so
they see one snapshot. Time is the database server's clock (`clock_timestamp()`), the
one clock every machine shares, unless a `clock` is given.

Example:
    >>> PostgresSpendStore("postgresql://app:secret@127.0.0.1:5432/conduit")
    PostgresSpendStore('postgresql://app:***@127.0.0.1:5432/conduit')
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from conduit.core.checks import check_money, check_seconds
from conduit.storage._postgres_db import PostgresDatabase
from conduit.storage.migrations import Migration
from conduit.storage.spend import (
    DEFAULT_HOLD_SECONDS,
    LimitKey,
    Reservation,
    SpendLimit,
    check_limits,
    new_reservation_id,
    refusal,
    safe_url,
    slot_of,
    unique_keys,
)

__all__ = ["POSTGRES_SPEND_MIGRATIONS", "PostgresSpendStore", "advisory_lock_id"]

_SPEND = "conduit_spend"
_HOLDS = "conduit_spend_holds"

POSTGRES_SPEND_MIGRATIONS = (
    Migration(
        1,
        (
            f"CREATE TABLE {_SPEND} ("
            "scope TEXT NOT NULL, name TEXT NOT NULL, window_s DOUBLE PRECISION NOT NULL, "
            "slot BIGINT NOT NULL, usd DOUBLE PRECISION NOT NULL CHECK (usd >= 0), "
            "PRIMARY KEY (scope, name, window_s, slot))",
            f"CREATE TABLE {_HOLDS} ("
            "scope TEXT NOT NULL, name TEXT NOT NULL, window_s DOUBLE PRECISION NOT NULL, "
            "id TEXT NOT NULL, usd DOUBLE PRECISION NOT NULL CHECK (usd >= 0), "
            "created DOUBLE PRECISION NOT NULL, expires DOUBLE PRECISION NOT NULL, "
            "expires_slot BIGINT NOT NULL, PRIMARY KEY (scope, name, window_s, id))",
            f"CREATE INDEX {_HOLDS}_id ON {_HOLDS} (id)",
        ),
    ),
)

_KEYS = "unnest($1::text[], $2::text[], $3::float8[]"
_MATCH = "{t}.scope = k.scope AND {t}.name = k.name AND {t}.window_s = k.window_s"

_LOCK = "SELECT pg_advisory_xact_lock(x) FROM unnest($1::bigint[]) AS x"
_NOW = "SELECT extract(epoch FROM clock_timestamp())::float8"
# Expired holds of these keys become spend in the slot of their expiry.
_TIDY_HOLDS = (
    f"WITH gone AS (DELETE FROM {_HOLDS} h USING {_KEYS}) AS k(scope, name, window_s) "
    f"WHERE {_MATCH.format(t='h')} AND h.expires <= $4 "
    "RETURNING h.scope, h.name, h.window_s, h.expires_slot, h.usd) "
    f"INSERT INTO {_SPEND} (scope, name, window_s, slot, usd) "
    "SELECT scope, name, window_s, expires_slot, SUM(usd) FROM gone "
    "GROUP BY scope, name, window_s, expires_slot HAVING SUM(usd) > 0 "
    f"ON CONFLICT (scope, name, window_s, slot) DO UPDATE SET usd = {_SPEND}.usd + excluded.usd"
)
_TIDY_SLOTS = (
    f"DELETE FROM {_SPEND} s USING {_KEYS}, $4::bigint[]) AS k(scope, name, window_s, start) "
    f"WHERE {_MATCH.format(t='s')} AND k.window_s > 0 AND s.slot < k.start"
)
_TOTALS = (
    f"SELECT (SELECT COALESCE(SUM(s.usd), 0.0) FROM {_SPEND} s "
    f"WHERE {_MATCH.format(t='s')} AND s.slot >= k.start) + "
    f"(SELECT COALESCE(SUM(h.usd), 0.0) FROM {_HOLDS} h "
    f"WHERE {_MATCH.format(t='h')} AND h.expires_slot >= k.start) "
    f"FROM {_KEYS}, $4::bigint[]) WITH ORDINALITY AS k(scope, name, window_s, start, i) "
    "ORDER BY k.i"
)
_HOLD = (
    f"INSERT INTO {_HOLDS} (scope, name, window_s, id, usd, created, expires, expires_slot) "
    "SELECT k.scope, k.name, k.window_s, $5, $6, $7, $8, k.slot "
    f"FROM {_KEYS}, $4::bigint[]) AS k(scope, name, window_s, slot)"
)
_UNHOLD = (
    f"DELETE FROM {_HOLDS} WHERE id = $1 "
    "RETURNING scope, name, window_s, usd, expires, expires_slot"
)
_ADD = (
    f"INSERT INTO {_SPEND} (scope, name, window_s, slot, usd) "
    f"SELECT * FROM {_KEYS}, $4::bigint[], $5::float8[]) "
    f"ON CONFLICT (scope, name, window_s, slot) DO UPDATE SET usd = {_SPEND}.usd + excluded.usd"
)


def advisory_lock_id(namespace: str, key: object) -> int:
    """A stable signed 64-bit id for `pg_advisory_xact_lock` (a hash: two keys sharing
    an id only wait for each other, never lose a write).

    Example:
        >>> key = ("key", "k1", 0.0)
        >>> advisory_lock_id("spend", key) == advisory_lock_id("spend", key)
        True
    """
    digest = hashlib.blake2b(f"conduit:{namespace}:{key!r}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _columns(keys: Sequence[LimitKey]) -> tuple[list[str], list[str], list[float]]:
    return [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]


class PostgresSpendStore:
    """Spend and holds in PostgreSQL at `dsn` (a `postgresql://` URL).

    `clock`: None uses the database server's clock; inject one to test windows and hold
    expiry.

    Example:
        >>> PostgresSpendStore("postgresql://127.0.0.1/x", hold_seconds=600).hold_seconds
        600.0
    """

    def __init__(
        self,
        dsn: str,
        *,
        hold_seconds: float = DEFAULT_HOLD_SECONDS,
        clock: Callable[[], float] | None = None,
        min_size: int = 1,
        max_size: int = 10,
    ) -> None:
        self.dsn = dsn
        self.hold_seconds = check_seconds(hold_seconds, "hold_seconds")
        self._clock = clock
        self._db = PostgresDatabase(
            dsn, "spend", POSTGRES_SPEND_MIGRATIONS, min_size=min_size, max_size=max_size
        )

    async def _now(self, conn: Any) -> float:
        if self._clock is not None:
            return self._clock()
        return float(await conn.fetchval(_NOW))

    async def reserve(self, limits: Sequence[SpendLimit], amount: float) -> Reservation:
        """Hold `amount` under every limit or raise `BudgetExceededError` (see
        `conduit.storage.spend.SpendStore`)."""
        amount = check_money(amount, "amount")
        limits = check_limits(limits)
        rid = new_reservation_id()
        keys = unique_keys(limits)
        if not keys:
            now = self._clock() if self._clock is not None else 0.0
            return Reservation(rid, amount, limits, now, now + self.hold_seconds)
        locks = sorted({advisory_lock_id("spend", key) for key in keys})
        async with self._db.transaction() as conn:
            await conn.execute(_LOCK, locks)
            now = await self._now(conn)
            by_key = {limit.key: limit for limit in limits}
            starts = [by_key[key].start(now) for key in keys]
            await conn.execute(_TIDY_HOLDS, *_columns(keys), now)
            await conn.execute(_TIDY_SLOTS, *_columns(keys), starts)
            rows = await conn.fetch(
                _TOTALS, *_columns([lim.key for lim in limits]), [lim.start(now) for lim in limits]
            )
            error = refusal(limits, [float(row[0]) for row in rows], amount)
            if error is None:
                expires = now + self.hold_seconds
                slots = [slot_of(key[2], expires) for key in keys]
                await conn.execute(_HOLD, *_columns(keys), slots, rid, amount, now, expires)
                return Reservation(rid, amount, limits, now, expires)
        raise error  # after the commit: the tidying is kept

    async def settle(self, reservation: Reservation, actual_usd: float) -> None:
        """Replace the hold by `actual_usd` (idempotent)."""
        actual = check_money(actual_usd, "actual_usd")
        if not reservation.limits:
            return
        async with self._db.transaction() as conn:
            rows = await conn.fetch(_UNHOLD, reservation.id)
            if not rows:
                return
            now = await self._now(conn)
            adds: list[tuple[LimitKey, int, float]] = []
            for scope, name, window, usd, expires, expires_slot in rows:
                key = (scope, name, float(window))
                if expires <= now:  # too late: the reserved amount stands
                    adds.append((key, int(expires_slot), float(usd)))
                elif actual > 0.0:
                    adds.append((key, slot_of(key[2], now), actual))
            if adds:
                await conn.execute(
                    _ADD,
                    *_columns([a[0] for a in adds]),
                    [a[1] for a in adds],
                    [a[2] for a in adds],
                )

    async def release(self, reservation: Reservation) -> None:
        """Drop the hold (= `settle(reservation, 0)`)."""
        await self.settle(reservation, 0.0)

    async def spent(self, limit: SpendLimit) -> float:
        """Settled spend in the window plus holds, in USD."""
        async with self._db.transaction() as conn:
            now = await self._now(conn)
            value = await conn.fetchval(_TOTALS, *_columns([limit.key]), [limit.start(now)])
        return float(value)

    async def aclose(self) -> None:
        """Close the pool."""
        await self._db.aclose()

    def __repr__(self) -> str:
        return f"PostgresSpendStore({safe_url(self.dsn)!r})"
