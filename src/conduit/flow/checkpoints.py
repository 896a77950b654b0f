"""Opening the checkpoint store a URL names (the stores live in `conduit.storage`).

Example:
    >>> checkpoint_store("postgresql://127.0.0.1/flows")
    PostgresCheckpointStore('postgresql://127.0.0.1/flows')
    >>> checkpoint_store(":memory:")
    MemoryCheckpointStore(runs=0)
"""

from __future__ import annotations

import os

from conduit.storage.checkpoints import CheckpointStore, MemoryCheckpointStore
from conduit.storage.checkpoints_postgres import PostgresCheckpointStore
from conduit.storage.checkpoints_sqlite import SQLiteCheckpointStore

__all__ = ["CheckpointSource", "checkpoint_store"]

CheckpointSource = CheckpointStore | str | os.PathLike[str]
"""Where checkpoints go: a store, or a URL or path that `checkpoint_store` opens."""


def checkpoint_store(url: str | os.PathLike[str] | None = None) -> CheckpointStore:
    """The checkpoint store `url` names: a `postgresql://` (or `postgres://`) URL, a
    `sqlite:///path` or a file path (SQLite), or `":memory:"` (a new, empty in-process
    store: to resume from one, keep the store object and pass it instead); by default
    `flow.sqlite3` in the user data folder.

    Example:
        >>> checkpoint_store("sqlite:///tmp/flow.sqlite3")
        SQLiteCheckpointStore('tmp/flow.sqlite3')
    """
    if url is None:
        return SQLiteCheckpointStore()
    text = os.fspath(url)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresCheckpointStore(text)
    if text == ":memory:":
        return MemoryCheckpointStore()
    return SQLiteCheckpointStore(text.removeprefix("sqlite:///"))
