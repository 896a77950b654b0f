"""Separate processes racing for one budget never pass it: SQLite (one file), PostgreSQL
and Redis (one server). Each process fires its calls at once, after all have started."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from conduit.storage import SpendLimit, open_spend_store
from tests.support.postgres_server import postgres_server

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 3
EACH = 20

RACER = textwrap.dedent(
    """
    import asyncio, os, sys, time
    from conduit.errors import BudgetExceededError
    from conduit.storage import SpendLimit, open_spend_store

    async def main(url, name, go, count):
        store = open_spend_store(url)
        cap = SpendLimit("key", name, max_usd=0.10, window=3600)
        await store.spent(cap)  # connected (and migrated) before the start signal
        print("ready", flush=True)
        while not os.path.exists(go):
            time.sleep(0.005)

        async def one():
            try:
                held = await store.reserve([cap], 0.01)
            except BudgetExceededError:
                return 0
            await store.settle(held, 0.01)
            return 1

        won = sum(await asyncio.gather(*(one() for _ in range(count))))
        await store.aclose()
        print(won, flush=True)

    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
    """
)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def _spawn(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        args, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgres", "redis"])
async def test_processes_racing_for_one_budget_never_pass_it(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = str(tmp_path / "spend.sqlite3")
    elif backend == "postgres":
        url = await postgres_server().new_database()
    else:
        url = request.getfixturevalue("redis_server").url
    name = f"race-{uuid.uuid4().hex[:8]}"
    go = tmp_path / "go"
    racers = [
        _spawn([sys.executable, "-c", RACER, url, name, str(go), str(EACH)])
        for _ in range(PROCESSES)
    ]
    try:
        for racer in racers:
            assert racer.stdout is not None
            line = await asyncio.to_thread(racer.stdout.readline)
            assert line.strip() == "ready", racer.stderr.read() if racer.stderr else ""
        go.touch()
        won = 0
        for racer in racers:
            out, err = await asyncio.to_thread(racer.communicate, timeout=120)
            assert racer.returncode == 0, err
            won += int(out.split()[-1])
    finally:
        for racer in racers:
            if racer.poll() is None:  # pragma: no cover - a failed test
                racer.kill()
                racer.wait()
    assert won == 10  # $0.10 of $0.01 calls, whoever asked
    store = open_spend_store(url)
    try:
        spent = await store.spent(SpendLimit("key", name, max_usd=0.10, window=3600))
    finally:
        await store.aclose()
    assert spent == pytest.approx(0.10)
