"""Virtual keys in SQLite: the gateway's default key store (one file, many processes).

One row per key in `conduit_keys`; the secret's SHA-256 is unique and indexed, so a
lookup is one indexed read. Schema version 1 created the table; version 2 added
`expires_at` and `max_parallel_requests` (empty on older rows: no expiry, the gateway's
default).

Example:
    >>> import asyncio
    >>> from conduit.storage.keys import new_key
    >>> async def main():
    ...     store = SQLiteKeyStore(":memory:")
    ...     key, secret = new_key(name="demo")
    ...     await store.add(key, secret)
    ...     found = await store.find(secret)
    ...     await store.aclose()
    ...     return found.name
    >>> asyncio.run(main())
    'demo'
"""

from __future__ import annotations

import os
import sqlite3
import time
from typing import Any

from conduit.storage._sqlite_db import SQLiteDatabase
from conduit.storage.keys import (
    KEY_COLUMNS,
    VirtualKey,
    check_key_fields,
    hash_secret,
    key_from_row,
)
from conduit.storage.migrations import Migration

__all__ = ["SQLITE_KEY_MIGRATIONS", "SQLiteKeyStore"]

_TABLE = "conduit_keys"

SQLITE_KEY_MIGRATIONS = (
    Migration(
        1,
        (
            f"CREATE TABLE {_TABLE} ("
            "id TEXT PRIMARY KEY, prefix TEXT NOT NULL, name TEXT, models TEXT, "
            "max_budget REAL CHECK (max_budget IS NULL OR max_budget >= 0), "
            "budget_window TEXT, rpm INTEGER CHECK (rpm IS NULL OR rpm > 0), "
            "tpm INTEGER CHECK (tpm IS NULL OR tpm > 0), user_id TEXT, tags TEXT, "
            "created_at REAL NOT NULL, revoked_at REAL, secret_hash TEXT NOT NULL UNIQUE) STRICT",
        ),
    ),
    Migration(
        2,
        (
            f"ALTER TABLE {_TABLE} ADD COLUMN expires_at REAL",
            f"ALTER TABLE {_TABLE} ADD COLUMN max_parallel_requests INTEGER "
            "CHECK (max_parallel_requests IS NULL OR max_parallel_requests > 0)",
        ),
    ),
)

_INSERT = (
    f"INSERT INTO {_TABLE} ({KEY_COLUMNS}, secret_hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class SQLiteKeyStore:
    """Virtual keys in one SQLite file (the gateway's `database:` when it is a path).

    Example:
        >>> SQLiteKeyStore(":memory:")
        SQLiteKeyStore(':memory:')
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self.path = str(path)
        self._db = SQLiteDatabase(path, "keys", SQLITE_KEY_MIGRATIONS, timeout=timeout)

    async def add(self, key: VirtualKey, secret: str) -> None:
        """Keep a new key; only `hash_secret(secret)` is stored."""
        row = key.row(hash_secret(secret))
        await self._db.write(lambda conn: conn.execute(_INSERT, row))

    async def _one(self, where: str, value: str) -> VirtualKey | None:
        sql = f"SELECT {KEY_COLUMNS} FROM {_TABLE} WHERE {where} = ?"

        def read(conn: sqlite3.Connection) -> VirtualKey | None:
            row = conn.execute(sql, (value,)).fetchone()
            return None if row is None else key_from_row(row)

        return await self._db.read(read)

    async def find(self, secret: str) -> VirtualKey | None:
        """The key with this secret (revoked ones included), or None."""
        return await self._one("secret_hash", hash_secret(secret))

    async def get(self, key_id: str) -> VirtualKey | None:
        """The key with this id, or None."""
        return await self._one("id", key_id)

    async def list(self, *, include_revoked: bool = False) -> list[VirtualKey]:
        """Keys, oldest first."""
        where = "" if include_revoked else " WHERE revoked_at IS NULL"
        sql = f"SELECT {KEY_COLUMNS} FROM {_TABLE}{where} ORDER BY created_at, id"
        return await self._db.read(
            lambda conn: [key_from_row(r) for r in conn.execute(sql).fetchall()]
        )

    async def revoke(self, key_id: str) -> bool:
        """Revoke a key by id; False when there is no such active key."""
        sql = f"UPDATE {_TABLE} SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"
        now = time.time()
        changed = await self._db.write(lambda conn: conn.execute(sql, (now, key_id)).rowcount)
        return bool(changed)

    async def update(self, key_id: str, **fields: Any) -> VirtualKey | None:
        """Change fields of an active key in one transaction (see `KeyStore.update`)."""
        checked = check_key_fields(fields)
        probe = VirtualKey(id=key_id, prefix="", **checked)
        pairs = [probe.stored(name) for name in checked]
        sets = ", ".join(f"{column} = ?" for column, _ in pairs)
        values = [value for _, value in pairs]
        read = f"SELECT {KEY_COLUMNS} FROM {_TABLE} WHERE id = ? AND revoked_at IS NULL"

        def write(conn: sqlite3.Connection) -> VirtualKey | None:
            if pairs:
                conn.execute(f"UPDATE {_TABLE} SET {sets} WHERE id = ?", (*values, key_id))
            row = conn.execute(read, (key_id,)).fetchone()
            return None if row is None else key_from_row(row)

        return await self._db.write(write)

    async def aclose(self) -> None:
        """Close the connection and its worker thread."""
        await self._db.aclose()

    def __repr__(self) -> str:
        return f"SQLiteKeyStore({self.path!r})"
