"""OpenAI-compatible presets: each vendor is data (URL, key variable, settings) served by
the OpenAI adapter. Every request here also validates against the `openai` SDK's types."""

from __future__ import annotations

import json
from typing import Any

import pytest

import conduit
from conduit.errors import AuthenticationError, ValidationError
from conduit.providers import compatible, registry
from conduit.providers.openai import OpenAIChatModel, OpenAIEmbedder
from conduit.providers.registry import ProviderSpec, get_provider, provider_names
from conduit.schema import Done
from conduit.transport import HTTPRequest, HTTPResponse, MockTransport, json_response, sse_response
from tests.providers.openai.conftest import assert_valid_openai_request, load_fixture

# name, base URL, key variable, key required, max-tokens field, embeddings
PRESETS = [
    ("groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY", True, "max_completion_tokens", False),  # noqa: E501
    ("xai", "https://api.x.ai/v1", "XAI_API_KEY", True, "max_completion_tokens", False),
    ("mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY", True, "max_tokens", True),
    ("perplexity", "https://api.perplexity.ai", "PERPLEXITY_API_KEY", True, "max_tokens", False),
    ("openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", True, "max_tokens", False),
    ("deepseek", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY", True, "max_tokens", False),
    ("together", "https://api.together.xyz/v1", "TOGETHER_API_KEY", True, "max_tokens", True),
    ("vllm", "http://127.0.0.1:8000/v1", "VLLM_API_KEY", False, "max_tokens", True),
    ("lmstudio", "http://127.0.0.1:1234/v1", "LM_API_TOKEN", False, "max_tokens", True),
    ("llamacpp", "http://127.0.0.1:8080/v1", "LLAMA_API_KEY", False, "max_tokens", True),
]  # fmt: skip
NAMES = [p[0] for p in PRESETS]
KEY = "test-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def _no_preset_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """LM Studio's variable does not end in _API_KEY; clear it like the others."""
    monkeypatch.delenv("LM_API_TOKEN", raising=False)


def recording(answer: Any = None) -> MockTransport:
    """A mock answering chat with the OpenAI text fixture (or `answer`), checking bodies
    against the openai SDK's request types."""

    def handler(request: HTTPRequest) -> HTTPResponse:
        kind = "embeddings" if request.url.endswith("/embeddings") else None
        assert_valid_openai_request(request.json(), kind)
        if kind:
            return json_response(load_fixture("embeddings"))
        return json_response(answer if answer is not None else load_fixture("chat_completion_text"))

    return MockTransport(handler)


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


# ------------------------------------------------------------------------ the data


def test_presets_are_registered_and_match_the_table() -> None:
    assert set(NAMES) <= set(provider_names())
    assert [s.name for s in compatible.presets()] == NAMES
    for name, url, key_env, required, field, embeds in PRESETS:
        spec = get_provider(name)
        assert spec is compatible.PRESETS[name]
        assert (spec.base_url, spec.key_env, spec.key_required) == (url, key_env, required)
        assert spec.options["max_tokens_field"] == field
        assert spec.chat == "conduit.providers.openai:OpenAIChatModel"
        assert (spec.embed is not None) == embeds
        assert spec.base_url_env is not None
        assert spec.base_url_env.endswith("_BASE_URL")
        assert spec.description


def test_register_presets_again_changes_nothing_or_replaces() -> None:
    saved = dict(registry._registry)
    try:
        mine = ProviderSpec("groq", chat="conduit.providers.fake:fake_chat_model")
        registry.register_provider(mine, replace=True)
        compatible.register_presets()
        assert get_provider("groq") is mine  # a name taken first is left alone
        compatible.register_presets(replace=True)
        assert get_provider("groq") is compatible.PRESETS["groq"]
    finally:
        registry._registry.clear()
        registry._registry.update(saved)


# ------------------------------------------------------------------ URL and key header


@pytest.mark.parametrize(("name", "url", "key_env", "required", "field", "embeds"), PRESETS)
async def test_preset_url_key_header_and_max_tokens_field(
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    url: str,
    key_env: str,
    required: bool,
    field: str,
    embeds: bool,
) -> None:
    monkeypatch.setenv(key_env, KEY)
    transport = recording()
    model = conduit.model(f"{name}/some-model", transport=transport, max_retries=0)
    assert isinstance(model, OpenAIChatModel)
    assert model.base_url == url
    assert model.model_info.ref == f"{name}/some-model"

    response = await model.chat("Hi", max_tokens=5)
    assert response.provider == name
    assert response.provider_data == {}

    [request] = transport.requests
    assert request.url == f"{url}/chat/completions"
    assert lower(request.headers)["authorization"] == f"Bearer {KEY}"
    body = request.json()
    assert body["model"] == "some-model"
    assert body[field] == 5
    assert {"max_tokens", "max_completion_tokens"} - {field} & set(body) == set()


@pytest.mark.parametrize(
    ("name", "key_env"),
    [(p[0], p[2]) for p in PRESETS if p[3]],
    ids=[p[0] for p in PRESETS if p[3]],
)
def test_missing_key_names_the_variable(name: str, key_env: str) -> None:
    with pytest.raises(AuthenticationError, match=key_env) as caught:
        conduit.model(f"{name}/some-model")
    assert caught.value.provider == name


@pytest.mark.parametrize("name", [p[0] for p in PRESETS if not p[3]])
async def test_local_servers_need_no_key(name: str) -> None:
    transport = recording()
    model = conduit.model(f"{name}/local-model", transport=transport, max_retries=0)
    assert (await model.chat("Hi")).text
    assert "authorization" not in lower(transport.requests[0].headers)


@pytest.mark.parametrize(("name", "url", "key_env", "required", "field", "embeds"), PRESETS)
async def test_base_url_variable_points_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    url: str,
    key_env: str,
    required: bool,
    field: str,
    embeds: bool,
) -> None:
    spec = get_provider(name)
    assert spec.base_url_env is not None
    monkeypatch.setenv(spec.base_url_env, "http://127.0.0.1:4000/proxy/v1/")
    transport = recording()
    model = conduit.model(f"{name}/m", transport=transport, max_retries=0, api_key=KEY)
    await model.chat("Hi")
    assert transport.requests[0].url == "http://127.0.0.1:4000/proxy/v1/chat/completions"


async def test_groq_with_its_key_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "gsk_test_0123456789")
    transport = recording()
    model = conduit.model("groq/llama-3.3-70b-versatile", transport=transport)
    assert type(model) is OpenAIChatModel
    await model.chat("Hi", temperature=0.5)
    [request] = transport.requests
    assert request.url == "https://api.groq.com/openai/v1/chat/completions"
    assert lower(request.headers)["authorization"] == "Bearer gsk_test_0123456789"
    assert request.json()["model"] == "llama-3.3-70b-versatile"
    assert "gsk_test_0123456789" not in repr(model)


def test_the_sync_twin_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", KEY)
    transport = recording()
    model = conduit.model("deepseek/deepseek-chat", transport=transport)
    assert model.chat_sync("Hi").text == "Hello! How can I help you today?"  # type: ignore[attr-defined]
    assert transport.requests[0].url == "https://api.deepseek.com/v1/chat/completions"


# ------------------------------------------------------------------------ embeddings


@pytest.mark.parametrize("name", [p[0] for p in PRESETS if p[5]])
async def test_embedding_presets(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    spec = get_provider(name)
    assert spec.key_env is not None
    monkeypatch.setenv(spec.key_env, KEY)
    transport = recording()
    model = conduit.embedder(f"{name}/embed-model", transport=transport, max_retries=0)
    assert isinstance(model, OpenAIEmbedder)
    texts = ["a", "b", "c"]  # the fixture holds three vectors
    result = await model.embed(texts)
    assert len(result) == len(texts)
    [request] = transport.requests
    assert request.url == f"{spec.base_url}/embeddings"
    assert lower(request.headers)["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize("name", [p[0] for p in PRESETS if not p[5]])
def test_presets_without_embeddings_say_so(name: str) -> None:
    with pytest.raises(ValidationError, match="has no embedding models"):
        conduit.embedder(f"{name}/m", api_key=KEY)


# ------------------------------------------------------------------------ perplexity

CITATIONS = ["https://en.wikipedia.org/wiki/Rayleigh_scattering", "https://www.nasa.gov/sky"]
SEARCH_RESULTS = [
    {
        "title": "Rayleigh scattering",
        "url": "https://en.wikipedia.org/wiki/Rayleigh_scattering",
        "date": "2024-05-01",
    },
    {"title": "Why is the sky blue?", "url": "https://www.nasa.gov/sky", "date": None},
]


def perplexity_completion() -> dict[str, Any]:
    """A Sonar answer: an OpenAI chat completion plus `citations` and `search_results`."""
    return {
        "id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
        "model": "sonar",
        "created": 1724369245,
        "object": "chat.completion",
        "usage": {
            "prompt_tokens": 14,
            "completion_tokens": 28,
            "total_tokens": 42,
            "search_context_size": "low",
        },
        "citations": CITATIONS,
        "search_results": SEARCH_RESULTS,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {
                    "role": "assistant",
                    "content": "Rayleigh scattering makes the sky blue [1][2].",
                },
            }
        ],
    }


async def test_perplexity_citations_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERPLEXITY_API_KEY", "pplx-test-0123456789")
    transport = recording(perplexity_completion())
    model = conduit.model("perplexity/sonar", transport=transport)
    response = await model.chat("Why is the sky blue?")
    assert response.text == "Rayleigh scattering makes the sky blue [1][2]."
    assert response.provider_data == {"citations": CITATIONS, "search_results": SEARCH_RESULTS}
    assert response.usage.total_tokens == 42
    assert transport.requests[0].url == "https://api.perplexity.ai/chat/completions"
    # The data survives a round trip through JSON (caches, logs).
    again = type(response).model_validate_json(response.model_dump_json())
    assert again.provider_data == response.provider_data


async def test_perplexity_without_citations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERPLEXITY_API_KEY", "pplx-test-0123456789")
    plain = perplexity_completion()
    del plain["citations"]
    plain["search_results"] = None
    model = conduit.model("perplexity/sonar", transport=recording(plain))
    assert (await model.chat("Hi")).provider_data == {}


async def test_perplexity_citations_in_a_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERPLEXITY_API_KEY", "pplx-test-0123456789")
    base = {"id": "c1", "model": "sonar", "created": 1, "object": "chat.completion.chunk"}
    chunks = [
        {**base, "citations": CITATIONS[:1],
         "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Rayleigh"}}]},
        {**base, "citations": CITATIONS, "search_results": SEARCH_RESULTS,
         "choices": [{"index": 0, "delta": {"content": " scattering."}, "finish_reason": "stop"}],
         "usage": {"prompt_tokens": 14, "completion_tokens": 3, "total_tokens": 17}},
    ]  # fmt: skip

    def handler(request: HTTPRequest) -> HTTPResponse:
        assert_valid_openai_request(request.json())
        return sse_response(chunks, chunk_size=37)

    model = conduit.model("perplexity/sonar", transport=MockTransport(handler))
    events = [event async for event in model.stream("Why is the sky blue?")]
    done = events[-1]
    assert isinstance(done, Done)
    assert done.response.text == "Rayleigh scattering."
    assert done.response.provider_data == {
        "citations": CITATIONS,
        "search_results": SEARCH_RESULTS,
    }


async def test_other_presets_drop_vendor_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", KEY)
    answer = {**load_fixture("chat_completion_text"), "citations": ["x"], "x_groq": {"id": "r"}}
    model = conduit.model("groq/m", transport=recording(answer))
    assert (await model.chat("Hi")).provider_data == {}


def test_the_preset_table_is_json_friendly() -> None:
    # Plain data: a spec's settings serialize (docs and `conduit models` can print them).
    for spec in compatible.presets():
        json.dumps(dict(spec.options))
