"""Router state: expiring counters and cooldowns in memory and in Redis; per-loop buckets."""

from __future__ import annotations

import asyncio

import pytest

from conduit.core.sync import run_sync
from conduit.storage import (
    Bucket,
    MemoryBuckets,
    MemoryRouterState,
    PerLoopBuckets,
    RedisRouterState,
    RouterState,
)
from tests.storage.redis_server import RedisServer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_memory_counters_expire_and_cooldowns_end() -> None:
    clock = Clock()
    state = MemoryRouterState(clock=clock)
    assert isinstance(state, RouterState)
    assert await state.cooling(["d"]) == [False]
    assert await state.incr("k", 2, 10) == 2
    assert await state.incr("k", -1, 10) == 1  # settling an estimate down
    assert await state.get_many(["k", "missing"]) == [1, 0]
    clock.now = 10.0
    assert await state.get_many(["k"]) == [0]
    assert await state.incr("k", 1, 10) == 1  # a new window
    await state.cool("d", 5)
    assert await state.cooling(["d", "e"]) == [True, False]
    clock.now = 15.0
    assert await state.cooling(["d"]) == [False]
    await state.aclose()


async def test_memory_state_forgets_expired_counters() -> None:
    clock = Clock()
    state = MemoryRouterState(clock=clock)
    for i in range(10_000):
        await state.incr(f"old{i}", 1, 1)
    clock.now = 2.0
    await state.incr("new", 1, 1)
    await state.incr("newer", 1, 1)
    assert repr(state) == "MemoryRouterState(2 counters, 0 cooldowns)"


def test_memory_state_is_shared_by_the_sync_bridge_and_your_loop() -> None:
    state = MemoryRouterState()

    async def bump() -> int:
        return await state.incr("k", 1, 60)

    asyncio.run(bump())
    run_sync(bump())
    assert asyncio.run(state.get_many(["k"])) == [2]


async def test_redis_state_is_shared_by_instances(redis_server: RedisServer) -> None:
    prefix = f"rs:{id(redis_server)}"
    one = RedisRouterState(redis_server.url, prefix=prefix)
    two = RedisRouterState(redis_server.url, prefix=prefix)
    assert isinstance(one, RouterState)
    assert await one.incr("k", 2, 60) == 2
    assert await two.incr("k", 3, 60) == 5
    assert await two.get_many(["k", "missing"]) == [5, 0]
    assert await one.get_many([]) == []
    await one.cool("d", 5)
    assert await two.cooling(["d", "e"]) == [True, False]
    assert await two.cooling([]) == []
    for state in (one, two):
        await state.aclose()
        await state.aclose()  # closing twice is fine


async def test_redis_state_repr_hides_the_url() -> None:
    state = RedisRouterState("redis://:s3cret@127.0.0.1:6379/0", prefix="p")
    assert "s3cret" not in repr(state)
    assert "s3cret" not in repr(state.buckets())


async def test_redis_buckets_from_the_state_share_one_limit(redis_server: RedisServer) -> None:
    prefix = f"rb:{id(redis_server)}"
    stores = [RedisRouterState(redis_server.url, prefix=prefix).buckets() for _ in range(2)]
    bucket = Bucket("route:d:requests", rate=1 / 60, capacity=2)
    assert await stores[0].take([(bucket, 1)]) == 0.0
    assert await stores[1].take([(bucket, 1)]) == 0.0
    assert await stores[0].take([(bucket, 1)]) > 0.0  # spent, by both
    await stores[1].give(bucket, 1)
    assert await stores[0].take([(bucket, 1)]) == 0.0
    for store in stores:
        await store.aclose()


def test_per_loop_buckets_make_one_store_per_event_loop() -> None:
    made: list[MemoryBuckets] = []

    def factory() -> MemoryBuckets:
        made.append(MemoryBuckets())
        return made[-1]

    store = PerLoopBuckets(factory)
    bucket = Bucket("b", rate=1, capacity=1)

    async def take() -> float:
        first = store.store()
        assert store.store() is first  # one per loop
        return await store.take([(bucket, 1)])

    assert asyncio.run(take()) == 0.0
    assert run_sync(take()) == 0.0  # another loop: its own (full) store
    assert len(made) == 2
    assert repr(store) == "PerLoopBuckets(factory)"

    async def close() -> None:
        await store.aclose()
        await store.aclose()

    asyncio.run(close())


@pytest.mark.parametrize("state", [MemoryRouterState(), RedisRouterState("redis://127.0.0.1:1")])
def test_both_states_follow_the_protocol(state: RouterState) -> None:
    assert isinstance(state, RouterState)
