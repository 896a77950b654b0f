"""Cost: priced answers, the callback, unknown prices, cache hits, the default pricing."""

from __future__ import annotations

import sys
import types

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


async def test_cost_goes_into_the_metadata_and_the_callback() -> None:
    records: list[CostRecord] = []
    model = with_interceptors(MockModel([ANSWER]), [Cost(catalog_like, on_cost=records.append)])
    response = await model.chat("hi")
    expected = (800 + 20 + 2000) / 1e6
    assert response.metadata["cost_usd"] == pytest.approx(expected)
    assert records == [
        CostRecord("fake/mock", ANSWER.usage, response.metadata["cost_usd"], False, "resp-1")
    ]


async def test_an_async_callback_and_streams() -> None:
    records: list[CostRecord] = []

    async def on_cost(record: CostRecord) -> None:
        records.append(record)

    model = with_interceptors(MockModel([ANSWER]), [Cost(catalog_like, on_cost=on_cost)])
    events = [e async for e in model.stream("hi")]
    assert events[-1].response.metadata["cost_usd"] > 0  # type: ignore[union-attr]
    assert len(records) == 1


async def test_unknown_prices_give_none() -> None:
    records: list[CostRecord] = []
    model = with_interceptors(
        MockModel([ANSWER], name="other"), [Cost(catalog_like, on_cost=records.append)]
    )
    assert (await model.chat("hi")).metadata["cost_usd"] is None
    assert records[0].cost_usd is None


async def test_a_cache_hit_costs_nothing() -> None:
    records: list[CostRecord] = []
    model = with_interceptors(
        MockModel([ANSWER]), [Cost(catalog_like, on_cost=records.append), Cache()]
    )
    await model.chat("hi")
    hit = await model.chat("hi")
    assert hit.metadata["cost_usd"] == 0.0
    assert [r.cached for r in records] == [False, True]


async def test_errors_cost_nothing_here() -> None:
    records: list[CostRecord] = []
    model = with_interceptors(
        MockModel([ServerError("x")]), [Cost(catalog_like, on_cost=records.append)]
    )
    with pytest.raises(ServerError):
        await model.chat("hi")
    assert records == []


def test_default_pricing_without_cost_of_in_the_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_catalog = types.ModuleType("conduit.catalog")
    monkeypatch.setitem(sys.modules, "conduit.catalog", fake_catalog)
    assert default_pricing("openai/gpt-4o-mini", Usage(input_tokens=1)) is None


async def test_default_pricing_looks_up_the_catalog_at_call_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_catalog = types.ModuleType("conduit.catalog")
    fake_catalog.cost_of = lambda ref, usage: 0.25  # type: ignore[attr-defined]
    model = with_interceptors(MockModel([ANSWER]), [Cost()])
    monkeypatch.setitem(sys.modules, "conduit.catalog", fake_catalog)
    assert (await model.chat("hi")).metadata["cost_usd"] == 0.25


async def test_the_default_is_the_catalogs_prices() -> None:
    from conduit.catalog import cost_of
    from conduit.core.protocols import ModelInfo

    upstream = MockModel([ANSWER])
    upstream._info = ModelInfo(provider="openai", name="gpt-4o-mini")
    response = await with_interceptors(upstream, [Cost()]).chat("hi")
    expected = cost_of("openai/gpt-4o-mini", ANSWER.usage)
    assert expected is not None
    assert expected > 0
    assert response.metadata["cost_usd"] == expected
