"""`cost_of()`: USD from the catalog's prices, cached tokens at the cached price, None
when a price it needs is missing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import conduit
from conduit.catalog import CatalogEntry, cost_of, find_model, reload_catalog
from conduit.core.protocols import Capabilities
from conduit.errors import ValidationError
from conduit.schema import Usage


@pytest.fixture(autouse=True)
def catalog_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CONDUIT_CACHE_DIR", str(tmp_path))
    reload_catalog()
    yield
    reload_catalog()


def _entry(**prices: float | None) -> CatalogEntry:
    return CatalogEntry("acme", "m", "chat", Capabilities(), **prices)  # type: ignore[arg-type]


def test_input_and_output_at_their_prices() -> None:
    # gpt-4o: $2.50 in, $10 out per million tokens.
    usage = Usage(input_tokens=1_000_000, output_tokens=500_000)
    assert cost_of("openai/gpt-4o", usage) == pytest.approx(2.5 + 5.0)
    assert cost_of("openai/gpt-4o-2024-08-06", usage) == cost_of("openai/gpt-4o", usage)
    assert conduit.cost_of("openai/gpt-4o", usage) == pytest.approx(7.5)


def test_cached_input_at_the_cached_price() -> None:
    # gpt-4.1: $2 in, $0.50 cached, $8 out; OpenAI counts cached tokens inside input.
    usage = Usage(input_tokens=1_000_000, cache_read_tokens=600_000, output_tokens=100_000)
    expected = (400_000 * 2.0 + 600_000 * 0.5 + 100_000 * 8.0) / 1_000_000
    assert cost_of("openai/gpt-4.1", usage) == pytest.approx(expected)


def test_anthropic_cache_writes_at_the_write_price() -> None:
    # claude-sonnet-4-5: $3 in, $0.30 cache hit, $3.75 5-minute cache write, $15 out.
    usage = Usage(
        input_tokens=10_000,  # the whole prompt, as Conduit normalizes Anthropic's usage
        cache_read_tokens=6_000,
        cache_creation_tokens=3_000,
        output_tokens=2_000,
    )
    expected = (1_000 * 3.0 + 6_000 * 0.3 + 3_000 * 3.75 + 2_000 * 15.0) / 1_000_000
    assert cost_of("anthropic/claude-sonnet-4-5", usage) == pytest.approx(expected)


def test_missing_cache_prices_fall_back_to_the_input_price() -> None:
    # gemini-2.5-flash has no confirmed cached price: cached tokens cost full input price.
    usage = Usage(input_tokens=1_000_000, cache_read_tokens=500_000)
    assert cost_of("gemini/gemini-2.5-flash", usage) == pytest.approx(0.3)
    assert _entry(input_price=1.0, output_price=2.0).cost(
        Usage(input_tokens=100, cache_creation_tokens=100)
    ) == pytest.approx(100 / 1_000_000)


def test_embeddings_cost_input_only() -> None:
    usage = Usage(input_tokens=1_000_000)
    assert cost_of("openai/text-embedding-3-large", usage) == pytest.approx(0.13)
    # an embedder has no output price: any output tokens make the cost unknown
    assert cost_of("openai/text-embedding-3-large", Usage(output_tokens=1)) is None


@pytest.mark.parametrize(
    "ref",
    [
        "mistral/mistral-large-latest",  # listed, no confirmed price
        "gemini/gemini-2.0-flash",  # retired, no price recorded
        "openai/gpt-99",  # not in the catalog
        "ollama/llama3.2",
        "nobody/model",  # unknown provider: no price, no error
    ],
)
def test_no_price_is_none(ref: str) -> None:
    assert cost_of(ref, Usage(input_tokens=10, output_tokens=10)) is None


def test_local_models_are_free() -> None:
    usage = Usage(input_tokens=12_345, output_tokens=678, cache_read_tokens=100)
    assert cost_of("local/default", usage) == 0.0
    assert cost_of("local/all-minilm-l6-v2", Usage(input_tokens=99)) == 0.0


def test_zero_usage_costs_nothing_when_priced() -> None:
    assert cost_of("openai/gpt-4o", Usage()) == 0.0
    assert _entry().cost(Usage()) is None


def test_cache_counts_beyond_the_input_do_not_go_negative() -> None:
    entry = _entry(input_price=1.0, cached_input_price=0.5, output_price=1.0)
    usage = Usage(input_tokens=10, cache_read_tokens=20)
    assert entry.cost(usage) == pytest.approx(20 * 0.5 / 1_000_000)


def test_partial_prices() -> None:
    output_only = _entry(output_price=4.0)
    assert output_only.cost(Usage(output_tokens=1_000_000)) == pytest.approx(4.0)
    assert output_only.cost(Usage(input_tokens=1)) is None
    assert _entry(input_price=1.0).cost(Usage(input_tokens=1, output_tokens=1)) is None


def test_summed_usage_and_malformed_refs() -> None:
    total = Usage(input_tokens=500_000, output_tokens=100) + Usage(input_tokens=500_000)
    assert cost_of("openai/gpt-4o-mini", total) == pytest.approx(0.15 + 100 * 0.6 / 1e6)
    with pytest.raises(ValidationError):
        cost_of("gpt-4o", Usage())


def test_catalog_prices_are_what_cost_uses() -> None:
    entry = find_model("anthropic/claude-haiku-4-5")
    assert entry is not None
    assert entry.cost(Usage(input_tokens=1_000_000, output_tokens=1_000_000)) == pytest.approx(
        entry.input_price + entry.output_price  # type: ignore[operator]
    )
