"""Budget: reserve the worst case, settle the real cost, release on failure, pay for
what a stream delivered; no number of concurrent callers passes a limit, on memory,
SQLite, PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from conduit.core.protocols import ModelInfo
from conduit.errors import BudgetExceededError, ServerError, ValidationError
from conduit.interceptors import Budget, Cache, Retry, with_interceptors
from conduit.interceptors.budget import DEFAULT_OUTPUT_TOKENS, input_tokens
from conduit.providers.fake import FunctionModel, MockModel
from conduit.schema import (
    ChatOptions,
    Message,
    Prices,
    Response,
    TextBlock,
    Usage,
    UsageEvent,
    user,
)
from conduit.storage import (
    MemorySpendStore,
    PostgresSpendStore,
    RedisSpendStore,
    Reservation,
    SpendLimit,
    SpendStore,
    SQLiteSpendStore,
)
from tests.support.postgres_server import postgres_server

# $10 per million output tokens: 1,000 output tokens cost $0.01; input is free.
TEN_PER_MILLION_OUT = Prices(input=0.0, output=10.0)


class Priced(FunctionModel):
    """A FunctionModel the catalog would price: its answers carry `Response.cost`."""

    def __init__(self, fn: Any, prices: Prices | None, max_output_tokens: int | None = None,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(fn, **kwargs)
        self._priced = replace(
            super().model_info, prices=prices, max_output_tokens=max_output_tokens
        )

    @property
    def model_info(self) -> ModelInfo:
        return self._priced


def answer(output_tokens: int, text: str = "ok") -> Response:
    return Response(
        content=[TextBlock(text=text)],
        stop_reason="end_turn",
        usage=Usage(input_tokens=1, output_tokens=output_tokens),
    )


# -- the promise, on every backend ------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite", "postgres", "redis"])
async def two_stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[SpendStore, SpendStore]]:
    """Two store objects on one backing (memory: one store): two processes' worth."""
    stores: list[SpendStore]
    if request.param == "memory":
        one = MemorySpendStore()
        stores = [one, one]
    elif request.param == "sqlite":
        stores = [SQLiteSpendStore(tmp_path / "spend.sqlite3") for _ in range(2)]
    elif request.param == "postgres":
        dsn = await postgres_server().new_database()
        stores = [PostgresSpendStore(dsn, max_size=5) for _ in range(2)]
    else:
        url = request.getfixturevalue("redis_server").url
        prefix = f"b{uuid.uuid4().hex[:8]}:"
        stores = [RedisSpendStore(url=url, prefix=prefix) for _ in range(2)]
    yield stores[0], stores[1]
    for store in {id(s): s for s in stores}.values():
        await store.aclose()


async def test_fifty_concurrent_calls_never_pass_the_budget(
    two_stores: tuple[SpendStore, SpendStore],
) -> None:
    """$0.10; fifty calls of $0.01 worst case (and real cost): ten are answered, forty
    refused before anything is sent, and the spend is $0.10."""
    cap = SpendLimit("key", "k1", max_usd=0.10, window=86_400)
    upstream = Priced(lambda m, o: answer(1000), TEN_PER_MILLION_OUT, max_output_tokens=1000)
    models = [with_interceptors(upstream, [Budget(store, [cap])]) for store in two_stores]

    async def call(i: int) -> BudgetExceededError | Response:
        try:
            return await models[i % 2].chat("hi")
        except BudgetExceededError as exc:
            return exc

    results = await asyncio.gather(*(call(i) for i in range(50)))
    refused = [r for r in results if isinstance(r, BudgetExceededError)]
    assert len(refused) == 40
    assert sum(isinstance(r, Response) for r in results) == 10
    for exc in refused:
        assert (exc.scope, exc.name, exc.limit) == ("key", "k1", 0.10)
        assert exc.spent is not None
        assert exc.spent <= 0.10 + 1e-9
    assert len(upstream.calls) == 10  # a refused call sends nothing
    for store in two_stores:
        assert await store.spent(cap) == pytest.approx(0.10)


async def test_unused_headroom_goes_back_at_once(
    two_stores: tuple[SpendStore, SpendStore],
) -> None:
    """Worst case $0.05, real cost $0.01: each answer leaves only $0.01 spent, so six
    calls fit a $0.10 budget that holds two worst cases at a time."""
    store = two_stores[0]
    cap = SpendLimit("user", "alice", max_usd=0.10)
    upstream = Priced(lambda m, o: answer(1000), TEN_PER_MILLION_OUT)
    model = with_interceptors(upstream, [Budget(store, [cap], max_output_tokens=5000)])
    await model.chat("hi")
    assert await store.spent(cap) == pytest.approx(0.01)
    for _ in range(5):
        await model.chat("hi")
    assert await store.spent(cap) == pytest.approx(0.06)
    with pytest.raises(BudgetExceededError):
        await model.chat("hi")  # 0.06 + a worst case of 0.05 > 0.10
    assert await store.spent(cap) == pytest.approx(0.06)
    await model.chat("hi", max_tokens=1000)  # a shorter worst case still fits
    assert await store.spent(cap) == pytest.approx(0.07)
    assert len(upstream.calls) == 7


# -- reserve: the worst case ------------------------------------------------------------------


async def held_during_call(budget: Budget, model: Any, **options: Any) -> float:
    """What the budget held while the model ran."""
    seen: list[float] = []
    cap = budget.limits[0]

    async def fn(messages: list[Message], opts: ChatOptions) -> Response:
        seen.append(await budget.store.spent(cap))
        return Response(usage=Usage(), cost=0.0)

    model.fn = fn
    await with_interceptors(model, [budget]).chat("x" * 4000, **options)
    return seen[0]


async def test_the_worst_case_uses_the_longest_answer_that_can_come() -> None:
    prices = Prices(input=1.0, output=10.0)  # $ per million tokens
    cap = SpendLimit("global", "*", max_usd=100.0)
    model = Priced(None, prices, max_output_tokens=2000)
    inputs = 1000  # 4,000 characters
    store = MemorySpendStore()

    def worst(out: int) -> float:
        return (inputs * 1.0 + out * 10.0) / 1e6

    budget = Budget(store, [cap], max_output_tokens=500)
    assert await held_during_call(budget, model, max_tokens=50) == pytest.approx(worst(50))
    assert await held_during_call(budget, model) == pytest.approx(worst(500))
    assert await held_during_call(Budget(store, [cap]), model) == pytest.approx(worst(2000))
    bare = Priced(None, prices)
    expected = worst(DEFAULT_OUTPUT_TOKENS)
    assert await held_during_call(Budget(store, [cap]), bare) == pytest.approx(expected)
    # Prices given to the Budget win over the model's (and price an unpriced model).
    mine = Budget(store, [cap], prices=Prices(input=0.0, output=1.0), max_output_tokens=10)
    assert await held_during_call(mine, model) == pytest.approx(10 / 1e6)


def test_the_input_estimate_counts_text_and_tool_call_arguments() -> None:
    from conduit.schema import FunctionCall, ToolCall, assistant

    call = ToolCall(id="c1", function=FunctionCall.from_raw("add", '{"a": 1}'))
    messages = [user("abcd" * 10), assistant("", tool_calls=[call])]
    assert input_tokens(messages) == math.ceil((40 + len(call.function.raw_arguments)) / 4)
    assert input_tokens([user(TextBlock(text="1234"), TextBlock(text="5678"))]) == 2


async def test_unknown_prices_reserve_nothing_but_a_spent_limit_still_refuses() -> None:
    store = MemorySpendStore()
    cap = SpendLimit("key", "k", max_usd=0.05)
    model = with_interceptors(MockModel(["ok"], repeat_last=True), [Budget(store, [cap])])
    await model.chat("hi")
    assert await store.spent(cap) == 0.0  # no prices: nothing to count
    await store.settle(await store.reserve([cap], 0.05), 0.05)  # spent elsewhere
    with pytest.raises(BudgetExceededError):
        await model.chat("hi")


# -- settle, release ----------------------------------------------------------------------------


async def test_a_failed_call_is_released_and_a_retried_one_pays_once() -> None:
    store = MemorySpendStore()
    cap = SpendLimit("key", "k", max_usd=1.0)
    budget = Budget(store, [cap], max_output_tokens=1000)
    failing = Priced(lambda m, o: ServerError("down"), TEN_PER_MILLION_OUT)
    with pytest.raises(ServerError):
        await with_interceptors(failing, [budget]).chat("hi")
    assert await store.spent(cap) == 0.0
    replies = iter([ServerError("busy"), answer(300)])
    flaky = Priced(lambda m, o: next(replies), TEN_PER_MILLION_OUT)
    response = await with_interceptors(flaky, [Retry(initial_delay=0), budget]).chat("hi")
    assert response.metadata["attempts"] == 2
    assert await store.spent(cap) == pytest.approx(0.003)


async def test_a_cancelled_call_is_released() -> None:
    store = MemorySpendStore()
    cap = SpendLimit("key", "k", max_usd=1.0)
    started = asyncio.Event()

    async def hang(messages: list[Message], options: ChatOptions) -> Response:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError  # pragma: no cover

    model = with_interceptors(Priced(hang, TEN_PER_MILLION_OUT), [Budget(store, [cap])])
    task = asyncio.create_task(model.chat("hi"))
    await started.wait()
    assert await store.spent(cap) > 0
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await store.spent(cap) == 0.0


async def test_a_cache_hit_costs_nothing() -> None:
    store = MemorySpendStore()
    cap = SpendLimit("key", "k", max_usd=1.0)
    upstream = Priced(lambda m, o: answer(1000), TEN_PER_MILLION_OUT)
    model = with_interceptors(upstream, [Budget(store, [cap]), Cache()])
    await model.chat("hi")
    hit = await model.chat("hi")
    assert hit.metadata["cache_hit"] is True
    assert await store.spent(cap) == pytest.approx(0.01)


async def test_explicit_prices_price_an_answer_the_model_did_not() -> None:
    store = MemorySpendStore()
    cap = SpendLimit("key", "k", max_usd=1.0)
    budget = Budget(store, [cap], prices=TEN_PER_MILLION_OUT, max_output_tokens=1000)
    model = with_interceptors(FunctionModel(lambda m, o: answer(500)), [budget])
    await model.chat("hi")
    assert await store.spent(cap) == pytest.approx(0.005)


# -- streams --------------------------------------------------------------------------------


def streaming(pieces: list[str | UsageEvent], prices: Prices) -> Priced:
    async def stream_fn(messages: list[Message], options: ChatOptions) -> AsyncIterator[Any]:
        for piece in pieces:
            yield piece
            await asyncio.sleep(0)

    return Priced(lambda m, o: "", prices, stream_fn=stream_fn)


async def test_a_stream_closed_early_pays_for_what_it_delivered() -> None:
    store = MemorySpendStore()
    cap = SpendLimit("key", "k", max_usd=1.0)
    prices = Prices(input=1000.0, output=2000.0)  # $0.001 / $0.002 per thousand
    model = with_interceptors(
        streaming(["aaaa"] * 50, prices), [Budget(store, [cap], max_output_tokens=100)]
    )
    stream = model.stream("hi")  # 1 input token (estimated)
    seen = 0
    async for _ in stream:
        seen += 1
        if seen == 2:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    # 8 characters delivered: 2 output tokens, plus the 1 input token.
    assert await store.spent(cap) == pytest.approx((1 * 1000 + 2 * 2000) / 1e6)


async def test_a_stream_closed_early_pays_the_usage_the_model_reported() -> None:
    store = MemorySpendStore()
    cap = SpendLimit("key", "k", max_usd=1.0)
    prices = Prices(input=1000.0, output=2000.0)
    usage = UsageEvent(usage=Usage(input_tokens=100, output_tokens=30))
    model = with_interceptors(
        streaming([usage, "aaaa", "bbbb"], prices), [Budget(store, [cap], max_output_tokens=100)]
    )
    stream = model.stream("hi")
    async for event in stream:
        if not isinstance(event, UsageEvent):
            break
    await stream.aclose()  # type: ignore[attr-defined]
    assert await store.spent(cap) == pytest.approx((100 * 1000 + 30 * 2000) / 1e6)


async def test_a_finished_stream_settles_its_cost() -> None:
    store = MemorySpendStore()
    cap = SpendLimit("key", "k", max_usd=1.0)
    usage = UsageEvent(usage=Usage(input_tokens=10, output_tokens=20))
    model = with_interceptors(
        streaming(["hello", usage], Prices(input=1000.0, output=1000.0)),
        [Budget(store, [cap], max_output_tokens=100)],
    )
    async for _ in model.stream("hi"):
        pass
    assert await store.spent(cap) == pytest.approx(30 * 1000 / 1e6)


# -- limits from labels ------------------------------------------------------------------------


async def test_limits_come_from_the_calls_labels_and_never_reach_the_provider() -> None:
    store = MemorySpendStore()
    seen: list[dict[str, Any]] = []

    def per_user(labels: Any) -> list[SpendLimit]:
        seen.append(dict(labels))
        user_id = labels.get("user")
        return [SpendLimit("user", user_id, max_usd=0.015)] if user_id else []

    upstream = Priced(lambda m, o: answer(1000), TEN_PER_MILLION_OUT, max_output_tokens=1000)
    model = with_interceptors(upstream, [Budget(store, limits_for=per_user)])
    labels = {"labels": {"user": "alice", "tags": ["ci"]}}
    await model.chat("hi", extra=labels)
    with pytest.raises(BudgetExceededError) as info:
        await model.chat("hi", extra=labels)
    assert (info.value.scope, info.value.name) == ("user", "alice")
    await model.chat("hi", extra={"labels": {"user": "bob"}})
    await model.chat("hi")  # no labels: no limit applies
    assert seen[0] == {"user": "alice", "tags": ["ci"]}
    assert seen[-1] == {}
    assert all("labels" not in call.options.extra for call in upstream.calls)
    assert await store.spent(SpendLimit("user", "alice", 1.0)) == pytest.approx(0.01)


# -- a store that fails to settle --------------------------------------------------------------


async def test_a_settle_that_fails_does_not_fail_the_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken(MemorySpendStore):
        async def settle(self, reservation: Reservation, actual_usd: float) -> None:
            raise ConnectionError("store down")

    store = Broken()
    cap = SpendLimit("key", "k", max_usd=1.0)
    upstream = Priced(lambda m, o: answer(10), TEN_PER_MILLION_OUT, max_output_tokens=1000)
    with caplog.at_level(logging.WARNING, logger="conduit.interceptors.budget"):
        response = await with_interceptors(upstream, [Budget(store, [cap])]).chat("hi")
    assert response.text == "ok"
    assert "store down" in caplog.text
    assert await store.spent(cap) == pytest.approx(0.01)  # the hold stays: the safe side


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [math.nan, math.inf, -1, 0, True, 2.5, "10"])
def test_bad_settings_are_refused_naming_the_argument(value: Any) -> None:
    store = MemorySpendStore()
    with pytest.raises(ValidationError, match="max_output_tokens"):
        Budget(store, max_output_tokens=value)


def test_bad_stores_limits_and_prices_are_refused() -> None:
    store = MemorySpendStore()
    with pytest.raises(ValidationError, match="store"):
        Budget(None, [])  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="SpendLimit"):
        Budget(store, [("key", "k", 1.0)])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="prices"):
        Budget(store, prices={"input": 1.0})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="limits_for"):
        Budget(store, limits_for="user")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="max_usd"):
        Budget(store, [SpendLimit("key", "k", max_usd=math.nan)])
    assert repr(Budget(store, limits_for=lambda labels: [])) == (
        "Budget(MemorySpendStore(0 limits), 0 limits, limits_for=...)"
    )


async def test_limits_for_must_give_spend_limits() -> None:
    def wrong(labels: Any) -> list[Any]:
        return [{"scope": "user"}]

    model = with_interceptors(MockModel(), [Budget(MemorySpendStore(), limits_for=wrong)])
    with pytest.raises(ValidationError, match="SpendLimit"):
        await model.chat("hi")


async def test_incomplete_prices_reserve_nothing() -> None:
    store = MemorySpendStore()
    cap = SpendLimit("key", "k", max_usd=1.0)
    budget = Budget(store, [cap], prices=Prices(input=1.0))  # no output price: no worst case
    assert await held_during_call(budget, Priced(None, None)) == 0.0
    assert await store.spent(cap) == 0.0


async def test_no_limits_no_work() -> None:
    store = MemorySpendStore()
    model = with_interceptors(MockModel(["ok"]), [Budget(store, limits_for=lambda labels: [])])
    assert (await model.chat("hi")).text == "ok"
    assert repr(store) == "MemorySpendStore(0 limits)"
