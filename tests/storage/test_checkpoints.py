"""Checkpoint stores: in memory, SQLite and PostgreSQL, the same behaviour."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from conduit.storage.checkpoints import Checkpoint, CheckpointStore, MemoryCheckpointStore
from conduit.storage.checkpoints_postgres import PostgresCheckpointStore
from conduit.storage.checkpoints_sqlite import SQLiteCheckpointStore, checkpoints_path
from tests.support.postgres_server import postgres_server


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[CheckpointStore]:
    made: CheckpointStore
    if request.param == "memory":
        made = MemoryCheckpointStore()
    elif request.param == "sqlite":
        made = SQLiteCheckpointStore(tmp_path / "flow.sqlite3")
    else:
        made = PostgresCheckpointStore(await postgres_server().new_database())
    assert isinstance(made, CheckpointStore)
    yield made
    await made.aclose()


def _run(run_id: str, steps: int) -> list[Checkpoint]:
    nodes = [f"node{i}" for i in range(steps)]
    return [
        Checkpoint(
            run_id,
            step,
            nodes[step] if step < steps - 1 else None,
            f'{{"step": {step}}}',
            nodes[step - 1] if step else None,
            graph="g",
            created_at=1000.0 + step,
        )
        for step in range(steps)
    ]


async def test_history_and_latest(store: CheckpointStore) -> None:
    first, second = _run("a", 3), _run("b", 2)
    for checkpoint in [*first, *second]:
        await store.save(checkpoint)
    assert await store.history("a") == first
    assert await store.history("b") == second
    assert await store.latest("a") == first[-1]
    latest = await store.latest("a")
    assert latest is not None
    assert latest.done
    assert await store.latest("missing") is None
    assert await store.history("missing") == []


async def test_saving_a_step_again_replaces_it(store: CheckpointStore) -> None:
    original = _run("a", 2)
    for checkpoint in original:
        await store.save(checkpoint)
    redo = Checkpoint("a", 1, "retry", '{"step": 99}', "node0", "g", 2000.0)
    await store.save(redo)
    assert await store.history("a") == [original[0], redo]


async def test_delete_forgets_only_that_run(store: CheckpointStore) -> None:
    for checkpoint in [*_run("a", 2), *_run("b", 2)]:
        await store.save(checkpoint)
    await store.delete("a")
    assert await store.history("a") == []
    assert await store.history("b") == _run("b", 2)


async def test_sqlite_checkpoints_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "flow.sqlite3"
    saved = _run("a", 3)
    store = SQLiteCheckpointStore(path)
    for checkpoint in saved:
        await store.save(checkpoint)
    await store.aclose()
    reopened = SQLiteCheckpointStore(path, durable=True)
    assert await reopened.history("a") == saved
    assert repr(reopened) == f"SQLiteCheckpointStore({str(path)!r})"
    await reopened.aclose()


def test_default_path_is_in_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONDUIT_DATA_DIR", str(tmp_path))
    assert checkpoints_path() == tmp_path / "flow.sqlite3"
    assert SQLiteCheckpointStore().path == str(tmp_path / "flow.sqlite3")
