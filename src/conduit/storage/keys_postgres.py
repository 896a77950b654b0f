"""Virtual keys in PostgreSQL (asyncpg): one key table shared by every gateway replica.

The same table as the SQLite store (`conduit_keys`; schema version 2 added
`expires_at` and `max_parallel_requests`); the secret's SHA-256 is unique and indexed.

Example:
    >>> PostgresKeyStore("postgresql://127.0.0.1:5432/conduit")
    PostgresKeyStore('postgresql://127.0.0.1:5432/conduit')
"""

from __future__ import annotations

import time
from typing import Any

from conduit.storage._postgres_db import PostgresDatabase
from conduit.storage.keys import (
    KEY_COLUMNS,
    VirtualKey,
    check_key_fields,
    hash_secret,
    key_from_row,
)
from conduit.storage.migrations import Migration

__all__ = ["POSTGRES_KEY_MIGRATIONS", "PostgresKeyStore"]

_TABLE = "conduit_keys"

POSTGRES_KEY_MIGRATIONS = (
    Migration(
        1,
        (
            f"CREATE TABLE {_TABLE} ("
            "id TEXT PRIMARY KEY, prefix TEXT NOT NULL, name TEXT, models TEXT, "
            "max_budget DOUBLE PRECISION CHECK (max_budget IS NULL OR max_budget >= 0), "
            "budget_window TEXT, rpm BIGINT CHECK (rpm IS NULL OR rpm > 0), "
            "tpm BIGINT CHECK (tpm IS NULL OR tpm > 0), user_id TEXT, tags TEXT, "
            "created_at DOUBLE PRECISION NOT NULL, revoked_at DOUBLE PRECISION, "
            "secret_hash TEXT NOT NULL UNIQUE)",
        ),
    ),
    Migration(
        2,
        (
            f"ALTER TABLE {_TABLE} ADD COLUMN expires_at DOUBLE PRECISION",
            f"ALTER TABLE {_TABLE} ADD COLUMN max_parallel_requests BIGINT "
            "CHECK (max_parallel_requests IS NULL OR max_parallel_requests > 0)",
        ),
    ),
)

_INSERT = (
    f"INSERT INTO {_TABLE} ({KEY_COLUMNS}, secret_hash) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
)


class PostgresKeyStore:
    """Virtual keys in PostgreSQL at `dsn` (a `postgresql://` URL).

    Example:
        >>> PostgresKeyStore("postgresql://127.0.0.1/x", max_size=4).dsn
        'postgresql://127.0.0.1/x'
    """

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.dsn = dsn
        self._db = PostgresDatabase(
            dsn, "keys", POSTGRES_KEY_MIGRATIONS, min_size=min_size, max_size=max_size
        )

    async def add(self, key: VirtualKey, secret: str) -> None:
        """Keep a new key; only `hash_secret(secret)` is stored."""
        async with self._db.transaction() as conn:
            await conn.execute(_INSERT, *key.row(hash_secret(secret)))

    async def _one(self, where: str, value: str) -> VirtualKey | None:
        rows = await self._db.fetch(f"SELECT {KEY_COLUMNS} FROM {_TABLE} WHERE {where} = $1", value)
        return key_from_row(tuple(rows[0])) if rows else None

    async def find(self, secret: str) -> VirtualKey | None:
        """The key with this secret (revoked ones included), or None."""
        return await self._one("secret_hash", hash_secret(secret))

    async def get(self, key_id: str) -> VirtualKey | None:
        """The key with this id, or None."""
        return await self._one("id", key_id)

    async def list(self, *, include_revoked: bool = False) -> list[VirtualKey]:
        """Keys, oldest first."""
        where = "" if include_revoked else " WHERE revoked_at IS NULL"
        rows = await self._db.fetch(
            f"SELECT {KEY_COLUMNS} FROM {_TABLE}{where} ORDER BY created_at, id"
        )
        return [key_from_row(tuple(r)) for r in rows]

    async def revoke(self, key_id: str) -> bool:
        """Revoke a key by id; False when there is no such active key."""
        async with self._db.transaction() as conn:
            status = await conn.execute(
                f"UPDATE {_TABLE} SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                time.time(),
                key_id,
            )
        return str(status).endswith(" 1")

    async def update(self, key_id: str, **fields: Any) -> VirtualKey | None:
        """Change fields of an active key in one transaction (see `KeyStore.update`)."""
        checked = check_key_fields(fields)
        probe = VirtualKey(id=key_id, prefix="", **checked)
        pairs = [probe.stored(name) for name in checked]
        sets = ", ".join(f"{column} = ${i}" for i, (column, _) in enumerate(pairs, start=2))
        async with self._db.transaction() as conn:
            if pairs:
                await conn.execute(
                    f"UPDATE {_TABLE} SET {sets} WHERE id = $1 AND revoked_at IS NULL",
                    key_id,
                    *(value for _, value in pairs),
                )
            row = await conn.fetchrow(
                f"SELECT {KEY_COLUMNS} FROM {_TABLE} WHERE id = $1 AND revoked_at IS NULL",
                key_id,
            )
        return None if row is None else key_from_row(tuple(row))

    async def aclose(self) -> None:
        """Close the pool."""
        await self._db.aclose()

    def __repr__(self) -> str:
        return f"PostgresKeyStore({self.dsn!r})"
