"""SQLite storage: the embedded, persistent default (standard library `sqlite3`).

Every SQLite call runs in one worker thread that owns the connection, so no coroutine
ever blocks on disk and calls from any event loop or thread are serialized on one
connection. The database uses write-ahead logging (several processes may share the file;
readers never wait for the writer) and each write is one transaction.

Example:
    >>> import asyncio
    >>> async def main():
    ...     cache = SQLiteCache(":memory:")
    ...     await cache.set("greeting", b"hello", ttl=60)
    ...     found = await cache.get("greeting")
    ...     await cache.aclose()
    ...     return found
    >>> asyncio.run(main())
    b'hello'
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from conduit.errors import ConduitError, ValidationError
from conduit.storage.cache import check_ttl

__all__ = ["SQLiteCache"]

_T = TypeVar("_T")

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
# Expired rows are removed when read and, every this many writes, all at once.
_PRUNE_EVERY = 256


class SQLiteCache:
    """A persistent cache in one SQLite file (or `":memory:"`), shared by every process
    that opens the same file.

    Entries expire by wall-clock time (`clock`, seconds since the epoch), so a TTL holds
    across restarts. The file and its folder are created on first use, not here.

    Example:
        >>> import asyncio, tempfile, os
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = os.path.join(folder.name, "cache.sqlite3")
        >>> async def roundtrip():
        ...     first = SQLiteCache(path)
        ...     await first.set("k", b"v")
        ...     await first.aclose()
        ...     second = SQLiteCache(path)       # a new process would see the same
        ...     try:
        ...         return await second.get("k")
        ...     finally:
        ...         await second.aclose()
        >>> asyncio.run(roundtrip())
        b'v'
        >>> folder.cleanup()
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        table: str = "conduit_cache",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not _IDENTIFIER.fullmatch(table):
            raise ValidationError(f"table must be a plain SQL identifier, not {table!r}")
        self.path = str(path)
        self.table = table
        self._clock = clock
        self._conn: sqlite3.Connection | None = None
        self._writes = 0
        self._closed = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="conduit-sqlite")

    # -- the worker thread -------------------------------------------------------------

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        if self._closed:
            raise ConduitError("this SQLiteCache is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args))

    def _connection(self) -> sqlite3.Connection:
        conn = self._conn
        if conn is None:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=5.0, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            with conn:
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {self.table} ("
                    "key TEXT PRIMARY KEY, value BLOB NOT NULL, expires_at REAL)"
                )
                conn.execute(
                    f"CREATE INDEX IF NOT EXISTS {self.table}_expires "
                    f"ON {self.table}(expires_at) WHERE expires_at IS NOT NULL"
                )
            self._conn = conn
        return conn

    def _get(self, key: str) -> bytes | None:
        conn = self._connection()
        row = conn.execute(
            f"SELECT value, expires_at FROM {self.table} WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        value, expires_at = row
        if expires_at is not None and self._clock() >= expires_at:
            with conn:
                conn.execute(
                    f"DELETE FROM {self.table} WHERE key = ? AND expires_at <= ?",
                    (key, expires_at),
                )
            return None
        return bytes(value)

    def _set(self, key: str, value: bytes, ttl: float | None) -> None:
        conn = self._connection()
        now = self._clock()
        expires_at = None if ttl is None else now + ttl
        with conn:
            conn.execute(
                f"INSERT OR REPLACE INTO {self.table} (key, value, expires_at) VALUES (?, ?, ?)",
                (key, value, expires_at),
            )
            self._writes += 1
            if self._writes % _PRUNE_EVERY == 0:
                self._prune_now(conn, now)

    def _prune_now(self, conn: sqlite3.Connection, now: float) -> int:
        cursor = conn.execute(f"DELETE FROM {self.table} WHERE expires_at <= ?", (now,))
        return cursor.rowcount

    def _prune(self) -> int:
        conn = self._connection()
        with conn:
            return self._prune_now(conn, self._clock())

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        conn = self._connection()
        with conn:
            conn.execute(sql, params)

    def _count(self) -> int:
        row = self._connection().execute(f"SELECT count(*) FROM {self.table}").fetchone()
        return int(row[0])

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- the protocol ------------------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        """The value under `key`, or None when it is missing or expired."""
        return await self._run(self._get, key)

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store `value` under `key` (one transaction)."""
        check_ttl(ttl)
        await self._run(self._set, key, value, ttl)

    async def delete(self, key: str) -> None:
        """Forget `key`."""
        await self._run(self._execute, f"DELETE FROM {self.table} WHERE key = ?", (key,))

    async def clear(self) -> None:
        """Forget every entry in this table."""
        await self._run(self._execute, f"DELETE FROM {self.table}")

    async def prune(self) -> int:
        """Delete every expired entry now; returns how many went."""
        return await self._run(self._prune)

    async def count(self) -> int:
        """How many entries the table holds (expired ones not yet pruned included)."""
        return await self._run(self._count)

    async def aclose(self) -> None:
        """Close the connection and stop the worker thread; later calls fail."""
        if self._closed:
            return
        await self._run(self._close)
        self._closed = True
        self._executor.shutdown(wait=False)

    def __repr__(self) -> str:
        return f"SQLiteCache({self.path!r}, table={self.table!r})"
