"""`conduit models list` and `conduit models update`, the latter fully offline: every
provider's model-list endpoint answers from fixtures shaped like its API reference."""

from __future__ import annotations

import asyncio
import json
import socket
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from conduit.catalog import (
    ListSource,
    find_model,
    model_info,
    models,
    refresh_catalog,
    reload_catalog,
)
from conduit.catalog import registry as catalog_registry
from conduit.catalog.refresh import (
    ListedModel,
    dumps_catalog,
    list_models,
    merge_listed,
    parse_anthropic_models,
    parse_gemini_models,
    parse_ollama_tags,
    parse_openai_models,
)
from conduit.catalog.registry import parse_entries
from conduit.cli import models as cli_models
from conduit.cli.main import main
from conduit.errors import APIConnectionError, AuthenticationError, ValidationError
from conduit.transport import HTTPRequest, HTTPResponse, MockTransport, json_response

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "catalog"
KEYS = {
    "OPENAI_API_KEY": "sk-openai-test-0000",
    "ANTHROPIC_API_KEY": "sk-ant-test-0000",
    "GEMINI_API_KEY": "gemini-test-key-0000",
    "GROQ_API_KEY": "gsk-test-0000",
}


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text("utf-8"))


@pytest.fixture(autouse=True)
def catalog_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CONDUIT_CACHE_DIR", str(tmp_path))
    reload_catalog()
    yield tmp_path / "models.toml"
    reload_catalog()


class Providers:
    """A handler answering each list endpoint from the fixtures, like the real APIs."""

    def __init__(self) -> None:
        self.requests: list[HTTPRequest] = []
        self.ollama_running = True
        self.fail: dict[str, int] = {}

    def __call__(self, request: HTTPRequest) -> HTTPResponse:
        self.requests.append(request)
        assert request.method == "GET"
        url = urlsplit(request.url)
        query = parse_qs(url.query)
        for host, status in self.fail.items():
            if host in url.netloc:
                body = {"error": {"type": "authentication_error", "message": "invalid x-api-key"}}
                return json_response(body, status=status)
        if url.netloc == "api.openai.com" and url.path == "/v1/models":
            return json_response(_fixture("openai_models.json"))
        if url.netloc == "api.groq.com" and url.path == "/openai/v1/models":
            return json_response(_fixture("groq_models.json"))
        if url.netloc == "api.anthropic.com" and url.path == "/v1/models":
            assert query["limit"] == ["1000"]
            page = 2 if query.get("after_id") == ["claude-haiku-4-5-20251001"] else 1
            return json_response(_fixture(f"anthropic_models_page{page}.json"))
        if url.netloc == "generativelanguage.googleapis.com" and url.path == "/v1beta/models":
            assert query["pageSize"] == ["1000"]
            page = 2 if query.get("pageToken") == ["Cg9nZW1pbmktMy1mbGFzaA=="] else 1
            return json_response(_fixture(f"gemini_models_page{page}.json"))
        if url.path == "/api/tags":
            if not self.ollama_running:
                raise APIConnectionError("connection refused", provider="ollama")
            return json_response(_fixture("ollama_tags.json"))
        return json_response({"error": {"message": "no such route"}}, status=404)

    def to(self, host: str) -> list[HTTPRequest]:
        return [r for r in self.requests if host in r.url]


@pytest.fixture
def providers(monkeypatch: pytest.MonkeyPatch) -> Providers:
    # `models update` is judged against the curated catalog alone: without the generated
    # public data, which already lists some of the models the fake providers announce.
    empty = '{"generated": "2000-01-01", "source": "", "models": []}'
    monkeypatch.setattr(catalog_registry, "_generated_text", lambda: empty)
    reload_catalog()
    handler = Providers()
    monkeypatch.setattr(cli_models, "make_transport", lambda: MockTransport(handler))
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    return handler


def _written(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text("utf-8"))


# --- the fixtures are the APIs' own shapes ------------------------------------------------


def test_fixtures_validate_against_the_official_sdk_types() -> None:
    openai_types = pytest.importorskip("openai.types")
    anthropic_types = pytest.importorskip("anthropic.types")
    ollama = pytest.importorskip("ollama")
    genai_models = pytest.importorskip("google.genai.models")
    genai_types = pytest.importorskip("google.genai.types")

    for item in _fixture("openai_models.json")["data"]:
        openai_types.Model.model_validate(item)
    for page in (1, 2):
        body = _fixture(f"anthropic_models_page{page}.json")
        assert set(body) == {"data", "has_more", "first_id", "last_id"}
        for item in body["data"]:
            model = anthropic_types.ModelInfo.model_validate(item)
            assert model.capabilities is not None
            assert model.lifecycle
    listed = ollama.ListResponse.model_validate(_fixture("ollama_tags.json"))
    assert listed.models[0].details.family == "llama"
    for page in (1, 2):
        for item in _fixture(f"gemini_models_page{page}.json")["models"]:
            wire = genai_models._Model_from_mldev(item)
            wire.pop("tuned_model_info", None)  # the SDK fills this from `_self`, then drops it
            model = genai_types.Model.model_validate(wire)
            assert model.input_token_limit
            assert model.supported_actions


# --- parsing each list ----------------------------------------------------------------------


def test_parse_openai_style_lists() -> None:
    listed = parse_openai_models(_fixture("openai_models.json"))
    kinds = {m.name: m.kind for m in listed}
    assert kinds["text-embedding-3-small"] == "embedding"
    assert kinds["gpt-5.1"] == "chat"
    groq = parse_openai_models(_fixture("groq_models.json"), "groq")
    assert groq[0] == ListedModel("groq", "llama-3.3-70b-versatile", context_window=131072)


def test_parse_anthropic_list() -> None:
    listed = parse_anthropic_models(_fixture("anthropic_models_page2.json"))
    haiku = listed[1]
    assert (haiku.name, haiku.status, haiku.max_output_tokens) == (
        "claude-3-5-haiku-20241022",
        "retired",
        8192,
    )
    assert haiku.reported == {"vision": True, "json_schema": False}


def test_parse_gemini_list_skips_models_that_neither_chat_nor_embed() -> None:
    listed = parse_gemini_models(_fixture("gemini_models_page2.json"))
    assert [(m.name, m.kind, m.context_window) for m in listed] == [
        ("gemini-embedding-001", "embedding", 2048)
    ]


def test_parse_ollama_tags() -> None:
    listed = parse_ollama_tags(_fixture("ollama_tags.json"))
    assert [(m.name, m.kind, m.aliases) for m in listed] == [
        ("llama3.2", "chat", ("llama3.2:latest",)),
        ("nomic-embed-text", "embedding", ("nomic-embed-text:latest",)),
        ("qwen3:8b", "chat", ()),
    ]


@pytest.mark.parametrize(
    ("parse", "payload"),
    [
        (parse_openai_models, {"object": "list"}),
        (parse_anthropic_models, []),
        (parse_gemini_models, {"models": None}),
        (parse_ollama_tags, "nope"),
    ],
)
def test_an_answer_without_the_list_is_an_error(parse: Callable[..., Any], payload: Any) -> None:
    with pytest.raises(APIConnectionError, match=r"no '\w+' array"):
        parse(payload)


def test_odd_items_are_skipped() -> None:
    assert parse_openai_models({"data": [{"id": ""}, "x", {"object": "model"}]}) == []
    assert parse_anthropic_models({"data": [{"id": 3}]}) == []
    weird = {"models": [{"name": "models/x", "supportedGenerationMethods": "generateContent"}]}
    assert parse_gemini_models(weird) == []
    assert parse_ollama_tags({"models": [{"name": ""}, {"model": "m:1", "details": None}]}) == [
        ListedModel("ollama", "m:1")
    ]


# --- merging ---------------------------------------------------------------------------------


def test_merge_keeps_curated_facts_and_fills_only_gaps() -> None:
    listed = [
        ListedModel("openai", "gpt-4o-2024-08-06", context_window=1),  # alias of a known one
        ListedModel("mistral", "mistral-large-latest", context_window=131072),
        ListedModel("anthropic", "claude-haiku-4-5", status="active"),
        ListedModel("openai", "gpt-new", reported={"vision": False}),
        ListedModel("openai", "gpt-new"),  # listed twice: added once
    ]
    entries, added, updated = merge_listed(listed, models(), today=None, source="https://x")
    by_ref = {e.ref: e for e in entries}
    assert added == ["gpt-new"]
    assert updated == ["mistral-large-latest", "claude-haiku-4-5"]
    assert by_ref["mistral/mistral-large-latest"].context_window == 131072
    assert by_ref["anthropic/claude-haiku-4-5"].status == "active"
    assert by_ref["anthropic/claude-haiku-4-5"].input_price == 1.0  # curated price kept
    new = by_ref["openai/gpt-new"]
    assert new.capabilities.vision is False
    assert new.capabilities.audio is True
    assert (new.source, new.checked, new.input_price) == ("https://x", None, None)
    assert "openai/gpt-4o" not in by_ref  # nothing to change: not written


def test_merge_without_provider_defaults() -> None:
    listed = [ListedModel("acme", "m1"), ListedModel("acme", "e1", kind="embedding")]
    entries, _, _ = merge_listed(listed, [], today=None, providers={})
    assert entries[0].capabilities.tools
    assert not entries[0].capabilities.vision
    assert not entries[1].capabilities.tools
    assert not entries[1].capabilities.streaming


def test_dumps_round_trips_through_the_parser() -> None:
    entries = models()
    text = dumps_catalog(entries, {"acme": {"authoritative": False, "capabilities": ["tools"]}})
    raw = tomllib.loads(text)
    assert raw["providers"]["acme"] == {"authoritative": False, "capabilities": ["tools"]}
    assert parse_entries(raw, "dumped") == entries
    assert 'name = "gpt-4o"' in text
    assert "checked = 2026-11-24" in text


# --- conduit models list ------------------------------------------------------------------


def test_list_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == [
        "MODEL",
        "KIND",
        "CONTEXT",
        "MAX",
        "OUT",
        "INPUT",
        "CACHED",
        "OUTPUT",
        "STATUS",
        "CHECKED",
    ]
    row = next(line for line in lines if line.startswith("openai/gpt-4o "))
    assert row.split() == [
        "openai/gpt-4o",
        "chat",
        "128,000",
        "16,384",
        "2.5",
        "1.25",
        "10",
        "2026-11-24",
    ]
    assert "anthropic/claude-opus-4-1" in out
    assert "retired" in out
    assert "USD per million tokens" in out


def test_list_one_provider_and_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list", "--provider", "openai", "--kind", "embedding"]) == 0
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:] if line]
    assert rows[:2] == ["openai/text-embedding-3-large", "openai/text-embedding-3-small"]


def test_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list", "-p", "local", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["ref"] for d in data] == ["local/all-minilm-l6-v2", "local/smollm2-135m-instruct"]
    chat = data[1]
    assert chat["aliases"] == ["default"]
    assert chat["checked"] == "2026-11-24"
    assert chat["capabilities"] == ["streaming", "tools", "json_mode", "json_schema"]
    assert chat["context_window"] == 8192
    assert chat["default_context_window"] == 4096


def test_list_a_provider_without_entries(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list", "-p", "lmstudio"]) == 0  # any model name may exist there
    assert "no such models" in capsys.readouterr().out
    assert main(["models", "list", "-p", "opneai"]) == 1
    assert "Did you mean 'openai'" in capsys.readouterr().err


def test_models_without_an_action_shows_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 2
    assert "update" in capsys.readouterr().err


# --- conduit models update ----------------------------------------------------------------


def test_build_sources_from_the_environment() -> None:
    env = {
        **KEYS,
        "OPENAI_BASE_URL": "https://proxy.test/v1/",
        "OLLAMA_HOST": "0.0.0.0:9999",
    }
    sources, notes = cli_models.build_sources(env)
    by_name = {s.provider: s for s in sources}
    assert set(by_name) == {"anthropic", "gemini", "groq", "ollama", "openai"}
    assert by_name["openai"].url == "https://proxy.test/v1/models"
    assert by_name["ollama"].url == "http://0.0.0.0:9999/api/tags"
    assert by_name["ollama"].api_key is None
    assert by_name["gemini"].url == "https://generativelanguage.googleapis.com/v1beta/models"
    assert "sk-openai" not in repr(by_name["openai"])
    assert any("set DEEPSEEK_API_KEY" in note for note in notes)


def test_build_sources_for_one_provider() -> None:
    sources, notes = cli_models.build_sources({}, "Ollama")
    assert [s.url for s in sources] == ["http://127.0.0.1:11434/api/tags"]
    assert notes == []
    with pytest.raises(AuthenticationError, match="set ANTHROPIC_API_KEY"):
        cli_models.build_sources({}, "anthropic")
    with pytest.raises(ValidationError, match="can list: anthropic, deepseek"):
        cli_models.build_sources({}, "perplexity")


def test_update_lists_every_provider_and_writes_the_user_file(
    providers: Providers, catalog_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "update"]) == 0
    out = capsys.readouterr().out
    assert f"wrote {catalog_file}" in out
    assert "openai: 6 listed, 3 new, 0 updated" in out
    assert "  + openai/gpt-5.1" in out
    assert "anthropic: 4 listed, 1 new, 3 updated" in out  # lifecycle filled in
    assert "gemini: 3 listed, 1 new, 0 updated" in out
    assert "ollama: 3 listed, 3 new" in out
    assert "deepseek: skipped (set DEEPSEEK_API_KEY" in out

    # each endpoint was called the way its API reference says, keys only in headers
    (openai,) = providers.to("api.openai.com")
    assert openai.headers["authorization"] == "Bearer sk-openai-test-0000"
    anthropic = providers.to("api.anthropic.com")
    assert [r.headers["x-api-key"] for r in anthropic] == ["sk-ant-test-0000"] * 2
    assert {r.headers["anthropic-version"] for r in anthropic} == {"2023-06-01"}
    assert "after_id=claude-haiku-4-5-20251001" in anthropic[1].url
    gemini = providers.to("generativelanguage")
    assert len(gemini) == 2
    assert gemini[0].headers["x-goog-api-key"] == "gemini-test-key-0000"
    assert all("key" not in r.url for r in providers.requests)
    assert "authorization" not in providers.to("/api/tags")[0].headers

    written = _written(catalog_file)
    refs = {f"{m['provider']}/{m['name']}": m for m in written["models"]}
    assert refs["openai/gpt-5.1"]["capabilities"] == [
        "streaming",
        "tools",
        "vision",
        "audio",
        "json_mode",
        "json_schema",
    ]
    assert refs["openai/gpt-5.1"]["source"] == "https://api.openai.com/v1/models"
    assert refs["openai/text-embedding-ada-002"]["kind"] == "embedding"
    assert "openai/ft:gpt-4o-mini-2024-07-18:acme::B1x2Y3z4" in refs
    assert "openai/gpt-4o" not in refs  # known, nothing new: the packaged entry stands
    assert refs["anthropic/claude-opus-4-7"]["context_window"] == 1000000
    assert refs["anthropic/claude-3-5-haiku-20241022"]["status"] == "retired"
    assert refs["anthropic/claude-3-5-haiku-20241022"]["input_price"] == 0.8  # curated, kept
    assert refs["gemini/gemini-3-flash"]["max_output_tokens"] == 65536
    assert refs["ollama/nomic-embed-text"]["capabilities"] == []
    assert refs["groq/qwen/qwen3-32b"]["context_window"] == 131072

    # the catalog now knows them
    assert find_model("openai/gpt-5.1") is not None
    assert model_info("anthropic/claude-opus-4-7").context_window == 1000000
    assert model_info("ollama/llama3.2:latest").name == "llama3.2:latest"
    assert find_model("ollama/llama3.2") is not None
    assert find_model("openai/gpt-4o").input_price == 2.5  # type: ignore[union-attr]


def test_update_twice_keeps_the_file_and_changes_nothing(
    providers: Providers, catalog_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "update"]) == 0
    first = catalog_file.read_text("utf-8")
    capsys.readouterr()
    assert main(["models", "update", "--provider", "openai"]) == 0
    assert "openai: 6 listed, 0 new, 0 updated" in capsys.readouterr().out
    assert catalog_file.read_text("utf-8") == first  # other providers' entries kept


def test_update_to_another_file(
    providers: Providers, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "deep" / "catalog.toml"
    assert main(["models", "update", "-p", "gemini", "-o", str(target)]) == 0
    written = _written(target)
    assert [m["name"] for m in written["models"]] == ["gemini-3-flash"]
    assert f"wrote {target}" in capsys.readouterr().out
    assert not (tmp_path / "models.toml").exists()


def test_a_failing_provider_is_reported_and_the_others_written(
    providers: Providers, catalog_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    providers.fail["api.anthropic.com"] = 401
    providers.ollama_running = False
    assert main(["models", "update"]) == 1
    captured = capsys.readouterr()
    assert "conduit: error: anthropic:" in captured.err
    assert "sk-ant-test-0000" not in captured.err
    assert "ollama: not running at http://127.0.0.1:11434; skipped" in captured.out
    assert "openai/gpt-5.1" in captured.out
    assert catalog_file.exists()


def test_nothing_to_update(
    monkeypatch: pytest.MonkeyPatch, providers: Providers, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in KEYS:
        monkeypatch.delenv(name)
    providers.ollama_running = False
    assert main(["models", "update"]) == 1
    assert "nothing to update" in capsys.readouterr().err
    assert main(["models", "update", "-p", "ollama"]) == 1  # asked for: a failure
    assert "conduit: error: ollama:" in capsys.readouterr().err


def test_update_needs_a_key_for_a_named_provider(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert main(["models", "update", "--provider", "openai"]) == 1
    assert "set OPENAI_API_KEY" in capsys.readouterr().err


def test_a_broken_output_file_stops_the_update(
    providers: Providers, catalog_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog_file.write_text("not = [toml", "utf-8")
    assert main(["models", "update", "-p", "openai"]) == 1
    assert "fix or delete the file" in capsys.readouterr().err


def test_list_models_rejects_an_unknown_api() -> None:
    source = ListSource("acme", "soap", "https://acme.test")
    with pytest.raises(ValidationError, match="list_api must be one of"):
        asyncio.run(list_models(source, MockTransport(lambda r: json_response({}))))


def test_gemini_paging_stops_on_a_repeating_server() -> None:
    page = {"models": [], "nextPageToken": "again"}
    transport = MockTransport(lambda r: json_response(page))
    source = ListSource("gemini", "gemini", "https://g.test/v1beta", "k")
    assert asyncio.run(list_models(source, transport)) == []
    assert len(transport.requests) == 50


def test_refresh_over_real_http_reports_an_unreachable_server(tmp_path: Path) -> None:
    """Without a transport, refresh opens (and closes) its own aiohttp one."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    source = ListSource("ollama", "ollama", f"http://127.0.0.1:{port}")
    results = asyncio.run(refresh_catalog([source], tmp_path / "out.toml"))
    assert isinstance(results[0].error, APIConnectionError)
    assert not results[0].ok
    assert not (tmp_path / "out.toml").exists()


def test_list_filters_by_capability(capsys: pytest.CaptureFixture[str]) -> None:
    import dataclasses

    from conduit.catalog import models
    from conduit.cli.models import CAPABILITIES
    from conduit.core.protocols import Capabilities

    assert set(CAPABILITIES) == {f.name for f in dataclasses.fields(Capabilities)}
    assert main(["models", "list", "--json", "-c", "vision", "-c", "tools"]) == 0
    listed = {row["ref"] for row in json.loads(capsys.readouterr().out)}
    expected = {e.ref for e in models() if e.capabilities.vision and e.capabilities.tools}
    assert listed == expected
    assert listed  # the catalog has such models
    assert main(["models", "list", "--json", "-c", "audio_output"]) == 0
    assert all("audio_output" in row["capabilities"] for row in json.loads(capsys.readouterr().out))
    assert main(["models", "list", "-c", "telepathy"]) == 2
