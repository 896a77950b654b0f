"""RateLimit: refusing or waiting, token settlement, accuracy over a window, Redis sharing."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from conduit.errors import RateLimitError, ServerError, TimeoutError, ValidationError
from conduit.interceptors import (
    Cache,
    RateLimit,
    Retry,
    Timeout,
    estimate_tokens,
    with_interceptors,
)
from conduit.providers.fake import MockModel
from conduit.schema import ChatOptions, Response, TextBlock, Usage, user
from conduit.storage import (
    Bucket,
    MemoryBuckets,
    PostgresBuckets,
    RedisBuckets,
    SQLiteBuckets,
)
from tests.storage.redis_server import RedisServer
from tests.support.postgres_server import postgres_server


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass, and never less than the clock's smallest step: a wait
        smaller than that (a rounding remainder) must still move the clock."""
        self.now = max(self.now + max(seconds, 0.0), math.nextafter(self.now, math.inf))

    async def sleep(self, seconds: float) -> None:
        """A sleep on this clock: the time passes at once (a turn of the loop is taken)."""
        self.advance(seconds)
        await asyncio.sleep(0)


class LimiterOnClock:
    """`asyncio` as `conduit.interceptors.rate_limit` sees it: its sleeps pass on `clock`.

    Only one task sleeps at a time in the limiter (the head of a bucket's queue), so
    letting each sleep's time pass at once keeps the timeline exact."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def sleep(self, delay: float, result: Any = None) -> Any:
        self.clock.advance(delay)
        return await asyncio.sleep(0, result)

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


@pytest.fixture
def limiter_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A clock for `MemoryBuckets(clock=...)` that the limiter's own waits move."""
    clock = Clock()
    monkeypatch.setattr("conduit.interceptors.rate_limit.asyncio", LimiterOnClock(clock))
    return clock


def used(total: int) -> Response:
    return Response(
        content=[TextBlock(text="x")], usage=Usage(input_tokens=total - 1, output_tokens=1)
    )


async def test_refuses_with_retry_after_when_told_not_to_wait() -> None:
    clock = Clock()
    limit = RateLimit(60, burst=2, wait=False, store=MemoryBuckets(clock=clock))
    model = with_interceptors(MockModel(["ok"], repeat_last=True), [limit])
    await model.chat("1")
    await model.chat("2")
    with pytest.raises(RateLimitError) as info:
        await model.chat("3")
    assert info.value.retry_after == pytest.approx(1.0)
    assert info.value.provider == "fake"
    clock.now = 1.0
    await model.chat("4")


async def test_retry_waits_out_a_refusal() -> None:
    clock = Clock()  # still between the calls, however slow the machine: "2" is refused
    limit = RateLimit(600, burst=1, wait=False, store=MemoryBuckets(clock=clock))
    retry = Retry(sleep=clock.sleep)
    model = with_interceptors(MockModel(["ok"], repeat_last=True), [retry, limit])
    await model.chat("1")
    response = await model.chat("2")  # refused once, retried after 0.1 s
    assert response.metadata["attempts"] == 2
    assert clock.now == pytest.approx(0.1)


async def test_waits_instead_of_failing() -> None:
    limit = RateLimit(1200, burst=1)  # 20 a second
    upstream = MockModel(["ok"], repeat_last=True)
    model = with_interceptors(upstream, [limit])
    started = time.monotonic()
    await asyncio.gather(*(model.chat(str(i)) for i in range(5)))
    assert len(upstream.calls) == 5
    assert time.monotonic() - started >= 4 / 20 * 0.9  # never faster than the limit


async def test_tokens_are_estimated_then_settled() -> None:
    clock = Clock()
    store = MemoryBuckets(clock=clock)
    limit = RateLimit(tokens_per_minute=60_000, token_burst=1000, store=store)
    model = with_interceptors(MockModel([used(30), used(500)]), [limit])
    tokens = limit.buckets("fake/mock")[1]
    assert tokens is not None
    await model.chat("x" * 400, max_tokens=100)  # estimated 100 + 100, used 30
    assert store.level(tokens) == 970
    await model.chat("x" * 40)  # estimated 10, used 500: the rest is taken afterwards
    assert store.level(tokens) == 470


def test_the_estimate() -> None:
    assert estimate_tokens([user("abcd"), user("abcde")], ChatOptions()) == 3
    assert estimate_tokens([user("a")], ChatOptions(max_tokens=7)) == 8


async def test_a_cache_hit_inside_gives_everything_back() -> None:
    clock = Clock()
    store = MemoryBuckets(clock=clock)
    limit = RateLimit(60, tokens_per_minute=6000, burst=5, token_burst=100, store=store)
    model = with_interceptors(MockModel([used(10)]), [limit, Cache()])
    requests, tokens = limit.buckets("fake/mock")
    assert requests is not None
    assert tokens is not None
    await model.chat("hi")
    await model.chat("hi")  # a hit
    assert store.level(requests) == 4
    assert store.level(tokens) == 90


async def test_a_failed_call_keeps_what_it_took() -> None:
    clock = Clock()
    store = MemoryBuckets(clock=clock)
    limit = RateLimit(60, burst=5, store=store)
    model = with_interceptors(MockModel([ServerError("x")]), [limit])
    with pytest.raises(ServerError):
        await model.chat("hi")
    assert store.level(limit.buckets("fake/mock")[0]) == 4  # type: ignore[arg-type]


async def test_buckets_are_per_model_unless_keyed() -> None:
    store = MemoryBuckets(clock=Clock())  # nothing refills between the calls
    limit = RateLimit(60, wait=False, burst=1, store=store)
    a = with_interceptors(MockModel(name="a"), [limit])
    b = with_interceptors(MockModel(name="b"), [limit])
    await a.chat("hi")
    await b.chat("hi")  # its own bucket
    shared = RateLimit(60, wait=False, burst=1, key="team", store=store)
    await with_interceptors(MockModel(name="a"), [shared]).chat("hi")
    with pytest.raises(RateLimitError):
        await with_interceptors(MockModel(name="b"), [shared]).chat("hi")


async def test_waiting_past_the_deadline_is_a_timeout() -> None:
    limit = RateLimit(6, burst=1)  # one per 10 s
    model = with_interceptors(MockModel(["ok"], repeat_last=True), [Timeout(0.05), limit])
    await model.chat("1")
    with pytest.raises(TimeoutError, match="rate limit"):
        await model.chat("2")


async def test_waiters_queue_behind_the_first(limiter_clock: Clock) -> None:
    # On the limiter's clock no token can come free while one waiter hands over to the
    # next, however long a busy machine pauses there: only the queue decides the order.
    limit = RateLimit(3000, burst=1, store=MemoryBuckets(clock=limiter_clock))  # 50 a second
    order: list[int] = []

    upstream = MockModel(["ok"], repeat_last=True)
    model = with_interceptors(upstream, [limit])

    async def call(i: int) -> None:
        await model.chat(str(i))
        order.append(i)

    tasks = []
    for i in range(6):
        tasks.append(asyncio.create_task(call(i)))
        await asyncio.sleep(0)  # arrive in order
    await asyncio.gather(*tasks)
    assert order == list(range(6))


def test_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="requests_per_minute= or tokens_per_minute="):
        RateLimit()
    with pytest.raises(ValidationError, match="burst"):
        RateLimit(60, burst=0)
    assert repr(RateLimit(60)) == "RateLimit(requests_per_minute=60, tokens_per_minute=None)"
    slow = RateLimit(requests_per_minute=1, tokens_per_minute=10)
    requests, tokens = slow.buckets("p/m")
    assert requests == Bucket("p/m:requests", rate=1 / 60, capacity=1.0)
    assert tokens == Bucket("p/m:tokens", rate=10 / 60, capacity=1.0)


# -- accuracy -------------------------------------------------------------------------------


class RecordingBuckets(MemoryBuckets):
    """The limiter's own accounting: when (on its clock) each take was granted."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock=clock)
        self.clock = clock
        self.grants: list[float] = []

    async def take(self, takes: Sequence[tuple[Bucket, float]]) -> float:
        wait = await super().take(takes)
        if wait == 0.0:
            self.grants.append(self.clock())
        return wait


async def test_holds_the_limit_within_five_percent_over_two_seconds(
    limiter_clock: Clock,
) -> None:
    # On a clock that only the limiter's waits move: how many calls it lets through in a
    # window is its own arithmetic and queueing, not how fast this machine runs them.
    rate = 100.0  # per second: 6000 requests per minute, burst one second's worth
    store = RecordingBuckets(limiter_clock)
    model = with_interceptors(
        MockModel(["ok"], repeat_last=True), [RateLimit(rate * 60, store=store)]
    )
    stop = 2.8

    async def worker() -> None:
        while limiter_clock() < stop:
            await model.chat("hi")

    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(20))), 60)
    # The first second's burst goes at once; measure the two seconds after it, when the
    # bucket is empty and every grant has to be earned at the refill rate.
    start = store.grants[int(rate)]
    window = [t for t in store.grants if start <= t < start + 2.0]
    assert abs(len(window) - 2 * rate) <= 0.05 * 2 * rate, len(window)


# -- shared through Redis -------------------------------------------------------------------


async def test_two_processes_share_one_limit_through_redis(redis_server: RedisServer) -> None:
    clients = [redis.asyncio.Redis.from_url(redis_server.url) for _ in range(2)]
    await clients[0].flushdb()
    limits = [
        RateLimit(6, burst=3, wait=False, store=RedisBuckets(client, prefix="rl:"))
        for client in clients
    ]
    models = [with_interceptors(MockModel(["ok"], repeat_last=True), [lim]) for lim in limits]
    started = time.monotonic()
    await models[0].chat("1")
    await models[1].chat("2")
    await models[0].chat("3")
    for model in models:
        with pytest.raises(RateLimitError) as info:
            await model.chat("4")
        # One request every 10 s (Redis's clock): the next is due 10 s after the first
        # take, less the time that has passed since, which is at most what was measured.
        elapsed = time.monotonic() - started
        assert 10.0 - elapsed - 0.01 <= (info.value.retry_after or 0) <= 10.0 + 1e-6
    for client in clients:
        await client.aclose()


async def test_waiting_on_a_redis_limit(redis_client: redis.asyncio.Redis) -> None:
    a = RateLimit(3000, burst=1, store=RedisBuckets(redis_client, prefix="w:"))
    b = RateLimit(3000, burst=1, store=RedisBuckets(redis_client, prefix="w:"))
    upstream = MockModel(["ok"], repeat_last=True)
    started = time.monotonic()
    await asyncio.gather(
        *(with_interceptors(upstream, [lim]).chat(str(i)) for i in range(3) for lim in (a, b))
    )
    assert len(upstream.calls) == 6
    assert time.monotonic() - started >= 5 / 50 * 0.9


# -- every number is checked ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["requests_per_minute", "tokens_per_minute", "burst", "token_burst"]
)
@pytest.mark.parametrize("value", [math.nan, math.inf, -1, 0, True, "60"])
def test_bad_numbers_are_refused_naming_the_argument(name: str, value: Any) -> None:
    settings: dict[str, Any] = {"requests_per_minute": 60, name: value}
    with pytest.raises(ValidationError, match=name):
        RateLimit(**settings)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValidationError, match="wait"):
        RateLimit(60, wait="no")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="store"):
        RateLimit(60, store={})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="key"):
        RateLimit(60, key="")
    with pytest.raises(ValidationError, match="estimate"):
        RateLimit(60, estimate=42)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [math.nan, -5, True, None, 1.5e400])
async def test_a_bad_estimate_is_refused_before_anything_is_sent(value: Any) -> None:
    upstream = MockModel(["ok"])
    limit = RateLimit(tokens_per_minute=6000, estimate=lambda messages, options: value)
    with pytest.raises(ValidationError, match="estimate"):
        await with_interceptors(upstream, [limit]).chat("hi")
    assert upstream.calls == []


# -- shared through SQLite (one machine) and PostgreSQL (several) ------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_two_limiters_share_one_limit_through_sql(backend: str, tmp_path: Path) -> None:
    clock = Clock()
    stores: list[SQLiteBuckets | PostgresBuckets]
    if backend == "sqlite":
        stores = [SQLiteBuckets(tmp_path / "limits.sqlite3", clock=clock) for _ in range(2)]
    else:
        dsn = await postgres_server().new_database()
        stores = [PostgresBuckets(dsn, clock=clock, max_size=2) for _ in range(2)]
    limits = [RateLimit(60, burst=3, wait=False, store=store) for store in stores]
    models = [with_interceptors(MockModel(["ok"], repeat_last=True), [lim]) for lim in limits]
    try:
        results = await asyncio.gather(
            *(models[i % 2].chat(str(i)) for i in range(8)), return_exceptions=True
        )
        assert sum(isinstance(r, Response) for r in results) == 3
        refused = [r for r in results if isinstance(r, RateLimitError)]
        assert len(refused) == 5
        assert all(r.retry_after == pytest.approx(1.0) for r in refused)
        clock.now += 1.0  # one more request a second
        await models[1].chat("again")
        with pytest.raises(RateLimitError):
            await models[0].chat("too soon")
    finally:
        for store in stores:
            await store.aclose()


async def test_waiting_on_a_sqlite_limit(tmp_path: Path) -> None:
    store = SQLiteBuckets(tmp_path / "limits.sqlite3")
    upstream = MockModel(["ok"], repeat_last=True)
    model = with_interceptors(upstream, [RateLimit(3000, burst=1, store=store)])
    try:
        started = time.monotonic()
        await asyncio.gather(*(model.chat(str(i)) for i in range(4)))
        assert len(upstream.calls) == 4
        assert time.monotonic() - started >= 3 / 50 * 0.9  # never faster than the limit
    finally:
        await store.aclose()
