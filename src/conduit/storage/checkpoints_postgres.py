"""Graph-run checkpoints in PostgreSQL (asyncpg): the same behaviour as the SQLite
store, shared by many machines (a run killed on one resumes on another).

One table, `conduit_checkpoints`, one row per (run, step); each `save` is one
transaction. `asyncpg` is imported on first use (`pip install "conduit[postgres]"`).

Example:
    >>> PostgresCheckpointStore("postgresql://127.0.0.1:5432/conduit")
    PostgresCheckpointStore('postgresql://127.0.0.1:5432/conduit')
"""

from __future__ import annotations

from typing import Any

from conduit.storage._postgres_db import PostgresDatabase
from conduit.storage.checkpoints import Checkpoint
from conduit.storage.migrations import Migration

__all__ = ["POSTGRES_CHECKPOINT_MIGRATIONS", "PostgresCheckpointStore"]

_TABLE = "conduit_checkpoints"

POSTGRES_CHECKPOINT_MIGRATIONS = (
    Migration(
        1,
        (
            f"CREATE TABLE {_TABLE} (run_id TEXT NOT NULL, step INTEGER NOT NULL "
            "CHECK (step >= 0), node TEXT, last_node TEXT, graph TEXT NOT NULL, "
            "state TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, "
            "PRIMARY KEY (run_id, step))",
        ),
    ),
)

_COLUMNS = "run_id, step, node, state, last_node, graph, created_at"
_INSERT = (
    f"INSERT INTO {_TABLE} ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "ON CONFLICT (run_id, step) DO UPDATE SET node = excluded.node, state = excluded.state, "
    "last_node = excluded.last_node, graph = excluded.graph, created_at = excluded.created_at"
)


def _checkpoint(row: Any) -> Checkpoint:
    return Checkpoint(row[0], int(row[1]), row[2], row[3], row[4], row[5], float(row[6]))


class PostgresCheckpointStore:
    """Checkpoints in PostgreSQL at `dsn` (a `postgresql://` URL).

    Example:
        >>> PostgresCheckpointStore("postgresql://127.0.0.1/x", max_size=4).dsn
        'postgresql://127.0.0.1/x'
    """

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.dsn = dsn
        self._db = PostgresDatabase(
            dsn, "checkpoints", POSTGRES_CHECKPOINT_MIGRATIONS, min_size=min_size, max_size=max_size
        )

    async def save(self, checkpoint: Checkpoint) -> None:
        """Keep one checkpoint (one transaction); a step already kept is replaced."""
        c = checkpoint
        async with self._db.transaction() as conn:
            await conn.execute(
                _INSERT, c.run_id, c.step, c.node, c.state, c.last_node, c.graph, c.created_at
            )

    async def latest(self, run_id: str) -> Checkpoint | None:
        """The run's newest checkpoint, or `None`."""
        rows = await self._db.fetch(
            f"SELECT {_COLUMNS} FROM {_TABLE} WHERE run_id = $1 ORDER BY step DESC LIMIT 1",
            run_id,
        )
        return _checkpoint(rows[0]) if rows else None

    async def history(self, run_id: str) -> list[Checkpoint]:
        """The run's checkpoints, oldest first."""
        rows = await self._db.fetch(
            f"SELECT {_COLUMNS} FROM {_TABLE} WHERE run_id = $1 ORDER BY step", run_id
        )
        return [_checkpoint(r) for r in rows]

    async def delete(self, run_id: str) -> None:
        """Forget the run (one transaction)."""
        async with self._db.transaction() as conn:
            await conn.execute(f"DELETE FROM {_TABLE} WHERE run_id = $1", run_id)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._db.aclose()

    def __repr__(self) -> str:
        return f"PostgresCheckpointStore({self.dsn!r})"
