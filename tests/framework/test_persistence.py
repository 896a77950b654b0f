"""Usage persists by itself: two processes each asking `Model.query` 200 times, with no
`ledger=` argument, leave 400 events in the one usage ledger, SQLite or PostgreSQL
(`$CONDUIT_LEDGER`), that `conduit usage` reads."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conduit.storage.ledger import open_ledger

ROOT = Path(__file__).resolve().parents[2]
QUERIES = 200
HANG_GUARD = 120  # seconds per process: a fresh interpreter and 200 recorded queries

CHILD = """
import sys
from conduit import Model, Response

name = sys.argv[1]
with Model("fake/echo") as model:
    for n in range(int(sys.argv[2])):
        answer = model.query(f"{name} question {n}", verbose=False)
        assert isinstance(answer, Response), answer
        assert answer.content == f"{name} question {n}"
    counted = Model._odometer_registry.session_odometer.total().events
print(counted)
"""


def _run_two(ledger: str, data: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "CONDUIT_LEDGER": ledger,
        "CONDUIT_DATA_DIR": str(data),
        "CONDUIT_NO_DOTENV": "1",
    }
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, name, str(QUERIES)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("first", "second")
    ]
    for child in children:
        out, err = child.communicate(timeout=HANG_GUARD)
        assert child.returncode == 0, err[-3000:]
        assert out.strip() == str(QUERIES)  # each counted its own answers in memory too


async def _events(ledger: str) -> tuple[int, int, set[str]]:
    store = open_ledger(ledger)
    try:
        events = await store.events()
        count = await store.count()
    finally:
        await store.aclose()
    return count, len({e.id for e in events}), {e.model for e in events}


@pytest.mark.slow
def test_two_processes_leave_four_hundred_events_in_sqlite(tmp_path: Path) -> None:
    ledger = str(tmp_path / "usage.sqlite3")
    _run_two(ledger, tmp_path)
    count, distinct, models = asyncio.run(_events(ledger))
    assert (count, distinct, models) == (2 * QUERIES, 2 * QUERIES, {"echo"})


@pytest.mark.slow
def test_two_processes_leave_four_hundred_events_in_postgres(tmp_path: Path) -> None:
    from tests.support.postgres_server import postgres_server

    ledger = asyncio.run(postgres_server().new_database())
    _run_two(ledger, tmp_path)
    count, distinct, models = asyncio.run(_events(ledger))
    assert (count, distinct, models) == (2 * QUERIES, 2 * QUERIES, {"echo"})
