"""Azure OpenAI beyond the contract suite: settings, URL shapes, Entra ID tokens,
content-filter categories, embeddings."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from conduit.errors import AuthenticationError, ContentFilterError, ValidationError
from conduit.providers.azure import AzureOpenAIChatModel, AzureOpenAIEmbedder, FilteredError
from conduit.transport import MockTransport, json_response
from tests.providers.contract.kits import AZURE

ENDPOINT = "https://contoso.openai.azure.com/"


@pytest.fixture(autouse=True)
def no_azure_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "OPENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)


def never(request: Any) -> Any:
    raise AssertionError("no request may be sent")


@pytest.mark.parametrize(
    ("config", "error", "names"),
    [
        ({"api_version": "v1", "api_key": "k"}, ValidationError, "AZURE_OPENAI_ENDPOINT"),
        ({"azure_endpoint": ENDPOINT, "api_key": "k"}, ValidationError, "OPENAI_API_VERSION"),
        (
            {"azure_endpoint": ENDPOINT, "api_version": "v1"},
            AuthenticationError,
            "AZURE_OPENAI_API_KEY",
        ),
        (
            {"azure_endpoint": "contoso", "api_version": "v1", "api_key": "k"},
            ValidationError,
            "https://",
        ),
    ],
)
def test_missing_settings_name_what_to_set(config: dict[str, Any], error: type, names: str) -> None:
    with pytest.raises(error, match=names):
        AzureOpenAIChatModel("gpt-4o", transport=MockTransport(never), **config)


async def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://env.openai.azure.com/openai")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "env-key-123")
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-04-01-preview")
    transport = MockTransport(lambda r: json_response(AZURE.load("chat_completion_text")))
    model = AzureOpenAIChatModel("my deployment", transport=transport)

    await model.chat("Hi")

    (sent,) = transport.requests
    assert sent.url == (
        "https://env.openai.azure.com/openai/deployments/my%20deployment/chat/completions"
        "?api-version=2025-04-01-preview"
    )
    assert sent.headers["api-key"] == "env-key-123"
    assert "env-key-123" not in repr(model._conn)


async def test_the_v1_shape_sends_the_deployment_as_model() -> None:
    transport = MockTransport(lambda r: json_response(AZURE.load("chat_completion_text")))
    model = AzureOpenAIChatModel(
        "gpt-4o-prod", azure_endpoint=ENDPOINT, api_version="v1", api_key="k", transport=transport
    )
    await model.chat("Hi")
    sent = transport.requests[0]
    assert sent.url == "https://contoso.openai.azure.com/openai/v1/chat/completions"
    assert sent.json()["model"] == "gpt-4o-prod"


async def test_an_entra_id_token_provider_is_asked_before_each_request() -> None:
    tokens = iter(["tok-1", "tok-2"])

    async def provider() -> str:
        return next(tokens)

    transport = MockTransport(lambda r: json_response(AZURE.load("chat_completion_text")))
    model = AzureOpenAIChatModel(
        "gpt-4o",
        azure_endpoint=ENDPOINT,
        api_version="preview",
        azure_ad_token_provider=provider,
        transport=transport,
    )
    await model.chat("Hi")
    await model.chat("Again")

    assert [r.headers["authorization"] for r in transport.requests] == [
        "Bearer tok-1",
        "Bearer tok-2",
    ]
    assert all("api-key" not in r.headers for r in transport.requests)
    assert transport.requests[0].url.endswith("/openai/v1/chat/completions?api-version=preview")


async def test_a_filtered_prompt_carries_the_categories() -> None:
    data = AZURE.load("error_content_filter")
    model, _ = AZURE.model(lambda r: json_response(data, status=400))

    with pytest.raises(ContentFilterError) as info:
        await model.chat("Something hateful")

    exc = info.value
    assert isinstance(exc, FilteredError)
    assert sorted(exc.categories) == ["hate", "violence"]
    assert exc.categories["hate"]["severity"] == "high"
    assert "prompt" in exc.message
    assert exc.status_code == 400
    again = pickle.loads(pickle.dumps(exc))
    assert again.categories == exc.categories


async def test_a_filtered_answer_carries_the_categories() -> None:
    model, _ = AZURE.model(AZURE.reply("chat_completion_content_filter"))
    with pytest.raises(FilteredError) as info:
        await model.chat("Tell me something violent")
    assert info.value.categories == {"violence": {"filtered": True, "severity": "medium"}}
    assert info.value.provider == "azure"


async def test_a_filtered_stream_raises() -> None:
    chunks = [
        {
            "choices": [],
            "id": "",
            "model": "",
            "object": "",
            "created": 0,
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
        },
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o",
            "choices": [{"index": 0, "delta": {"content": "Once"}, "finish_reason": None}],
        },
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o",
            "choices": [
                {
                    "index": 0,
                    "delta": {},
                    "finish_reason": "content_filter",
                    "content_filter_results": {"violence": {"filtered": True, "severity": "high"}},
                }
            ],
        },
    ]
    model, _ = AZURE.model(AZURE.stream_reply(chunks))
    with pytest.raises(FilteredError) as info:
        [e async for e in model.stream("Hi")]
    assert info.value.categories == {"violence": {"filtered": True, "severity": "high"}}


async def test_embeddings_go_to_the_embedding_deployment() -> None:
    transport = MockTransport(lambda r: json_response(AZURE.load("embeddings")))
    embedder = AzureOpenAIEmbedder(
        "embed-small",
        azure_endpoint=ENDPOINT,
        api_version="2024-10-21",
        api_key="k",
        transport=transport,
        dimensions=3,
    )
    result = await embedder.embed(["hello"])
    assert result.vectors == [[0.0023, -0.0093, 0.0158]]
    assert transport.requests[0].url.endswith(
        "/openai/deployments/embed-small/embeddings?api-version=2024-10-21"
    )


async def test_a_rejected_key_or_token_says_what_to_check() -> None:
    model, _ = AZURE.model(lambda r: json_response(AZURE.load("error_unauthorized"), status=401))
    with pytest.raises(AuthenticationError, match="azure_ad_token_provider") as info:
        await model.chat("Hi")
    assert info.value.status_code == 401


async def test_chat_and_stream_over_real_http() -> None:
    from tests.providers.platform_http import serve, sse

    def answer(seen: Any) -> Any:
        if seen.body.get("stream"):
            return sse(AZURE.stream_events("stream_text"), done=True)
        return AZURE.load("chat_completion_text")

    async with serve(answer) as (url, seen):
        model = AzureOpenAIChatModel(
            "gpt-4o-prod", azure_endpoint=url, api_version="2024-10-21", api_key="key-123"
        )
        answered = await model.chat("Hi")
        streamed = [e async for e in model.stream("Hi")]
        await model.aclose()

    assert answered.text == streamed[-1].response.text == "Hello! How can I help you today?"
    assert [s.path for s in seen] == ["/openai/deployments/gpt-4o-prod/chat/completions"] * 2
    assert all(s.query == {"api-version": "2024-10-21"} for s in seen)
    assert all(s.headers["api-key"] == "key-123" for s in seen)
