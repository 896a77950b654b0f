"""A PostgreSQL database through an asyncpg pool, with the schema kept migrated.

The shared base of the PostgreSQL history and usage stores. The pool opens on first use;
migrations run once per process inside one transaction holding an advisory lock, so
several processes starting at once migrate once. `asyncpg` is imported only here, when
a PostgreSQL store is first used (`pip install "conduit[postgres]"`).

Example:
    >>> db = PostgresDatabase("postgresql://127.0.0.1/conduit", "demo", ())
    >>> db.component
    'demo'
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from conduit.errors import ConduitError, MissingDependencyError
from conduit.storage.migrations import SCHEMA_TABLE, Migration, StorageError, pending

__all__ = ["POSTGRES_INSTALL_HINT", "PostgresDatabase"]

POSTGRES_INSTALL_HINT = 'pip install "conduit[postgres]"'
# One advisory lock id for all of Conduit's migrations (crc32 of the schema table's name).
_LOCK_ID = zlib.crc32(SCHEMA_TABLE.encode())


def _asyncpg() -> Any:
    try:
        import asyncpg  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        raise MissingDependencyError(
            f"the PostgreSQL stores need asyncpg; install it with: {POSTGRES_INSTALL_HINT}"
        ) from None
    return asyncpg


class PostgresDatabase:
    """A connection pool to `dsn` whose schema for `component` is kept at the newest of
    `migrations`."""

    def __init__(
        self,
        dsn: str,
        component: str,
        migrations: tuple[Migration, ...],
        *,
        min_size: int = 1,
        max_size: int = 10,
    ) -> None:
        self.dsn = dsn
        self.component = component
        self._migrations = migrations
        self._min_size = min_size
        self._max_size = max_size
        # asyncpg ships no type information: its objects are typed `Any` here.
        self._pool: Any = None
        self._lock = asyncio.Lock()
        self._closed = False

    async def pool(self) -> Any:
        """The pool, opened (and the schema migrated) on first use."""
        if self._closed:
            raise ConduitError(f"this {self.component} store is closed")
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    asyncpg = _asyncpg()
                    pool = await asyncpg.create_pool(
                        self.dsn, min_size=self._min_size, max_size=self._max_size
                    )
                    try:
                        async with pool.acquire() as conn:
                            await self._migrate(conn)
                    except BaseException:
                        await pool.close()
                        raise
                    self._pool = pool
        return self._pool

    async def _migrate(self, conn: Any) -> None:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ID)
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} "
                "(component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
            found = await conn.fetchval(
                f"SELECT version FROM {SCHEMA_TABLE} WHERE component = $1", self.component
            )
            for migration in pending(self.component, self._migrations, found or 0):
                for statement in migration.statements:
                    await conn.execute(statement)
                await conn.execute(
                    f"INSERT INTO {SCHEMA_TABLE} (component, version) VALUES ($1, $2) "
                    "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                    self.component,
                    migration.version,
                )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        """A pooled connection inside one transaction (committed when the block ends)."""
        pool = await self.pool()
        asyncpg = _asyncpg()
        async with pool.acquire() as conn:
            try:
                async with conn.transaction():
                    yield conn
            except asyncpg.IntegrityConstraintViolationError as exc:
                raise StorageError(f"a row was refused: {exc}") from exc

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        """The rows of one query."""
        pool = await self.pool()
        rows: list[Any] = await pool.fetch(sql, *args)
        return rows

    async def aclose(self) -> None:
        """Close the pool; later calls fail."""
        self._closed = True
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
