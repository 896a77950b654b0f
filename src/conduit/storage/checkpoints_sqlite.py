"""Graph-run checkpoints in SQLite: the persistent default of `conduit.flow`.

One STRICT table, `conduit_checkpoints`, one row per (run, step). Each `save` is one
transaction (`BEGIN IMMEDIATE … COMMIT` in WAL mode, see `_sqlite_db`), so a process
killed mid-run leaves every checkpoint it committed and none half-written; the run
resumes from the newest one. The default file is `flow.sqlite3` in the user data folder.

Example:
    >>> import asyncio
    >>> from conduit.storage.checkpoints import Checkpoint
    >>> async def main():
    ...     store = SQLiteCheckpointStore(":memory:")
    ...     await store.save(Checkpoint("run-1", 0, "draft", '{"n": 0}'))
    ...     await store.save(Checkpoint("run-1", 1, None, '{"n": 1}', last_node="draft"))
    ...     found = [(c.step, c.node) for c in await store.history("run-1")]
    ...     await store.aclose()
    ...     return found
    >>> asyncio.run(main())
    [(0, 'draft'), (1, None)]
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from conduit.storage._sqlite_db import SQLiteDatabase
from conduit.storage.checkpoints import Checkpoint
from conduit.storage.migrations import Migration
from conduit.storage.paths import data_dir

__all__ = ["SQLITE_CHECKPOINT_MIGRATIONS", "SQLiteCheckpointStore", "checkpoints_path"]

_TABLE = "conduit_checkpoints"

SQLITE_CHECKPOINT_MIGRATIONS = (
    Migration(
        1,
        (
            f"CREATE TABLE {_TABLE} (run_id TEXT NOT NULL, step INTEGER NOT NULL "
            "CHECK (step >= 0), node TEXT, last_node TEXT, graph TEXT NOT NULL, "
            "state TEXT NOT NULL, created_at REAL NOT NULL, "
            "PRIMARY KEY (run_id, step)) STRICT",
        ),
    ),
)

_COLUMNS = "run_id, step, node, state, last_node, graph, created_at"
_INSERT = (
    f"INSERT INTO {_TABLE} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (run_id, step) DO UPDATE SET node = excluded.node, state = excluded.state, "
    "last_node = excluded.last_node, graph = excluded.graph, created_at = excluded.created_at"
)


def checkpoints_path() -> Path:
    """The default checkpoint file: `flow.sqlite3` in Conduit's data folder.

    Example:
        >>> checkpoints_path().name
        'flow.sqlite3'
    """
    return data_dir() / "flow.sqlite3"


def _checkpoint(row: tuple[str, int, str | None, str, str | None, str, float]) -> Checkpoint:
    return Checkpoint(row[0], int(row[1]), row[2], row[3], row[4], row[5], float(row[6]))


class SQLiteCheckpointStore:
    """Checkpoints in one SQLite file (or `":memory:"`); default `checkpoints_path()`.

    `durable=True` syncs every commit to disk (survives power loss, slower); the default
    survives a crashed or killed process without losing a committed checkpoint.

    Example:
        >>> SQLiteCheckpointStore(":memory:")
        SQLiteCheckpointStore(':memory:')
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        timeout: float = 30.0,
        durable: bool = False,
    ) -> None:
        self.path = str(path if path is not None else checkpoints_path())
        self._db = SQLiteDatabase(
            self.path, "checkpoints", SQLITE_CHECKPOINT_MIGRATIONS, timeout=timeout, durable=durable
        )

    async def save(self, checkpoint: Checkpoint) -> None:
        """Keep one checkpoint (one transaction); a step already kept is replaced."""
        c = checkpoint
        row = (c.run_id, c.step, c.node, c.state, c.last_node, c.graph, c.created_at)
        await self._db.write(lambda conn: conn.execute(_INSERT, row))

    async def latest(self, run_id: str) -> Checkpoint | None:
        """The run's newest checkpoint, or `None`."""
        sql = f"SELECT {_COLUMNS} FROM {_TABLE} WHERE run_id = ? ORDER BY step DESC LIMIT 1"

        def read(conn: sqlite3.Connection) -> Checkpoint | None:
            row = conn.execute(sql, (run_id,)).fetchone()
            return _checkpoint(row) if row else None

        return await self._db.read(read)

    async def history(self, run_id: str) -> list[Checkpoint]:
        """The run's checkpoints, oldest first."""
        sql = f"SELECT {_COLUMNS} FROM {_TABLE} WHERE run_id = ? ORDER BY step"
        return await self._db.read(
            lambda conn: [_checkpoint(r) for r in conn.execute(sql, (run_id,))]
        )

    async def delete(self, run_id: str) -> None:
        """Forget the run (one transaction)."""
        sql = f"DELETE FROM {_TABLE} WHERE run_id = ?"
        await self._db.write(lambda conn: conn.execute(sql, (run_id,)))

    async def aclose(self) -> None:
        """Close the connection and its worker thread."""
        await self._db.aclose()

    def __repr__(self) -> str:
        return f"SQLiteCheckpointStore({self.path!r})"
