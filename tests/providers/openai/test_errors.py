"""Errors through the OpenAI adapter: every HTTP status becomes the typed error the caller
can act on, and bad input fails before anything is sent."""

from __future__ import annotations

from typing import Any

import pytest

import conduit
from conduit.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ConduitError,
    ContentFilterError,
    ContextWindowExceededError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    ServerError,
    TimeoutError,
    ValidationError,
)
from conduit.providers.openai import OpenAIChatModel, OpenAIEmbedder
from conduit.schema import AudioBlock, ImageBlock, Message, TextBlock, user
from conduit.transport import HTTPRequest, HTTPResponse, MockTransport, json_response
from tests.providers.openai.conftest import (
    chat_model,
    load_fixture,
    reply,
    validating_transport,
)

STATUS_CASES = [
    (400, "error_invalid_request", BadRequestError),
    (400, "error_context_length_exceeded", ContextWindowExceededError),
    (400, "error_content_policy", ContentFilterError),
    (401, "error_invalid_api_key", AuthenticationError),
    (403, "error_permission_denied", PermissionDeniedError),
    (404, "error_model_not_found", NotFoundError),
    (408, "error_server", TimeoutError),
    (409, "error_server", ProviderError),
    (413, "error_invalid_request", BadRequestError),
    (422, "error_invalid_request", BadRequestError),
    (429, "error_rate_limit", RateLimitError),
    (429, "error_insufficient_quota", RateLimitError),
    (500, "error_server", ServerError),
    (502, "error_server", ServerError),
    (503, "error_overloaded", ServerError),
    (504, "error_server", ServerError),
]


def _failing(status: int, fixture: str) -> Any:
    headers = {"x-request-id": "req_5f1b2c3d4e", "retry-after": "7"}
    return lambda request: json_response(load_fixture(fixture), status=status, headers=headers)


@pytest.mark.parametrize(("status", "fixture", "cls"), STATUS_CASES)
async def test_status_through_chat(status: int, fixture: str, cls: type[ProviderError]) -> None:
    model, transport = chat_model(_failing(status, fixture))
    with pytest.raises(cls) as info:
        await model.chat("Hi")
    exc = info.value
    assert type(exc) is cls
    assert exc.status_code == status
    assert exc.provider == "openai"
    assert exc.request_id == "req_5f1b2c3d4e"
    assert exc.retry_after == 7.0
    message = load_fixture(fixture)["error"]["message"]
    assert exc.message == message
    assert message in str(exc)
    assert exc.body is not None
    assert '"error"' in exc.body
    assert len(transport.requests) == 1  # max_retries=0


@pytest.mark.parametrize(("status", "fixture", "cls"), STATUS_CASES)
async def test_status_through_stream(status: int, fixture: str, cls: type[ProviderError]) -> None:
    model, _ = chat_model(_failing(status, fixture))
    with pytest.raises(cls):
        async for _event in model.stream("Hi"):
            pass


@pytest.mark.parametrize(("status", "cls"), [(401, AuthenticationError), (500, ServerError)])
async def test_status_through_embeddings(status: int, cls: type[ProviderError]) -> None:
    transport = validating_transport(_failing(status, "error_server"))
    model = OpenAIEmbedder(
        "text-embedding-3-small", api_key="sk-test-abcdefgh", transport=transport, max_retries=0
    )
    with pytest.raises(cls):
        await model.embed("hi")


async def test_error_body_that_is_not_json() -> None:
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    model, _ = chat_model(lambda request: HTTPResponse(502, {"content-type": "text/html"}, html))
    with pytest.raises(ServerError, match="502 Bad Gateway"):
        await model.chat("Hi")


async def test_error_body_that_is_empty() -> None:
    model, _ = chat_model(lambda request: HTTPResponse(404, {}, b""))
    with pytest.raises(NotFoundError, match="empty body"):
        await model.chat("Hi")


async def test_retries_server_errors_then_succeeds() -> None:
    answers = iter(
        [
            json_response(
                load_fixture("error_server"), status=500, headers={"retry-after-ms": "0"}
            ),
            json_response(
                load_fixture("error_overloaded"), status=503, headers={"retry-after": "0"}
            ),
            json_response(load_fixture("chat_completion_text")),
        ]
    )
    model, transport = chat_model(lambda request: next(answers), max_retries=2)
    response = await model.chat("Hi")
    assert response.text == "Hello! How can I help you today?"
    assert len(transport.requests) == 3


async def test_bad_request_is_not_retried() -> None:
    model, transport = chat_model(_failing(400, "error_invalid_request"), max_retries=2)
    with pytest.raises(BadRequestError):
        await model.chat("Hi")
    assert len(transport.requests) == 1


async def test_connection_failure() -> None:
    def handler(request: HTTPRequest) -> HTTPResponse:
        raise APIConnectionError("connection reset by peer")

    model, transport = chat_model(handler)
    with pytest.raises(APIConnectionError, match="connection reset") as info:
        await model.chat("Hi")
    assert info.value.provider == "openai"
    assert len(transport.requests) == 1


# ------------------------------------------------------------ bad input, no request


def _assert_nothing_sent(transport: MockTransport) -> None:
    assert transport.requests == []


async def _call(model: OpenAIChatModel, messages: Any, mode: str) -> None:
    if mode == "chat":
        await model.chat(messages)
    else:
        async for _event in model.stream(messages):
            pass


@pytest.mark.parametrize(
    ("messages", "match"),
    [
        ([{"role": "wizard", "content": "Hi"}], "role"),
        ([{"role": "user", "content": ""}], "needs content"),
        ("", "needs content"),
        ([{"role": "user", "content": []}], "needs content"),
        ([{"role": "tool", "content": "42"}], "tool_call_id"),
        ([{"role": "user", "content": "Hi", "tool_call_id": "call_1"}], "tool_call_id"),
        ([], "empty"),
        ([42], "a message must be"),
        (3.14, "messages must be"),
        ([{"role": "user", "content": "Hi", "max_tokens": 5}], "max_tokens"),
    ],
)
@pytest.mark.parametrize("mode", ["chat", "stream"])
async def test_invalid_messages_send_nothing(messages: Any, match: str, mode: str) -> None:
    model, transport = chat_model(reply("chat_completion_text"))
    with pytest.raises(ValidationError, match=match):
        await _call(model, messages, mode)
    _assert_nothing_sent(transport)


@pytest.mark.parametrize(
    ("message", "match"),
    [
        (
            Message(role="system", content=[ImageBlock(url="https://x.test/a.png")]),
            "only in user messages",
        ),
        (
            Message(
                role="assistant",
                content=[TextBlock(text="Listen"), AudioBlock(data="AAAA", format="wav")],
            ),
            "only in user messages",
        ),
        (user("Transcribe", AudioBlock(data="AAAA", format="flac")), "wav or mp3"),
    ],
)
@pytest.mark.parametrize("mode", ["chat", "stream"])
async def test_content_openai_cannot_take_sends_nothing(
    message: Message, match: str, mode: str
) -> None:
    model, transport = chat_model(reply("chat_completion_text"), name="gpt-4o-audio-preview")
    with pytest.raises(ValidationError, match=match):
        await _call(model, [message], mode)
    _assert_nothing_sent(transport)


async def test_audio_to_a_model_the_catalog_lists_without_audio_sends_nothing() -> None:
    model, transport = chat_model(reply("chat_completion_text"))  # gpt-4o: no audio input
    with pytest.raises(ValidationError, match="openai/gpt-4o does not take audio input"):
        await model.chat([user("Transcribe", AudioBlock(data="AAAA", format="wav"))])
    _assert_nothing_sent(transport)


@pytest.mark.parametrize(
    "options",
    [{"temperature": 3}, {"max_tokens": 0}, {"top_p": 1.5}, {"max_token": 5}, {"tool_choice": 3}],
)
async def test_invalid_options_send_nothing(options: dict[str, Any]) -> None:
    model, transport = chat_model(reply("chat_completion_text"))
    with pytest.raises(ValidationError):
        await model.chat("Hi", **options)
    _assert_nothing_sent(transport)


def _transport() -> MockTransport:
    return MockTransport(reply("chat_completion_text"))


def test_misspelled_provider_is_not_found() -> None:
    transport = _transport()
    with pytest.raises(NotFoundError, match="opnai") as info:
        conduit.model("opnai/x", api_key="sk-test-abcdefgh", transport=transport)
    assert "'openai'" in str(info.value)  # "Did you mean 'openai'?"
    _assert_nothing_sent(transport)


@pytest.mark.parametrize("ref", ["openai/", "/gpt-4o", ""])
def test_model_without_provider_is_a_validation_error(ref: str) -> None:
    transport = _transport()
    with pytest.raises(ValidationError, match=r"provider prefix|a model is a string"):
        conduit.model(ref, api_key="sk-test-abcdefgh", transport=transport)
    _assert_nothing_sent(transport)


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_openai_key_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    else:
        monkeypatch.setenv("OPENAI_API_KEY", value)
    transport = _transport()
    for build in (
        lambda: conduit.model("openai/gpt-4o", transport=transport),
        lambda: OpenAIChatModel("gpt-4o", transport=transport),
        lambda: OpenAIEmbedder("text-embedding-3-small", transport=transport),
        lambda: conduit.embedder("openai/text-embedding-3-small", transport=transport),
    ):
        with pytest.raises(AuthenticationError, match="OPENAI_API_KEY") as info:
            build()
        assert info.value.provider == "openai"
        assert info.value.status_code is None
    _assert_nothing_sent(transport)


async def test_missing_key_through_chat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(AuthenticationError, match="OPENAI_API_KEY"):
        await conduit.chat("openai/gpt-4o", "Hi")


def test_every_error_is_a_conduit_error() -> None:
    for _status, _fixture, cls in STATUS_CASES:
        assert issubclass(cls, ConduitError)
    assert issubclass(ValidationError, ValueError)
