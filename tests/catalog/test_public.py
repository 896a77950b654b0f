"""The catalog's breadth: the generated data converted from LiteLLM's public model map
(`conduit.catalog.public`, `scripts/build_catalog.py`), merged under the curated file."""

from __future__ import annotations

import asyncio
import datetime
import json
import subprocess
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from conduit.api import resolve_ref
from conduit.catalog import cost_of, find_model, model_info, models, reload_catalog
from conduit.catalog.public import (
    GENERATED_FILE,
    LISTED,
    PROVIDERS,
    conduit_provider,
    convert_model_map,
    generated_entries,
    refresh_public_catalog,
)
from conduit.errors import ValidationError
from conduit.providers.registry import get_provider
from conduit.schema import Usage

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CONDUIT_CACHE_DIR", str(tmp_path))
    reload_catalog()
    yield tmp_path
    reload_catalog()


def _packaged() -> dict:  # type: ignore[type-arg]
    text = resources.files("conduit.catalog").joinpath(GENERATED_FILE).read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def test_the_generated_file_says_where_it_comes_from_and_when() -> None:
    data = _packaged()
    assert "MIT" in data["source"]
    assert "litellm" in data["source"]
    assert datetime.date.fromisoformat(data["generated"]) <= datetime.date.today()
    assert data["columns"][:3] == ["provider", "name", "kind"]
    assert len(data["models"]) > 2000  # thousands of models, not hand-typed rows
    entries = generated_entries(data, "packaged")
    assert {e.kind for e in entries} == {"chat", "embedding"}
    for entry in entries:
        assert entry.checked == datetime.date.fromisoformat(data["generated"])
        assert entry.source
        for price in (entry.input_price, entry.output_price, entry.cached_input_price):
            assert price is None or price >= 0
        if entry.cached_input_price is not None and entry.input_price is not None:
            assert entry.cached_input_price <= entry.input_price


def test_every_listed_provider_is_one_conduit_calls() -> None:
    for name in LISTED | set(PROVIDERS.values()):
        assert get_provider(name).name == name


def test_the_data_file_ships_in_the_wheel() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", f"src/conduit/catalog/{GENERATED_FILE}"], cwd=ROOT
    )
    assert ignored.returncode == 1  # not ignored: hatch packs all of src/conduit


def test_curated_entries_win_over_generated_ones() -> None:
    curated = find_model("openai/gpt-4o")
    assert curated is not None
    assert curated.source
    assert "developers.openai.com" in curated.source
    assert curated.checked != datetime.date.fromisoformat(_packaged()["generated"])
    # an alias of a curated entry is not shadowed by a generated entry of that name
    assert find_model("openai/gpt-4o-2024-08-06") is curated


def test_models_outside_the_curated_file_are_known() -> None:
    for ref in ("openai/gpt-3.5-turbo", "openai/gpt-4", "anthropic/claude-opus-4-6"):
        entry = find_model(ref)
        assert entry is not None, ref
        assert entry.input_price is not None, ref
        assert model_info(ref).context_window, ref
    assert cost_of("openai/gpt-4", Usage(input_tokens=1000, output_tokens=1000)) > 0
    assert model_info("openai/gpt-3.5-turbo").capabilities.tools


@pytest.mark.parametrize(
    ("bare", "ref"),
    [
        ("gpt-4o", "openai/gpt-4o"),  # azure, aggregators list it too: the vendor wins
        ("gpt-3.5-turbo", "openai/gpt-3.5-turbo"),
        ("gpt-4", "openai/gpt-4"),
        ("claude-sonnet-4-5", "anthropic/claude-sonnet-4-5"),
        ("gemini-2.5-flash", "gemini/gemini-2.5-flash"),  # vertex resells it
        ("mistral-large-latest", "mistral/mistral-large-latest"),
    ],
)
def test_bare_names_resolve_to_the_vendor(bare: str, ref: str) -> None:
    assert resolve_ref(bare) == ref


def test_providers_conduit_cannot_call_are_facts_only() -> None:
    every = models(all_providers=True)
    listed = models()
    assert len(every) > len(listed)
    facts = {e.provider for e in every} - {e.provider for e in listed}
    assert "fireworks_ai" in facts
    assert "azure" in facts
    fact = next(e for e in every if e.provider == "fireworks_ai" and e.input_price)
    assert find_model(fact.ref) is fact  # found and priced, not listed
    assert cost_of(fact.ref, Usage(input_tokens=10)) is not None


def test_provider_names_are_translated() -> None:
    assert conduit_provider("vertex_ai-language-models") == "vertex"
    assert conduit_provider("vertex_ai-anthropic_models") == "vertex-anthropic"
    assert conduit_provider("together_ai") == "together"
    assert conduit_provider("cohere_chat") == "cohere"
    assert conduit_provider("one of https://docs.litellm.ai") is None


def test_conversion_keeps_chat_and_embeddings_in_conduit_units() -> None:
    raw = {
        "sample_spec": {"litellm_provider": "one of https://...", "mode": "chat"},
        "gpt-x": {
            "litellm_provider": "openai",
            "mode": "chat",
            "max_input_tokens": 1000,
            "max_output_tokens": 100,
            "input_cost_per_token": 2e-06,
            "output_cost_per_token": 8e-06,
            "cache_read_input_token_cost": 5e-07,
            "supports_function_calling": True,
            "supports_vision": True,
            "deprecation_date": "2020-01-01",
        },
        "azure/eu/gpt-x": {"litellm_provider": "azure", "mode": "chat"},  # a region variant
        "dall-e-9": {"litellm_provider": "openai", "mode": "image_generation"},
        "vertex_ai/emb": {"litellm_provider": "vertex_ai-embedding-models", "mode": "embedding"},
    }
    data = convert_model_map(raw, source="test", generated=datetime.date(2026, 1, 1))
    entries = {e.ref: e for e in generated_entries(data, "test")}
    assert set(entries) == {"openai/gpt-x", "vertex/emb"}
    gpt = entries["openai/gpt-x"]
    assert (gpt.input_price, gpt.output_price, gpt.cached_input_price) == (2.0, 8.0, 0.5)
    assert (gpt.context_window, gpt.max_output_tokens, gpt.status) == (1000, 100, "deprecated")
    assert gpt.capabilities.tools
    assert gpt.capabilities.vision
    assert not gpt.capabilities.audio
    assert entries["vertex/emb"].kind == "embedding"
    assert not entries["vertex/emb"].capabilities.tools
    with pytest.raises(ValidationError, match="generated model catalog"):
        generated_entries({"generated": "2026-01-01", "models": [["x"]]}, "broken")


def test_a_refreshed_copy_is_preferred_while_newer(cache_dir: Path) -> None:
    source = cache_dir / "map.json"
    source.write_text(
        json.dumps(
            {
                "gpt-4o-mini": {"litellm_provider": "openai", "mode": "chat"},
                "brand-new-model": {
                    "litellm_provider": "openai",
                    "mode": "chat",
                    "input_cost_per_token": 1e-06,
                },
            }
        ),
        encoding="utf-8",
    )
    later = datetime.date.today() + datetime.timedelta(days=1)
    count = asyncio.run(
        refresh_public_catalog(str(source), cache_dir / GENERATED_FILE, today=later)
    )
    assert count == 2
    reload_catalog()
    assert find_model("openai/brand-new-model") is not None
    assert find_model("openai/gpt-4o-mini") is not None  # curated, still there
    assert find_model("openai/gpt-3.5-turbo") is None  # the refreshed copy replaces the packaged
    with pytest.raises(ValidationError, match="cannot read the public model map"):
        asyncio.run(refresh_public_catalog(str(cache_dir / "nope.json"), cache_dir / "x.json"))


def test_the_converter_script_rebuilds_the_same_file(tmp_path: Path) -> None:
    data = _packaged()
    out = tmp_path / GENERATED_FILE
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "build_catalog.py"),
            "--output",
            str(out),
            "--date",
            data["generated"],
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text("utf-8")) == data


def test_models_update_refreshes_the_generated_part(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conduit.catalog.refresh import refresh_catalog

    source = cache_dir / "map.json"
    source.write_text(
        json.dumps({"fresh-model": {"litellm_provider": "openai", "mode": "chat"}}), "utf-8"
    )
    monkeypatch.setenv("CONDUIT_CATALOG_DATA_URL", str(source))
    later = datetime.date.today() + datetime.timedelta(days=1)
    assert asyncio.run(refresh_catalog([], cache_dir / "models.toml", today=later)) == []
    assert find_model("openai/fresh-model") is not None
    monkeypatch.setenv("CONDUIT_CATALOG_DATA_URL", str(cache_dir / "missing.json"))
    asyncio.run(refresh_catalog([], cache_dir / "models.toml", today=later))  # logged only
