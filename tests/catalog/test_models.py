"""The model catalog: the data file's own consistency, lookups, aliases, unknown names,
suggestions, validation and the user file merged over the packaged one."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

import conduit
from conduit.catalog import (
    CatalogEntry,
    catalog_providers,
    find_model,
    model_info,
    models,
    registry,
    reload_catalog,
    user_catalog_path,
    validate_model,
)
from conduit.catalog.registry import parse_entries, parse_providers, read_catalog_file
from conduit.core.protocols import Capabilities, ModelInfo
from conduit.errors import NotFoundError, ValidationError
from conduit.providers.registry import get_provider
from conduit.schema import Prices

ROOT = Path(__file__).resolve().parents[2]
CAPABILITY_NAMES = {"streaming", "tools", "vision", "audio", "json_mode", "json_schema"}


@pytest.fixture(autouse=True)
def catalog_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test reads the packaged catalog plus its own (empty) user file location."""
    monkeypatch.setenv("CONDUIT_CACHE_DIR", str(tmp_path))
    reload_catalog()
    yield tmp_path / "models.toml"
    reload_catalog()


def _packaged() -> dict[str, Any]:
    text = resources.files("conduit.catalog").joinpath("models.toml").read_text("utf-8")
    return tomllib.loads(text)


# --- the data file ---------------------------------------------------------------------


def test_every_entry_has_the_required_fields() -> None:
    for raw in _packaged()["models"]:
        where = f"{raw.get('provider')}/{raw.get('name')}"
        for key in ("provider", "name", "kind", "capabilities", "checked", "source"):
            assert key in raw, f"{where} lacks {key}"
        assert raw["kind"] in ("chat", "embedding"), where
        assert set(raw["capabilities"]) <= CAPABILITY_NAMES, where
        assert raw["source"].startswith("https://"), where
        if raw["kind"] == "embedding":
            assert raw["capabilities"] == [], where
            assert "output_price" not in raw, where


def test_checked_dates_parse_and_are_not_in_the_future() -> None:
    for raw in _packaged()["models"]:
        checked = raw["checked"]
        assert type(checked) is datetime.date, raw["name"]
        assert datetime.date(2025, 1, 1) <= checked <= datetime.date.today()


def test_prices_and_limits_are_sane() -> None:
    for raw in _packaged()["models"]:
        where = f"{raw['provider']}/{raw['name']}"
        for key in ("input_price", "output_price", "cached_input_price", "cache_write_price"):
            if key in raw:
                assert isinstance(raw[key], int | float), where
                assert raw[key] >= 0, where
        if "cached_input_price" in raw:
            assert raw["cached_input_price"] <= raw["input_price"], where
        if "output_price" in raw:
            assert "input_price" in raw, where
        for key in ("context_window", "max_output_tokens", "default_context_window"):
            if key in raw:
                assert isinstance(raw[key], int), where
                assert raw[key] > 0, where
        if "max_output_tokens" in raw and "context_window" in raw:
            assert raw["max_output_tokens"] <= raw["context_window"], where
        if "default_context_window" in raw:
            assert raw["default_context_window"] <= raw["context_window"], where


def test_no_duplicate_names_or_aliases_per_provider_and_kind() -> None:
    seen: dict[tuple[str, str, str], str] = {}
    for raw in _packaged()["models"]:
        for name in (raw["name"], *raw.get("aliases", [])):
            key = (raw["provider"], raw["kind"], name.lower())
            assert key not in seen, f"{key} is both {seen[key]} and {raw['name']}"
            seen[key] = raw["name"]


def test_every_provider_is_registered() -> None:
    data = _packaged()
    for name in {raw["provider"] for raw in data["models"]} | set(data["providers"]):
        assert get_provider(name).name == name


def test_the_packaged_file_parses_and_covers_the_brief() -> None:
    entries = parse_entries(_packaged(), "packaged")
    refs = {e.ref for e in entries}
    for ref in (
        "openai/gpt-4o",
        "openai/gpt-4o-mini",
        "openai/gpt-4.1",
        "openai/o3",
        "openai/o4-mini",
        "openai/gpt-5",
        "openai/text-embedding-3-small",
        "openai/text-embedding-3-large",
        "anthropic/claude-opus-4-1",
        "anthropic/claude-sonnet-4-5",
        "anthropic/claude-haiku-4-5",
        "gemini/gemini-2.5-pro",
        "gemini/gemini-2.5-flash",
        "gemini/gemini-2.5-flash-lite",
        "gemini/gemini-2.0-flash",
        "gemini/gemini-embedding-001",
        "local/smollm2-135m-instruct",
        "local/all-minilm-l6-v2",
    ):
        assert ref in refs, ref
    assert {e.provider for e in entries} >= {"groq", "xai", "mistral", "deepseek"}


def test_local_models_are_free_and_served_at_4096() -> None:
    entry = find_model("local/smollm2-135m-instruct")
    assert entry is not None
    assert (entry.context_window, entry.default_context_window) == (8192, 4096)
    assert (entry.input_price, entry.output_price) == (0.0, 0.0)
    assert model_info("local/default").context_window == 4096


def test_the_data_file_ships_in_the_wheel() -> None:
    """hatchling packs every file under src/conduit that git does not ignore."""
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "src/conduit/catalog/models.toml"], cwd=ROOT, check=False
    )
    assert ignored.returncode == 1  # not ignored
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["src/conduit"]


# --- lookups ---------------------------------------------------------------------------


def test_find_by_name_alias_and_case() -> None:
    assert find_model("openai/gpt-4o").name == "gpt-4o"  # type: ignore[union-attr]
    assert find_model("openai/gpt-4o-2024-11-20").name == "gpt-4o"  # type: ignore[union-attr]
    assert find_model("OpenAI/GPT-4o").name == "gpt-4o"  # type: ignore[union-attr]
    assert find_model("openai/gpt-4o-nope") is None
    assert find_model("nobody/gpt-4o") is None


def test_a_name_and_an_alias_prefer_chat_unless_asked() -> None:
    assert find_model("local/default").kind == "chat"  # type: ignore[union-attr]
    embedder = find_model("local/default", kind="embedding")
    assert embedder is not None
    assert embedder.name == "all-minilm-l6-v2"
    assert find_model("local/minilm", kind="chat") is None
    with pytest.raises(ValidationError, match="kind must be one of"):
        find_model("local/default", kind="image")


def test_model_info_from_the_catalog_keeps_the_name_asked_for() -> None:
    info = model_info("anthropic/claude-haiku-4-5-20251001")
    assert info == ModelInfo(
        provider="anthropic",
        name="claude-haiku-4-5-20251001",
        capabilities=Capabilities(audio=False, vision=True),
        context_window=200000,
        max_output_tokens=64000,
        prices=Prices(input=1.0, output=5.0, cached_input=0.1, cache_write=1.25),
    )
    assert model_info("openai/text-embedding-3-small").capabilities == Capabilities(
        streaming=False, tools=False, json_mode=False, json_schema=False
    )


@pytest.mark.parametrize(
    ("ref", "vision", "audio"),
    [
        ("openai/gpt-99", True, True),
        ("anthropic/claude-next", True, False),
        ("gemini/gemini-9-pro", True, True),
        ("ollama/llama3.2:3b", True, False),
        ("local/models/tiny.gguf", False, False),
        ("together/meta-llama/Llama-3-8b", False, False),  # no defaults in the data
        ("openrouter/anthropic/claude-x", False, False),
    ],
)
def test_unknown_names_get_the_provider_defaults(ref: str, vision: bool, audio: bool) -> None:
    info = model_info(ref)
    assert info.ref == ref
    assert (info.capabilities.vision, info.capabilities.audio) == (vision, audio)
    assert info.capabilities.tools
    assert info.capabilities.streaming
    assert info.context_window is None


def test_unknown_provider_is_an_error_with_suggestions() -> None:
    # The catalog knows models, not providers: the resolver behind conduit.model_info
    # checks the provider (and resolves bare names).
    with pytest.raises(NotFoundError, match="Did you mean 'openai'"):
        conduit.model_info("opneai/gpt-4o")
    assert conduit.model_info("gpt-4o").ref == "openai/gpt-4o"
    with pytest.raises(ValidationError, match="needs a provider prefix"):
        model_info("gpt-4o")


def test_models_lists_filters_and_sorts() -> None:
    everything = models()
    assert everything == sorted(everything, key=lambda e: (e.provider, e.name, e.kind))
    assert {e.provider for e in models("OpenAI")} == {"openai"}
    embedders = models(kind="embedding")
    assert embedders
    assert all(e.kind == "embedding" for e in embedders)
    openai_embedders = models("openai", "embedding")
    assert openai_embedders[:2] == [
        find_model("openai/text-embedding-3-large"),
        find_model("openai/text-embedding-3-small"),
    ]
    assert all(e.kind == "embedding" for e in openai_embedders)
    assert models("no-such-provider") == []
    with pytest.raises(ValidationError, match="kind must be one of"):
        models(kind="image")


def test_catalog_providers_and_entries_are_data() -> None:
    providers = catalog_providers()
    assert providers["openai"].authoritative
    assert providers["openai"].accept_prefixes == ("ft:",)
    assert providers["ollama"].list_api == "ollama"
    assert not providers["ollama"].authoritative
    entry = find_model("openai/gpt-4o")
    assert isinstance(entry, CatalogEntry)
    assert entry.ref == "openai/gpt-4o"
    with pytest.raises(AttributeError):
        entry.name = "x"  # type: ignore[misc]


# --- validation ------------------------------------------------------------------------


def test_validate_known_models_and_aliases() -> None:
    assert validate_model("openai/gpt-4o-mini").max_output_tokens == 16384
    assert validate_model("anthropic/claude-sonnet-4-5-20250929").name == (
        "claude-sonnet-4-5-20250929"
    )


def test_validate_unknown_model_of_an_authoritative_provider() -> None:
    with pytest.raises(NotFoundError) as caught:
        validate_model("anthropic/claude-sonet-4-5")
    message = str(caught.value)
    assert "Did you mean 'anthropic/claude-sonnet-4-5'" in message
    assert "conduit models update" in message
    assert caught.value.provider == "anthropic"
    with pytest.raises(NotFoundError, match="unknown model 'gemini/zzzz'") as far:
        validate_model("gemini/zzzz")
    assert "Did you mean" not in str(far.value)


def test_validate_accepts_fine_tunes_and_open_ended_providers() -> None:
    assert validate_model("openai/ft:gpt-4o-mini:acme::abc").provider == "openai"
    assert validate_model("gemini/tunedModels/my-model").name == "tunedModels/my-model"
    for ref in ("ollama/whatever:7b", "local/x.gguf", "openai-compatible/m", "vllm/m"):
        assert validate_model(ref).ref == ref


def test_validate_rejects_retired_models_bad_refs_and_providers() -> None:
    with pytest.raises(NotFoundError, match="retired"):
        validate_model("anthropic/claude-opus-4-1")
    with pytest.raises(ValidationError):
        validate_model("openai/")
    with pytest.raises(ValidationError):
        validate_model(42)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="unknown provider"):
        conduit.validate_model("nobody/model")
    with pytest.raises(NotFoundError, match="retired"):
        conduit.validate_model("claude-opus-4-1")


# --- the user file ---------------------------------------------------------------------

USER_ENTRY = """
[[models]]
provider = "openai"
name = "gpt-9"
kind = "chat"
context_window = 2000000
capabilities = ["streaming", "tools"]
input_price = 9.0
output_price = 90.0
checked = 2026-12-01
source = "https://example.test/models"
"""


def test_user_catalog_path_follows_the_cache_dir(
    catalog_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert user_catalog_path() == catalog_file
    monkeypatch.delenv("CONDUIT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "/xdg")
    assert user_catalog_path() == Path("/xdg/conduit/models.toml")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert user_catalog_path() == Path.home() / ".cache" / "conduit" / "models.toml"


def test_user_file_adds_models_and_provider_defaults(catalog_file: Path) -> None:
    catalog_file.write_text(
        USER_ENTRY + '\n[providers.together]\ncapabilities = ["streaming"]\n', "utf-8"
    )
    reload_catalog()
    assert model_info("openai/gpt-9").context_window == 2000000
    assert validate_model("openai/gpt-9").name == "gpt-9"
    assert model_info("together/x").capabilities.tools is False
    assert find_model("openai/gpt-4o") is not None  # the packaged ones stay


@pytest.mark.parametrize(("checked", "wins"), [("2026-12-01", True), ("2025-01-01", False)])
def test_user_entry_replaces_a_packaged_one_unless_older(
    catalog_file: Path, checked: str, wins: bool
) -> None:
    catalog_file.write_text(
        USER_ENTRY.replace('"gpt-9"', '"gpt-4o"').replace("2026-12-01", checked), "utf-8"
    )
    reload_catalog()
    entry = find_model("openai/gpt-4o")
    assert entry is not None
    assert (entry.input_price == 9.0) is wins
    assert len([e for e in models("openai") if e.name == "gpt-4o"]) == 1


def test_user_entry_without_a_date_replaces_the_packaged_one(catalog_file: Path) -> None:
    catalog_file.write_text(
        USER_ENTRY.replace('"gpt-9"', '"gpt-4o"').replace("checked = 2026-12-01\n", ""), "utf-8"
    )
    reload_catalog()
    assert find_model("openai/gpt-4o").checked is None  # type: ignore[union-attr]


def test_a_broken_user_file_is_a_clear_error(catalog_file: Path) -> None:
    catalog_file.write_text("[[models]\n", "utf-8")
    reload_catalog()
    with pytest.raises(ValidationError, match=r"cannot read the model catalog .*models\.toml"):
        models()
    catalog_file.write_bytes(b"\xff\xfe")
    with pytest.raises(ValidationError, match="fix or delete the file"):
        read_catalog_file(catalog_file)


GOOD = {"provider": "acme", "name": "m", "kind": "chat", "capabilities": []}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "unknown keys \\['colour'\\]"),
        ({"kind": "image"}, "kind must be one of"),
        ({"provider": "Acme"}, "lower-case"),
        ({"provider": 3}, "provider must be a string"),
        ({"name": ""}, "name non-empty"),
        ({"capabilities": ["telepathy"]}, "unknown capabilities \\['telepathy'\\]"),
        ({"capabilities": "tools"}, "capabilities must be a list of strings"),
        ({"aliases": [""]}, "aliases must be a list of strings"),
        ({"input_price": -1}, "input_price must be a non-negative number"),
        ({"output_price": True}, "output_price must be a non-negative number"),
        ({"context_window": 0}, "context_window must be a positive whole number"),
        ({"max_output_tokens": 1.5}, "max_output_tokens must be a positive whole number"),
        ({"status": "gone"}, "status must be one of"),
        ({"checked": "2026-11-24"}, "checked must be a date"),
        ({"checked": datetime.datetime(2026, 11, 24)}, "checked must be a date"),
        ({"source": 1}, "source must be a string"),
    ],
)
def test_bad_entries_are_rejected_with_the_reason(change: dict[str, Any], message: str) -> None:
    entry = {**GOOD, **change}
    with pytest.raises(ValidationError, match=message):
        parse_entries({"models": [entry]}, "test")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"models": [{"provider": "acme"}]}, "lacks name, kind, capabilities"),
        ({"models": ["x"]}, "must be a table"),
        ({"models": {"provider": "acme"}}, "array of tables"),
        ({"model": []}, "unknown top-level keys"),
    ],
)
def test_bad_files_are_rejected(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_entries(raw, "test")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"providers": []}, "`providers` must be a table"),
        ({"providers": {"acme": 1}}, "must be a table"),
        ({"providers": {"acme": {"colour": 1}}}, "unknown keys"),
        ({"providers": {"acme": {"list_api": "soap"}}}, "list_api must be one of"),
        ({"providers": {"acme": {"authoritative": "yes"}}}, "true or false"),
        ({"providers": {"acme": {"accept_prefixes": "ft:"}}}, "list of strings"),
    ],
)
def test_bad_provider_tables_are_rejected(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_providers(raw, "test")


def test_the_catalog_is_read_once() -> None:
    reload_catalog()
    models()
    models("openai")
    model_info("openai/gpt-4o")
    assert registry._catalog.cache_info().misses == 1


# --- the top-level names ---------------------------------------------------------------


def test_top_level_names_are_the_catalog_functions() -> None:
    import conduit.api

    assert conduit.models is registry.models
    assert conduit.model_info is conduit.api.model_info  # the resolver, then the catalog
    assert conduit.validate_model is conduit.api.validate_model
    assert conduit.cost_of is registry.cost_of


def test_import_conduit_does_not_read_the_catalog() -> None:
    code = textwrap.dedent(
        """
        import sys
        import conduit
        assert "conduit.catalog" not in sys.modules
        assert conduit.model_info("openai/gpt-4o").context_window == 128000
        assert "conduit.transport" not in sys.modules
        print("ok")
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
