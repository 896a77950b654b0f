"""Token buckets: the arithmetic (on a fake clock) and the same behaviour in Redis."""

from __future__ import annotations

import time

import pytest
import redis.asyncio

from conduit.errors import ValidationError
from conduit.storage import Bucket, BucketStore, MemoryBuckets, RedisBuckets
from conduit.storage.buckets import refill, wait_for


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> MemoryBuckets:
    return MemoryBuckets(clock=clock)


def test_bucket_needs_a_positive_rate_and_capacity() -> None:
    with pytest.raises(ValidationError, match="rate"):
        Bucket("b", rate=0, capacity=1)
    with pytest.raises(ValidationError, match="capacity"):
        Bucket("b", rate=1, capacity=-1)


def test_refill_and_wait_arithmetic() -> None:
    bucket = Bucket("b", rate=2.0, capacity=10)
    assert refill(3.0, 1.0, bucket) == 5.0
    assert refill(9.0, 5.0, bucket) == 10  # capped
    assert refill(3.0, -1.0, bucket) == 3.0  # a clock going back adds nothing
    assert wait_for(10, 3, bucket) == 0.0
    assert wait_for(-2.0, 1, bucket) == 1.5
    assert wait_for(10, 50, bucket) == 0.0  # more than the capacity: a full bucket will do


async def test_take_and_wait(store: MemoryBuckets, clock: Clock) -> None:
    bucket = Bucket("r", rate=2.0, capacity=2)
    assert await store.take([(bucket, 1)]) == 0.0
    assert await store.take([(bucket, 1)]) == 0.0
    assert await store.take([(bucket, 1)]) == 0.5
    clock.now = 0.5
    assert await store.take([(bucket, 1)]) == 0.0
    assert store.level(bucket) == pytest.approx(0.0)


async def test_all_or_nothing(store: MemoryBuckets, clock: Clock) -> None:
    requests = Bucket("req", rate=1.0, capacity=5)
    tokens = Bucket("tok", rate=10.0, capacity=100)
    assert await store.take([(requests, 1), (tokens, 90)]) == 0.0
    # tokens are short: nothing is taken, not even the request
    assert await store.take([(requests, 1), (tokens, 30)]) == pytest.approx(2.0)
    assert store.level(requests) == 4
    assert store.level(tokens) == 10


async def test_a_take_larger_than_the_capacity_runs_into_debt(
    store: MemoryBuckets, clock: Clock
) -> None:
    bucket = Bucket("t", rate=10.0, capacity=100)
    assert await store.take([(bucket, 250)]) == 0.0
    assert store.level(bucket) == -150
    assert await store.take([(bucket, 1)]) == pytest.approx(15.1)
    clock.now = 15.1
    assert await store.take([(bucket, 1)]) == 0.0


async def test_give_refunds_up_to_the_capacity_and_charges(
    store: MemoryBuckets, clock: Clock
) -> None:
    bucket = Bucket("t", rate=1.0, capacity=10)
    await store.take([(bucket, 8)])
    await store.give(bucket, 5)
    assert store.level(bucket) == 7
    await store.give(bucket, 50)
    assert store.level(bucket) == 10
    await store.give(bucket, -15)
    assert store.level(bucket) == -5


async def test_empty_take_is_free(store: MemoryBuckets) -> None:
    assert await store.take([]) == 0.0
    await store.aclose()
    assert repr(store) == "MemoryBuckets(0 buckets)"


# -- the same promises in Redis (slow rates: refill during a test is negligible) ----------


@pytest.fixture
def redis_store(redis_client: redis.asyncio.Redis) -> RedisBuckets:
    return RedisBuckets(redis_client, prefix="test:rl:")


async def test_redis_store_is_a_bucket_store(redis_store: RedisBuckets) -> None:
    assert isinstance(redis_store, BucketStore)
    assert isinstance(MemoryBuckets(), BucketStore)


async def test_redis_take_and_wait(redis_store: RedisBuckets) -> None:
    bucket = Bucket("r", rate=0.01, capacity=2)
    assert await redis_store.take([(bucket, 1)]) == 0.0
    assert await redis_store.take([(bucket, 1)]) == 0.0
    assert await redis_store.take([(bucket, 1)]) == pytest.approx(100, rel=0.01)
    assert await redis_store.take([]) == 0.0


async def test_redis_all_or_nothing_and_debt(redis_store: RedisBuckets) -> None:
    requests = Bucket("req", rate=0.01, capacity=5)
    tokens = Bucket("tok", rate=0.01, capacity=100)
    assert await redis_store.take([(requests, 1), (tokens, 250)]) == 0.0  # debt: -150
    assert await redis_store.take([(requests, 1), (tokens, 1)]) == pytest.approx(15100, rel=0.01)
    assert await redis_store.level(requests) == pytest.approx(4, abs=0.01)
    assert await redis_store.level(tokens) == pytest.approx(-150, abs=0.01)


async def test_redis_give(redis_store: RedisBuckets) -> None:
    bucket = Bucket("t", rate=0.01, capacity=10)
    await redis_store.take([(bucket, 8)])
    await redis_store.give(bucket, 5)
    assert await redis_store.level(bucket) == pytest.approx(7, abs=0.01)
    await redis_store.give(bucket, 50)
    assert await redis_store.level(bucket) == pytest.approx(10)
    await redis_store.give(bucket, -15)
    assert await redis_store.level(bucket) == pytest.approx(-5, abs=0.01)


async def test_redis_buckets_expire_once_full_again(
    redis_store: RedisBuckets, redis_client: redis.asyncio.Redis
) -> None:
    bucket = Bucket("e", rate=1.0, capacity=10)
    started = time.monotonic()
    await redis_store.take([(bucket, 5)])
    ttl = await redis_client.pttl("test:rl:e")
    gap_ms = (time.monotonic() - started) * 1000
    # Set to 6000 ms when taken (refilled in 5 s, plus a second of slack); by the time
    # it is read, at most the measured gap has run off it.
    assert 6000 - gap_ms - 1 <= ttl <= 6000


async def test_two_stores_share_one_bucket(redis_client: redis.asyncio.Redis) -> None:
    a = RedisBuckets(redis_client, prefix="shared:")
    b = RedisBuckets(redis_client, prefix="shared:")
    bucket = Bucket("r", rate=0.01, capacity=2)
    assert await a.take([(bucket, 1)]) == 0.0
    assert await b.take([(bucket, 1)]) == 0.0
    assert await a.take([(bucket, 1)]) > 0
    assert await b.take([(bucket, 1)]) > 0
