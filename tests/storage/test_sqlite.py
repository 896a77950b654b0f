"""The SQLite cache: persistence, WAL, pruning, one worker thread, closed state."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from conduit.errors import ConduitError, ValidationError
from conduit.storage import sqlite as sqlite_module
from conduit.storage.sqlite import SQLiteCache


async def test_entries_survive_a_new_instance(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "folder" / "cache.sqlite3"
    first = SQLiteCache(path)
    await first.set("k", b"v")
    await first.aclose()
    second = SQLiteCache(path)
    assert await second.get("k") == b"v"
    await second.aclose()


async def test_uses_write_ahead_logging(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    cache = SQLiteCache(path)
    await cache.set("k", b"v")
    await cache.aclose()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_two_instances_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    a, b = SQLiteCache(path), SQLiteCache(path)
    await a.set("k", b"from a")
    assert await b.get("k") == b"from a"
    await a.aclose()
    await b.aclose()


async def test_sqlite_work_runs_off_the_event_loop_thread() -> None:
    seen: list[str] = []
    cache = SQLiteCache()
    original = cache._get

    def spy(key: str) -> bytes | None:
        seen.append(threading.current_thread().name)
        return original(key)

    cache._get = spy  # type: ignore[method-assign]
    await cache.get("k")
    await cache.aclose()
    assert seen
    assert seen[0].startswith("conduit-sqlite")
    assert seen[0] != threading.current_thread().name


async def test_expired_rows_are_deleted_on_read_and_pruned() -> None:
    now = [100.0]
    cache = SQLiteCache(clock=lambda: now[0])
    await cache.set("a", b"1", ttl=1)
    await cache.set("b", b"2", ttl=1)
    await cache.set("c", b"3")
    now[0] = 101.0
    assert await cache.get("a") is None
    assert await cache.count() == 2  # a went when read; b waits for pruning
    assert await cache.prune() == 1
    assert await cache.count() == 1
    await cache.aclose()


async def test_writes_prune_now_and_then(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_module, "_PRUNE_EVERY", 2)
    now = [0.0]
    cache = SQLiteCache(clock=lambda: now[0])
    await cache.set("old", b"x", ttl=1)
    now[0] = 5.0
    await cache.set("new", b"y")  # the second write prunes
    assert await cache.count() == 1
    await cache.aclose()


async def test_concurrent_calls_are_serialized() -> None:
    cache = SQLiteCache()
    await asyncio.gather(*(cache.set(f"k{i}", str(i).encode()) for i in range(50)))
    values = await asyncio.gather(*(cache.get(f"k{i}") for i in range(50)))
    assert values == [str(i).encode() for i in range(50)]
    await cache.aclose()


async def test_closed_cache_refuses_calls() -> None:
    cache = SQLiteCache()
    await cache.aclose()
    with pytest.raises(ConduitError, match="closed"):
        await cache.get("k")


async def test_close_before_any_use() -> None:
    await SQLiteCache().aclose()


def test_table_must_be_an_identifier() -> None:
    with pytest.raises(ValidationError, match="identifier"):
        SQLiteCache(table="x; DROP TABLE y")


async def test_own_table_name(tmp_path: Path) -> None:
    cache = SQLiteCache(tmp_path / "c.sqlite3", table="answers")
    await cache.set("k", b"v")
    assert repr(cache).endswith("table='answers')")
    await cache.aclose()
    with sqlite3.connect(tmp_path / "c.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM answers").fetchone()[0] == 1
