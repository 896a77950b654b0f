"""Spending limits in SQLite: one budget shared by every process on one machine.

Two tables: `conduit_spend` (settled dollars per limit key and window slot) and
`conduit_spend_holds` (one row per reservation and limit key, until it is settled).
A `reserve` is one `BEGIN IMMEDIATE` transaction: the write lock is taken before the
sums are read, so reservations from any number of processes on the file run one after
another and never both take the last dollar. All SQL runs in the store's worker thread,
never on the event loop. Schema version 1 created the tables.

Example:
    >>> import asyncio
    >>> from conduit.storage.spend import SpendLimit
    >>> async def main():
    ...     store = SQLiteSpendStore(":memory:")
    ...     cap = SpendLimit("key", "k1", max_usd=1.0)
    ...     held = await store.reserve([cap], 0.25)
    ...     await store.settle(held, 0.10)
    ...     spent = await store.spent(cap)
    ...     await store.aclose()
    ...     return spent
    >>> asyncio.run(main())
    0.1
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Sequence

from conduit.core.checks import check_money, check_seconds
from conduit.storage._sqlite_db import SQLiteDatabase
from conduit.storage.migrations import Migration
from conduit.storage.spend import (
    DEFAULT_HOLD_SECONDS,
    LimitKey,
    Reservation,
    SpendLimit,
    check_limits,
    new_reservation_id,
    refusal,
    slot_of,
    unique_keys,
)

__all__ = ["SQLITE_SPEND_MIGRATIONS", "SQLiteSpendStore"]

_SPEND = "conduit_spend"
_HOLDS = "conduit_spend_holds"

SQLITE_SPEND_MIGRATIONS = (
    Migration(
        1,
        (
            f"CREATE TABLE {_SPEND} ("
            "scope TEXT NOT NULL, name TEXT NOT NULL, window_s REAL NOT NULL, "
            "slot INTEGER NOT NULL, usd REAL NOT NULL CHECK (usd >= 0), "
            "PRIMARY KEY (scope, name, window_s, slot)) STRICT, WITHOUT ROWID",
            f"CREATE TABLE {_HOLDS} ("
            "scope TEXT NOT NULL, name TEXT NOT NULL, window_s REAL NOT NULL, "
            "id TEXT NOT NULL, usd REAL NOT NULL CHECK (usd >= 0), created REAL NOT NULL, "
            "expires REAL NOT NULL, expires_slot INTEGER NOT NULL, "
            "PRIMARY KEY (scope, name, window_s, id)) STRICT, WITHOUT ROWID",
            f"CREATE INDEX {_HOLDS}_id ON {_HOLDS} (id)",
        ),
    ),
)

_KEY = "scope = ? AND name = ? AND window_s = ?"
_TOTAL = (
    f"SELECT (SELECT COALESCE(SUM(usd), 0.0) FROM {_SPEND} WHERE {_KEY} AND slot >= ?) + "
    f"(SELECT COALESCE(SUM(usd), 0.0) FROM {_HOLDS} WHERE {_KEY} AND expires_slot >= ?)"
)
_ADD = (
    f"INSERT INTO {_SPEND} (scope, name, window_s, slot, usd) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (scope, name, window_s, slot) DO UPDATE SET usd = usd + excluded.usd"
)


def _total(conn: sqlite3.Connection, limit: SpendLimit, now: float) -> float:
    start = limit.start(now)
    row = conn.execute(_TOTAL, (*limit.key, start, *limit.key, start)).fetchone()
    return float(row[0])


def _add(conn: sqlite3.Connection, key: LimitKey, slot: int, usd: float) -> None:
    if usd > 0.0:
        conn.execute(_ADD, (*key, slot, usd))


def _tidy(conn: sqlite3.Connection, limit: SpendLimit, now: float) -> None:
    """Expired holds become spend at their expiry; slots out of the window go."""
    key = limit.key
    expired = conn.execute(
        f"SELECT expires_slot, SUM(usd) FROM {_HOLDS} WHERE {_KEY} AND expires <= ? "
        "GROUP BY expires_slot",
        (*key, now),
    ).fetchall()
    if expired:
        for slot, usd in expired:
            _add(conn, key, int(slot), float(usd))
        conn.execute(f"DELETE FROM {_HOLDS} WHERE {_KEY} AND expires <= ?", (*key, now))
    if key[2]:
        conn.execute(f"DELETE FROM {_SPEND} WHERE {_KEY} AND slot < ?", (*key, limit.start(now)))


class SQLiteSpendStore:
    """Spend and holds in one SQLite file (or `":memory:"`, for this store alone).

    `clock` is a wall clock in seconds (`time.time`), shared by the processes on the
    machine; inject one to test windows and hold expiry.

    Example:
        >>> SQLiteSpendStore("budgets.sqlite3", hold_seconds=600).hold_seconds
        600.0
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        hold_seconds: float = DEFAULT_HOLD_SECONDS,
        clock: Callable[[], float] = time.time,
        timeout: float = 30.0,
    ) -> None:
        self.path = str(path)
        self.hold_seconds = check_seconds(hold_seconds, "hold_seconds")
        self._clock = clock
        self._db = SQLiteDatabase(
            path, "spend", SQLITE_SPEND_MIGRATIONS, timeout=check_seconds(timeout, "timeout")
        )

    async def reserve(self, limits: Sequence[SpendLimit], amount: float) -> Reservation:
        """Hold `amount` under every limit or raise `BudgetExceededError` (see
        `conduit.storage.spend.SpendStore`)."""
        amount = check_money(amount, "amount")
        limits = check_limits(limits)
        rid = new_reservation_id()
        if not limits:
            now = self._clock()
            return Reservation(rid, amount, limits, now, now + self.hold_seconds)
        hold_seconds = self.hold_seconds

        def reserve(conn: sqlite3.Connection) -> Reservation | Exception:
            now = self._clock()
            for limit in limits:
                _tidy(conn, limit, now)
            error = refusal(limits, [_total(conn, limit, now) for limit in limits], amount)
            if error is not None:
                return error  # the tidying is still committed
            expires = now + hold_seconds
            conn.executemany(
                f"INSERT INTO {_HOLDS} (scope, name, window_s, id, usd, created, expires, "
                "expires_slot) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (*key, rid, amount, now, expires, slot_of(key[2], expires))
                    for key in unique_keys(limits)
                ],
            )
            return Reservation(rid, amount, limits, now, expires)

        result = await self._db.write(reserve)
        if isinstance(result, Exception):
            raise result
        return result

    async def settle(self, reservation: Reservation, actual_usd: float) -> None:
        """Replace the hold by `actual_usd` (idempotent)."""
        actual = check_money(actual_usd, "actual_usd")
        if not reservation.limits:
            return

        def settle(conn: sqlite3.Connection) -> None:
            now = self._clock()
            rows = conn.execute(
                f"SELECT scope, name, window_s, usd, expires, expires_slot FROM {_HOLDS} "
                "WHERE id = ?",
                (reservation.id,),
            ).fetchall()
            if not rows:
                return
            conn.execute(f"DELETE FROM {_HOLDS} WHERE id = ?", (reservation.id,))
            for scope, name, window, usd, expires, expires_slot in rows:
                key = (scope, name, float(window))
                if expires <= now:  # too late: the reserved amount stands
                    _add(conn, key, int(expires_slot), float(usd))
                else:
                    _add(conn, key, slot_of(key[2], now), actual)

        await self._db.write(settle)

    async def release(self, reservation: Reservation) -> None:
        """Drop the hold (= `settle(reservation, 0)`)."""
        await self.settle(reservation, 0.0)

    async def spent(self, limit: SpendLimit) -> float:
        """Settled spend in the window plus holds, in USD."""
        return await self._db.read(lambda conn: _total(conn, limit, self._clock()))

    async def aclose(self) -> None:
        """Close the connection and its worker thread."""
        await self._db.aclose()

    def __repr__(self) -> str:
        return f"SQLiteSpendStore({self.path!r})"
