"""Many processes writing at once lose nothing; a process killed mid-write loses nothing
it committed and leaves the database readable. Both backends."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from conduit.odometer import PostgresEventStore, SQLiteEventStore

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 20
EACH = 500

WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from conduit.odometer import TokenEvent
    from conduit.storage.ledger import open_ledger

    async def main(url, worker, count, report):
        store = open_ledger(url)
        for n in range(count):
            await store.record(TokenEvent(provider="p", model=f"m{worker}",
                                          input_tokens=1, output_tokens=n, tag=str(worker),
                                          id=f"{worker}-{n}"))
            if report:
                print(f"{worker}-{n}", flush=True)
        await store.aclose()

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"))
    """
)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def _spawn(*args: object, **kwargs: object) -> subprocess.Popen:
    """Start a writer (a helper, so the async tests only wait for it in a thread)."""
    return subprocess.Popen(*args, **kwargs)  # type: ignore[call-overload]


def _open(url: str) -> SQLiteEventStore | PostgresEventStore:
    return PostgresEventStore(url) if url.startswith("postgresql://") else SQLiteEventStore(url)


async def test_many_processes_write_every_event_exactly_once(store_url: str) -> None:
    # Create the schema first so the writers race on rows, not on the migration.
    store = _open(store_url)
    await store.count()
    writers = [
        _spawn(
            [sys.executable, "-c", WRITER, store_url, str(w), str(EACH), "0"],
            env=_env(),
            stderr=subprocess.PIPE,
        )
        for w in range(PROCESSES)
    ]
    for proc in writers:
        _, err = await asyncio.to_thread(proc.communicate, timeout=120)
        assert proc.returncode == 0, err.decode()
    try:
        assert await store.count() == PROCESSES * EACH
        rows = await store.totals(["tag"])
    finally:
        await store.aclose()
    assert len(rows) == PROCESSES
    expected_output = sum(range(EACH))
    assert all(r.events == EACH and r.output_tokens == expected_output for r in rows)


async def test_a_killed_writer_loses_no_committed_event(store_url: str, backend: str) -> None:
    proc = _spawn(
        [sys.executable, "-c", WRITER, store_url, "7", "100000", "1"],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    committed = []
    while len(committed) < 300:
        line = await asyncio.to_thread(proc.stdout.readline)
        assert line, proc.stderr.read() if proc.stderr else ""
        committed.append(line.strip())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    if proc.stderr:
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    if backend == "sqlite":
        with sqlite3.connect(store_url) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        conn.close()
    store = _open(store_url)
    try:
        kept = {e.id for e in await store.events()}
        assert set(committed) <= kept
        # whatever else is there is whole: every row reads back as a valid event
        assert len(kept) == await store.count() >= 300
    finally:
        await store.aclose()


async def test_history_survives_a_killed_writer(tmp_path: Path) -> None:
    url = str(tmp_path / "history.sqlite3")
    script = textwrap.dedent(
        """
        import asyncio, sys
        from conduit.memory import message_store
        from conduit.schema import user

        async def main(url):
            store = message_store(url)
            chat = await store.create("t", id="c")
            n = 0
            while True:
                await store.append("c", user(f"m{n}"))
                print(n, flush=True)
                n += 1

        asyncio.run(main(sys.argv[1]))
        """
    )
    proc = _spawn(
        [sys.executable, "-c", script, url], env=_env(), stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    last = -1
    while last < 200:
        last = int(await asyncio.to_thread(proc.stdout.readline))
    proc.kill()
    proc.wait()
    proc.stdout.close()
    from conduit.memory import SQLiteMessageStore

    store = SQLiteMessageStore(url)
    try:
        loaded = await store.load("c")
        assert len(loaded) >= last + 1
        assert [m.position for m in loaded] == list(range(len(loaded)))
        assert (await store.get("c")).message_count == len(loaded)
    finally:
        await store.aclose()
