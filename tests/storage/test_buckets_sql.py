"""Token buckets in SQLite and PostgreSQL: the same arithmetic as in memory, atomic and
shared by every store object (and process) on one file or database."""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from conduit.errors import ValidationError
from conduit.storage import (
    Bucket,
    BucketStore,
    MemoryBuckets,
    PostgresBuckets,
    RedisBuckets,
    SQLiteBuckets,
    open_bucket_store,
)
from tests.support.postgres_server import postgres_server

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


Make = Callable[[], SQLiteBuckets | PostgresBuckets]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", "postgres"])
async def make(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> AsyncIterator[Make]:
    """`make()`: a new store object on this test's one file or database."""
    made: list[SQLiteBuckets | PostgresBuckets] = []
    dsn = await postgres_server().new_database() if request.param == "postgres" else ""

    def make() -> SQLiteBuckets | PostgresBuckets:
        store: SQLiteBuckets | PostgresBuckets
        if dsn:
            store = PostgresBuckets(dsn, clock=clock, max_size=3)
        else:
            store = SQLiteBuckets(tmp_path / "buckets.sqlite3", clock=clock)
        made.append(store)
        return store

    yield make
    for store in made:
        await store.aclose()


async def test_take_and_wait(make: Make, clock: Clock) -> None:
    store = make()
    assert isinstance(store, BucketStore)
    bucket = Bucket("r", rate=2.0, capacity=2)
    assert await store.take([(bucket, 1)]) == 0.0
    assert await store.take([(bucket, 1)]) == 0.0
    assert await store.take([(bucket, 1)]) == 0.5
    clock.now += 0.5
    assert await store.take([(bucket, 1)]) == 0.0
    assert await store.level(bucket) == pytest.approx(0.0)
    assert await store.take([]) == 0.0


async def test_all_or_nothing(make: Make) -> None:
    store = make()
    requests = Bucket("req", rate=1.0, capacity=5)
    tokens = Bucket("tok", rate=10.0, capacity=100)
    assert await store.take([(requests, 1), (tokens, 90)]) == 0.0
    assert await store.take([(requests, 1), (tokens, 30)]) == pytest.approx(2.0)
    assert await store.level(requests) == 4
    assert await store.level(tokens) == 10


async def test_debt_and_give(make: Make, clock: Clock) -> None:
    store = make()
    bucket = Bucket("t", rate=10.0, capacity=100)
    assert await store.take([(bucket, 250)]) == 0.0  # bigger than the capacity: debt
    assert await store.level(bucket) == -150
    assert await store.take([(bucket, 1)]) == pytest.approx(15.1)
    await store.give(bucket, 200)
    assert await store.level(bucket) == 50
    await store.give(bucket, 500)
    assert await store.level(bucket) == 100  # capped
    await store.give(bucket, -120)
    assert await store.level(bucket) == -20
    clock.now += 2
    assert await store.level(bucket) == 0


async def test_two_store_objects_share_one_bucket(make: Make) -> None:
    a, b = make(), make()
    bucket = Bucket("shared", rate=0.01, capacity=10)
    waits = await asyncio.gather(*(s.take([(bucket, 1)]) for s in [a, b] * 15))
    assert waits.count(0.0) == 10


# -- processes -----------------------------------------------------------------------------

TAKER = textwrap.dedent(
    """
    import asyncio, sys
    from conduit.storage import Bucket, open_bucket_store

    async def main(url, count):
        store = open_bucket_store(url)
        bucket = Bucket("procs", rate=0.001, capacity=10)
        waits = await asyncio.gather(*(store.take([(bucket, 1)]) for _ in range(count)))
        await store.aclose()
        print(waits.count(0.0))

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
    """
)


def _spawn(args: list[str]) -> subprocess.Popen[str]:
    """Start a taker (a helper, so the async test only waits for it in a thread)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_processes_share_one_bucket(backend: str, tmp_path: Path) -> None:
    url = (
        str(tmp_path / "b.sqlite3")
        if backend == "sqlite"
        else await postgres_server().new_database()
    )
    first = open_bucket_store(url)
    await first.take([(Bucket("warm", rate=1, capacity=1), 0)])  # the schema, before the race
    await first.aclose()
    procs = [_spawn([sys.executable, "-c", TAKER, url, "8"]) for _ in range(3)]
    got = 0
    for proc in procs:
        out, err = await asyncio.to_thread(proc.communicate, timeout=120)
        assert proc.returncode == 0, err
        got += int(out)
    assert got == 10


# -- checks ----------------------------------------------------------------------------------

BAD = [math.nan, math.inf, -1, 0, True, None, "5"]


@pytest.mark.parametrize("value", BAD)
def test_bucket_numbers_are_checked(value: Any) -> None:
    with pytest.raises(ValidationError, match="rate"):
        Bucket("b", rate=value, capacity=1)
    with pytest.raises(ValidationError, match="capacity"):
        Bucket("b", rate=1, capacity=value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -1, True, None, "5"])
async def test_amounts_are_checked(value: Any, tmp_path: Path) -> None:
    bucket = Bucket("b", rate=1, capacity=5)
    stores: list[Any] = [MemoryBuckets(), SQLiteBuckets(tmp_path / "b.sqlite3")]
    stores.append(RedisBuckets(url="redis://127.0.0.1:1/0"))  # refused before any I/O
    stores.append(PostgresBuckets("postgresql://127.0.0.1:1/x"))
    for store in stores:
        with pytest.raises(ValidationError, match="amount"):
            await store.take([(bucket, value)])
        if value != -1:  # give takes negative amounts: that is how a settle charges
            with pytest.raises(ValidationError, match="amount"):
                await store.give(bucket, value)
        await store.aclose()
    with pytest.raises(ValidationError, match="Bucket"):
        await MemoryBuckets().take([("b", 1)])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="key"):
        Bucket("", rate=1, capacity=1)


def test_open_bucket_store(tmp_path: Path) -> None:
    assert isinstance(open_bucket_store(), MemoryBuckets)
    found = open_bucket_store(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert isinstance(found, SQLiteBuckets)
    assert found.path == str(tmp_path / "x.sqlite3")
    assert isinstance(open_bucket_store(str(tmp_path / "y")), SQLiteBuckets)
    assert isinstance(open_bucket_store("postgresql://127.0.0.1/x"), PostgresBuckets)
    assert isinstance(open_bucket_store("redis://127.0.0.1:1/0"), RedisBuckets)
    assert repr(PostgresBuckets("postgresql://u:pw@127.0.0.1/x")) == (
        "PostgresBuckets('postgresql://u:***@127.0.0.1/x')"
    )
    with pytest.raises(ValidationError, match="url"):
        open_bucket_store("")
