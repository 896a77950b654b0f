"""Every cache backend keeps the same promises: hit, miss, overwrite, delete, clear, TTL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis.asyncio

from conduit.errors import ValidationError
from conduit.storage import CacheBackend, MemoryCache, RedisCache, SQLiteCache
from tests.storage.redis_server import RedisServer


@dataclass
class Backend:
    store: CacheBackend
    advance: Callable[[float], Awaitable[None]]  # let this many seconds pass for expiry


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    async def advance(self, seconds: float) -> None:
        self.now += seconds


async def _really_wait(seconds: float) -> None:
    await asyncio.sleep(seconds)


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "memory":
        clock = FakeClock()
        yield Backend(MemoryCache(clock=clock), clock.advance)
    elif request.param == "sqlite":
        clock = FakeClock()
        store = SQLiteCache(tmp_path / "cache.sqlite3", clock=clock)
        yield Backend(store, clock.advance)
        await store.aclose()
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        client = redis.asyncio.Redis.from_url(server.url)
        await client.flushdb()
        # Redis expires keys on its own clock: time has to pass for real.
        yield Backend(RedisCache(client, prefix="test:"), _really_wait)
        await client.aclose()


async def test_is_a_cache_backend(backend: Backend) -> None:
    assert isinstance(backend.store, CacheBackend)


async def test_miss_then_hit(backend: Backend) -> None:
    store = backend.store
    assert await store.get("k") is None
    await store.set("k", b"value")
    assert await store.get("k") == b"value"


async def test_overwrite_delete_clear(backend: Backend) -> None:
    store = backend.store
    await store.set("a", b"1")
    await store.set("a", b"2")
    await store.set("b", b"3")
    assert await store.get("a") == b"2"
    await store.delete("a")
    await store.delete("never-there")
    assert await store.get("a") is None
    assert await store.get("b") == b"3"
    await store.clear()
    assert await store.get("b") is None


async def test_binary_values_round_trip(backend: Backend) -> None:
    value = bytes(range(256)) * 4
    await backend.store.set("bin", value)
    assert await backend.store.get("bin") == value


async def test_ttl_expires(backend: Backend) -> None:
    store = backend.store
    started = time.monotonic()
    await store.set("short", b"x", ttl=0.05)
    await store.set("forever", b"y")
    fresh = await store.get("short")
    # Still there while its 0.05 s last. Redis counts them for real: on a busy machine
    # they may have run out by the read, which only the measured time can tell.
    in_time = time.monotonic() - started < 0.05
    if in_time or backend.advance is not _really_wait:
        assert fresh == b"x"
    await backend.advance(0.3)
    assert await store.get("short") is None
    assert await store.get("forever") == b"y"


async def test_overwrite_resets_ttl(backend: Backend) -> None:
    store = backend.store
    await store.set("k", b"old", ttl=0.05)
    await store.set("k", b"new")
    await backend.advance(0.3)
    assert await store.get("k") == b"new"


@pytest.mark.parametrize("ttl", [0, -1, float("nan")])
async def test_bad_ttl_is_refused(backend: Backend, ttl: float) -> None:
    with pytest.raises(ValidationError, match="ttl"):
        await backend.store.set("k", b"v", ttl=ttl)


async def test_aclose_twice_is_fine(backend: Backend) -> None:
    await backend.store.aclose()
    await backend.store.aclose()
