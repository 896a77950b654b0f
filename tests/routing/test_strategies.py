"""Every strategy picks as documented, and `order` goes first."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from conduit.core.policy import RetryPolicy
from conduit.errors import ServerError
from conduit.providers.fake import FunctionModel, MockModel
from conduit.routing import STRATEGIES, Deployment, Router
from conduit.schema import ChatOptions, Message, Prices
from conduit.storage import MemoryBuckets, MemoryRouterState
from tests.routing.support import NO_WAIT, Clock, answer, dep


def where(response: object) -> str:
    return response.metadata["route"]["deployment"]  # type: ignore[attr-defined, no-any-return]


async def picks(router: Router, n: int, group: str = "g") -> list[str]:
    model = router.model(group)
    return [where(await model.chat("hi")) for _ in range(n)]


def test_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="strategy must be one of cost-based, least-busy"):
        Router({"g": ["fake/echo"]}, strategy="fastest")


async def test_round_robin_takes_turns() -> None:
    router = Router({"g": [dep("a"), dep("b"), dep("c")]}, strategy="round-robin")
    assert await picks(router, 7) == ["a", "b", "c", "a", "b", "c", "a"]


async def test_simple_shuffle_follows_weights() -> None:
    router = Router({"g": [dep("a", weight=1), dep("b", weight=9)]}, seed=7)
    counts = Counter(await picks(router, 1000))
    assert counts["b"] > 800
    assert counts["a"] > 50


async def test_simple_shuffle_weights_by_rpm_then_tpm_when_no_weight() -> None:
    by_rpm = Router({"g": [dep("a", rpm=1e9), dep("b", rpm=9e9)]}, seed=7)
    assert Counter(await picks(by_rpm, 500))["b"] > 400
    by_tpm = Router({"g": [dep("a", tpm=9e9), dep("b", tpm=1e9)]}, seed=7)
    assert Counter(await picks(by_tpm, 500))["a"] > 400


async def test_simple_shuffle_without_weights_is_uniform_and_unweighted_lose_to_weighted() -> None:
    uniform = Router({"g": [dep("a"), dep("b")]}, seed=3)
    counts = Counter(await picks(uniform, 400))
    assert counts["a"] > 120
    assert counts["b"] > 120
    # LiteLLM's rule: once any candidate has a weight, one without it gets weight 0.
    mixed = Router({"g": [dep("a"), dep("b", weight=1)]}, seed=3)
    assert set(await picks(mixed, 50)) == {"b"}


async def test_seeded_shuffles_repeat() -> None:
    def build() -> Router:
        return Router({"g": [dep("a"), dep("b"), dep("c")]}, seed=11)

    assert await picks(build(), 30) == await picks(build(), 30)


async def test_least_busy_goes_where_fewest_calls_are_in_flight() -> None:
    release = asyncio.Event()

    async def slow(messages: list[Message], options: ChatOptions) -> str:
        await release.wait()
        return "slow"

    a = Deployment(FunctionModel(slow, name="a"), id="a")
    router = Router({"g": [a, dep("b")]}, strategy="least-busy")
    model = router.model("g")
    pending = asyncio.create_task(model.chat("hi"))
    await asyncio.sleep(0)  # the first call is now in flight on "a"
    assert [where(await model.chat("hi")) for _ in range(3)] == ["b", "b", "b"]
    release.set()
    assert where(await pending) == "a"
    assert where(await model.chat("hi")) == "a"  # nothing in flight: the first one


async def test_lowest_latency_measures_each_then_prefers_the_fastest() -> None:
    clock = Clock()

    def taking(seconds: float, name: str) -> Deployment:
        def fn(messages: list[Message], options: ChatOptions) -> str:
            clock.now += seconds
            return name

        return Deployment(FunctionModel(fn, name=name), id=name)

    router = Router(
        {"g": [taking(5.0, "slow"), taking(1.0, "fast"), taking(3.0, "mid")]},
        strategy="lowest-latency",
        clock=clock,
    )
    # Each unmeasured one first, then the fastest, and it stays the fastest.
    assert await picks(router, 6) == ["slow", "fast", "mid", "fast", "fast", "fast"]


async def test_usage_based_picks_the_fewest_tokens_this_minute() -> None:
    clock = Clock()
    state = MemoryRouterState(clock=clock)
    router = Router(
        {
            "g": [
                dep("big", [answer("big", total=100)]),
                dep("small", [answer("small", total=30)]),
            ]
        },
        strategy="usage-based",
        state=state,
    )
    # big: 100 after one call; small: 30, 60, 90, 120 (90 < 100) -> then big again.
    assert await picks(router, 6) == ["big", "small", "small", "small", "small", "big"]
    assert await state.get_many(["tokens:big", "tokens:small"]) == [200, 120]
    clock.now = 61.0  # a new minute: counts start again
    assert await state.get_many(["tokens:big", "tokens:small"]) == [0, 0]


async def test_cost_based_picks_the_cheapest_and_unknown_prices_last() -> None:
    router = Router(
        {
            "g": [
                dep("unknown"),
                dep("dear", prices=Prices(input=5.0, output=15.0)),
                dep("cheap", prices=Prices(input=0.1, output=0.4)),
            ]
        },
        strategy="cost-based",
        retry=NO_WAIT,
    )
    assert await picks(router, 3) == ["cheap", "cheap", "cheap"]
    await router.failed(router.deployments("g")[2], ServerError("x", status_code=429))
    assert await picks(router, 2) == ["dear", "dear"]


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_every_strategy_honours_order_first(strategy: str) -> None:
    router = Router(
        {
            "g": [
                dep("later", order=2),
                dep("none"),
                dep("first", order=1),
                dep("also-first", order=1),
            ]
        },
        strategy=strategy,
        seed=5,
    )
    assert set(await picks(router, 20)) <= {"first", "also-first"}


async def test_order_moves_on_when_the_first_fails_or_is_limited() -> None:
    clock = Clock()
    first = dep("first", [ServerError("down")], order=1)
    router = Router(
        {"g": [dep("none"), dep("second", order=2, rpm=1), first]},
        retry=NO_WAIT,
        buckets=MemoryBuckets(clock=clock),
        cooldown_seconds=0,
    )
    # "first" fails: the retry goes to order 2, then (its rpm spent) to the unordered one.
    assert where(await router.model("g").chat("hi")) == "second"
    routed = await router.route("g", lambda d: d.chat_model.chat("hi"))
    assert routed.deployment.id == "none"
    assert routed.tries == 2
    assert len(first.chat_model.calls) == 2  # type: ignore[attr-defined]


async def test_a_retry_prefers_a_deployment_not_tried_yet() -> None:
    bad = [MockModel([ServerError("down")], repeat_last=True, name=n) for n in "abc"]
    router = Router(
        {"g": [Deployment(m, id=m.model_info.name) for m in bad] + [dep("good")]},
        strategy="round-robin",
        retry=RetryPolicy(max_retries=3, initial_delay=0, jitter=False),
        cooldown_seconds=0,
    )
    routed = await router.route("g", lambda d: d.chat_model.chat("hi"))
    assert routed.deployment.id == "good"
    assert routed.tries == 4
    assert [len(m.calls) for m in bad] == [1, 1, 1]
