"""rpm/tpm per deployment through token buckets: in memory, and shared through Redis."""

from __future__ import annotations

import asyncio

import pytest

from conduit.core.sync import run_sync
from conduit.errors import RateLimitError, ServerError
from conduit.routing import Deployment, Router
from conduit.schema import Response, TextBlock, Usage
from conduit.storage import Bucket, MemoryBuckets, RedisRouterState
from tests.routing.support import NO_WAIT, Clock, answer, dep
from tests.storage.redis_server import RedisServer


def tokens_bucket(deployment_id: str, tpm: float) -> Bucket:
    return Bucket(f"route:{deployment_id}:tokens", tpm / 60, tpm)


async def test_rpm_refuses_with_retry_after_and_refills() -> None:
    clock = Clock()
    router = Router({"g": [dep("a", rpm=2)]}, buckets=MemoryBuckets(clock=clock))
    model = router.model("g")
    await model.chat("1")
    await model.chat("2")
    with pytest.raises(RateLimitError, match="rpm/tpm limits") as caught:
        await model.chat("3")
    assert caught.value.retry_after == pytest.approx(30.0)  # 2 per minute: one per 30 s
    assert caught.value.provider == "router"
    clock.now = 30.0
    await model.chat("4")


async def test_a_deployment_at_its_limit_is_skipped() -> None:
    clock = Clock()
    router = Router(
        {"g": [dep("limited", rpm=1), dep("free")]},
        strategy="round-robin",
        buckets=MemoryBuckets(clock=clock),
    )
    picked = [(await router.model("g").chat("hi")).text for _ in range(4)]
    assert picked == ["limited", "free", "free", "free"]


async def test_tpm_takes_the_estimate_and_settles_with_the_real_usage() -> None:
    store = MemoryBuckets(clock=lambda: 0.0)
    router = Router({"g": [dep("a", [answer("ok", total=30)], tpm=1000)]}, buckets=store)
    await router.model("g").chat("x" * 400, max_tokens=100)  # estimate: 100 + 100 tokens
    assert store.level(tokens_bucket("a", 1000)) == pytest.approx(970)


async def test_tpm_refuses_once_the_real_usage_spent_it() -> None:
    clock = Clock()
    router = Router(
        {"g": [dep("a", [answer("ok", total=150)], tpm=100)]}, buckets=MemoryBuckets(clock=clock)
    )
    await router.model("g").chat("hi")  # estimate 1, real 150: 50 in debt
    with pytest.raises(RateLimitError) as caught:
        await router.model("g").chat("hi")
    assert caught.value.retry_after == pytest.approx(30.6)  # (50 + 1) / (100 / 60)


async def test_a_failed_try_keeps_what_it_took() -> None:
    store = MemoryBuckets(clock=lambda: 0.0)
    router = Router({"g": [dep("a", [ServerError("down")], tpm=1000)]}, retry=0, buckets=store)
    with pytest.raises(ServerError):
        await router.model("g").chat("x" * 40)
    assert store.level(tokens_bucket("a", 1000)) == pytest.approx(990)


async def test_a_cache_hit_gives_everything_back() -> None:
    store = MemoryBuckets(clock=lambda: 0.0)
    cached = Response(
        content=[TextBlock(text="cached")],
        usage=Usage(input_tokens=50, output_tokens=50),
        metadata={"cache_hit": True},
        cost=0.0,
    )
    router = Router({"g": [dep("a", [cached], rpm=10, tpm=1000)]}, buckets=store)
    response = await router.model("g").chat("x" * 40)
    assert response.cost == 0.0
    assert store.level(tokens_bucket("a", 1000)) == 1000
    assert store.level(Bucket("route:a:requests", 10 / 60, 10)) == 10


async def test_route_settles_only_when_told() -> None:
    store = MemoryBuckets(clock=lambda: 0.0)
    router = Router({"g": [dep("a", tpm=1000)]}, buckets=store)

    async def forward(deployment: Deployment) -> bytes:
        return b'{"usage": {"total_tokens": 42}}'

    routed = await router.route("g", forward, tokens=100)
    assert store.level(tokens_bucket("a", 1000)) == 900  # the estimate stands
    await routed.settle(42)
    assert store.level(tokens_bucket("a", 1000)) == 958


async def test_retries_skip_a_limited_deployment() -> None:
    clock = Clock()
    full = dep("full", rpm=1)
    router = Router(
        {"g": [dep("bad", [ServerError("down")]), full]},
        strategy="round-robin",
        retry=NO_WAIT,
        buckets=MemoryBuckets(clock=clock),
        cooldown_seconds=0,
    )
    assert (await router.model("g").chat("hi")).text == "full"  # bad failed, then full
    # full is spent; bad is the only one left and fails: its own error is raised.
    with pytest.raises(ServerError):
        await router.model("g").chat("hi")
    assert len(full.chat_model.calls) == 1  # type: ignore[attr-defined]


# ------------------------------------------------------------------ Redis


async def test_two_routers_share_limits_cooldowns_and_turns_through_redis(
    redis_server: RedisServer,
) -> None:
    prefix = f"test:{id(redis_server)}:{asyncio.get_running_loop().time()}"
    states = [RedisRouterState(redis_server.url, prefix=prefix) for _ in range(2)]

    def build(state: RedisRouterState) -> Router:
        return Router(
            {"g": [dep("a", rpm=3), dep("b", rpm=3)]},
            strategy="round-robin",
            state=state,
            buckets=state.buckets(),
        )

    one, two = build(states[0]), build(states[1])
    # One turn counter: the two routers alternate as one.
    picked = [
        (await one.model("g").chat("hi")).text,
        (await two.model("g").chat("hi")).text,
        (await one.model("g").chat("hi")).text,
        (await two.model("g").chat("hi")).text,
    ]
    assert picked == ["a", "b", "a", "b"]
    # The sync twin runs on the sync bridge's loop, with its own clients.
    assert two.model("g").chat_sync("hi").text == "a"
    await one.model("g").chat("hi")  # b's third
    with pytest.raises(RateLimitError):  # 3 per minute each, shared: both spent
        await two.model("g").chat("hi")
    # A cooldown set by one router is seen by the other.
    await one.failed(one.deployments("g")[0], ServerError("x", status_code=401))
    assert await states[1].cooling(["a", "b"]) == [True, False]
    # Each loop's clients are closed on that loop.
    for router, state in ((one, states[0]), (two, states[1])):
        await router.buckets.aclose()
        await state.aclose()
    await asyncio.to_thread(run_sync, two.buckets.aclose())
    await asyncio.to_thread(run_sync, states[1].aclose())
