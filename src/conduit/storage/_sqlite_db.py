"""One SQLite file behind a worker thread: WAL, one transaction per write, migrations.

The shared base of the SQLite history and usage stores. Every call runs in one worker
thread that owns the connection (so no coroutine blocks on disk). Writes run inside
`BEGIN IMMEDIATE … COMMIT`: the write lock is taken first, so concurrent writers in other
processes wait (up to `timeout` seconds) instead of failing half-way, and a process
killed mid-write leaves the last committed state (SQLite's WAL is crash-safe; with
`synchronous=NORMAL` a power loss may drop the newest commits, `durable=True` keeps them).

Example:
    >>> import asyncio
    >>> async def main():
    ...     db = SQLiteDatabase(":memory:", "demo", (Migration(1, ("CREATE TABLE t (x)",)),))
    ...     await db.write(lambda conn: conn.execute("INSERT INTO t VALUES (1)"))
    ...     rows = await db.read(lambda conn: conn.execute("SELECT x FROM t").fetchall())
    ...     await db.aclose()
    ...     return rows
    >>> asyncio.run(main())
    [(1,)]
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from conduit.errors import ConduitError
from conduit.storage.migrations import SCHEMA_TABLE, Migration, StorageError, pending

__all__ = ["SQLiteDatabase"]

_T = TypeVar("_T")


class SQLiteDatabase:
    """A SQLite file (or `":memory:"`) whose schema for `component` is kept at the
    newest of `migrations`."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        component: str,
        migrations: tuple[Migration, ...],
        *,
        timeout: float = 30.0,
        durable: bool = False,
    ) -> None:
        self.path = str(path)
        self.component = component
        self._migrations = migrations
        self._timeout = timeout
        self._durable = durable
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="conduit-sqlite")

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        if self._closed:
            raise ConduitError(f"this {self.component} store is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args))

    def connection(self) -> sqlite3.Connection:
        """The open connection (opened and migrated on first use; worker thread only)."""
        conn = self._conn
        if conn is None:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN ourselves, so every write is exactly
            # one transaction and the lock is taken up front (BEGIN IMMEDIATE).
            conn = sqlite3.connect(
                self.path, timeout=self._timeout, check_same_thread=False, isolation_level=None
            )
            try:
                self._wal(conn)
                conn.execute(f"PRAGMA synchronous={'FULL' if self._durable else 'NORMAL'}")
                conn.execute("PRAGMA foreign_keys=ON")
                self._migrate(conn)
            except sqlite3.DatabaseError as exc:
                conn.close()
                raise StorageError(f"cannot open {self.path}: {exc}") from exc
            self._conn = conn
        return conn

    def _wal(self, conn: sqlite3.Connection) -> None:
        """Switch to WAL. On a new file this needs the write lock, and SQLite answers
        "database is locked" at once (its busy timeout does not apply) when another
        connection is opening the same file: retry for up to the store's timeout."""
        deadline = time.monotonic() + self._timeout
        delay = 0.005
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(delay)  # a worker thread: the event loop is not blocked
            delay = min(delay * 2, 0.1)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} "
            "(component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        if not self._pending(conn):
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            for migration in self._pending(conn):  # again, under the lock
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute(
                    f"INSERT INTO {SCHEMA_TABLE} (component, version) VALUES (?, ?) "
                    "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                    (self.component, migration.version),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _pending(self, conn: sqlite3.Connection) -> list[Migration]:
        row = conn.execute(
            f"SELECT version FROM {SCHEMA_TABLE} WHERE component = ?", (self.component,)
        ).fetchone()
        return pending(self.component, self._migrations, int(row[0]) if row else 0)

    def _write(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return result

    def _read(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        return fn(self.connection())

    async def write(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run `fn(connection)` in the worker thread as one transaction."""
        try:
            return await self._run(self._write, fn)
        except sqlite3.IntegrityError as exc:
            raise StorageError(f"{self.path}: a row was refused: {exc}") from exc

    async def read(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run `fn(connection)` in the worker thread (no transaction of its own)."""
        return await self._run(self._read, fn)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def aclose(self) -> None:
        """Close the connection and stop the worker thread; later calls fail."""
        if self._closed:
            return
        await self._run(self._close)
        self._closed = True
        self._executor.shutdown(wait=False)
