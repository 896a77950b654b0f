"""Cost: priced answers, the callback, unknown prices, cache hits, the default pricing."""

from __future__ import annotations

import pytest

from conduit.errors import ServerError
from conduit.interceptors import Cache, Cost, CostRecord, default_pricing, with_interceptors
from conduit.providers.fake import MockModel
from conduit.schema import Response, Usage

ANSWER = Response(
    id="resp-1",
    usage=Usage(input_tokens=1000, output_tokens=500, cache_read_tokens=200),
    stop_reason="end_turn",
)


def catalog_like(ref: str, usage: Usage) -> float | None:
    """$1/M input, $4/M output, cached input at a tenth."""
    if ref != "fake/mock":
        return None
    fresh = usage.input_tokens - usage.cache_read_tokens
    return (fresh * 1.0 + usage.cache_read_tokens * 0.1 + usage.output_tokens * 4.0) / 1e6


async def test_cost_goes_into_the_answer_and_the_callback() -> None:
    records: list[CostRecord] = []
    model = with_interceptors(MockModel([ANSWER]), [Cost(catalog_like, on_cost=records.append)])
    response = await model.chat("hi")
    expected = (800 + 20 + 2000) / 1e6
    assert response.cost == pytest.approx(expected)
    assert records == [CostRecord("fake/mock", ANSWER.usage, response.cost, False, "resp-1")]


async def test_an_async_callback_and_streams() -> None:
    records: list[CostRecord] = []

    async def on_cost(record: CostRecord) -> None:
        records.append(record)

    model = with_interceptors(MockModel([ANSWER]), [Cost(catalog_like, on_cost=on_cost)])
    events = [e async for e in model.stream("hi")]
    assert events[-1].response.cost > 0  # type: ignore[union-attr]
    assert len(records) == 1


async def test_unknown_prices_give_none() -> None:
    records: list[CostRecord] = []
    model = with_interceptors(
        MockModel([ANSWER], name="other"), [Cost(catalog_like, on_cost=records.append)]
    )
    assert (await model.chat("hi")).cost is None
    assert records[0].cost_usd is None


async def test_a_cache_hit_costs_nothing() -> None:
    records: list[CostRecord] = []
    model = with_interceptors(
        MockModel([ANSWER]), [Cost(catalog_like, on_cost=records.append), Cache()]
    )
    await model.chat("hi")
    hit = await model.chat("hi")
    assert hit.cost == 0.0
    assert [r.cached for r in records] == [False, True]


async def test_errors_cost_nothing_here() -> None:
    records: list[CostRecord] = []
    model = with_interceptors(
        MockModel([ServerError("x")]), [Cost(catalog_like, on_cost=records.append)]
    )
    with pytest.raises(ServerError):
        await model.chat("hi")
    assert records == []


def test_default_pricing_is_the_catalogs() -> None:
    assert default_pricing("nobody/unknown", Usage(input_tokens=1)) is None
    assert default_pricing("openai/gpt-4o-mini", Usage(input_tokens=1_000_000)) == 0.15


async def test_a_priced_model_keeps_its_own_cost_and_custom_pricing_replaces_it() -> None:
    priced = ANSWER.model_copy(update={"cost": 0.5})
    model = with_interceptors(MockModel([priced]), [Cost()])
    assert (await model.chat("hi")).cost == 0.5
    custom = with_interceptors(MockModel([priced]), [Cost(lambda ref, usage: 0.01)])
    assert (await custom.chat("hi")).cost == 0.01


async def test_the_default_is_the_catalogs_prices() -> None:
    from conduit.catalog import cost_of
    from conduit.core.protocols import ModelInfo

    upstream = MockModel([ANSWER])
    upstream._info = ModelInfo(provider="openai", name="gpt-4o-mini")
    response = await with_interceptors(upstream, [Cost()]).chat("hi")
    expected = cost_of("openai/gpt-4o-mini", ANSWER.usage)
    assert expected is not None
    assert expected > 0
    assert response.cost == expected
