"""The API key never leaks: not into an error's message, repr, args or body, not into a
traceback, not into the logs, not into a model's repr.

Every error path is forced with a recognizable fake key, through the OpenAI adapter and
`MockTransport`. Two keys are used: one shaped like an OpenAI key (`sk-...`, which the
redactor would also catch by its shape) and one that is not, so the redaction of the
*configured* secret is tested on its own.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

import conduit
from conduit.errors import (
    APIConnectionError,
    AuthenticationError,
    ConduitError,
    ServerError,
    TimeoutError,
)
from conduit.providers.openai import OpenAIChatModel, OpenAIEmbedder
from conduit.transport import HTTPRequest, HTTPResponse, MockTransport, json_response, sse_response

SK_KEY = "sk-LEAKCHECK-0123456789abcdef"
PLAIN_KEY = (
    "LEAKCHECK_plain_0123456789abcdef"  # no credential shape: only the secret list catches it
)
KEYS = [SK_KEY, PLAIN_KEY]

STATUSES = [400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504]

Handler = Callable[[HTTPRequest], HTTPResponse]


def echo_error(key: str) -> dict[str, Any]:
    """An OpenAI error object that (unlike the real API, which masks it) echoes the key."""
    return {
        "error": {
            "message": f"Incorrect API key provided: {key}. Authorization: Bearer {key}",
            "type": "invalid_request_error",
            "param": key,
            "code": "invalid_api_key",
        }
    }


def places(exc: BaseException) -> dict[str, str]:
    """Everywhere an error could show the key."""
    found = {
        "str": str(exc),
        "repr": repr(exc),
        "args": repr(exc.args),
        "traceback": "".join(traceback.format_exception(exc)),
    }
    if isinstance(exc, ConduitError):
        found["message"] = exc.message
        found["body"] = repr(exc.body)
        found["fields"] = repr(vars(exc))
    return found


def assert_no_key(
    key: str, exc: BaseException, caplog: pytest.LogCaptureFixture, *models: Any
) -> None:
    leaks = [name for name, text in places(exc).items() if key in text]
    logged = caplog.text + "".join(repr(r.args) + r.getMessage() for r in caplog.records)
    if key in logged:
        leaks.append("logs")
    for model in models:
        if key in repr(model) or key in str(model):
            leaks.append(f"repr({type(model).__name__})")
        if key in repr(model.model_info):
            leaks.append("model_info")
    assert not leaks, f"the key leaked into: {leaks}"


def chat(handler: Handler, key: str, **config: Any) -> OpenAIChatModel:
    config.setdefault("max_retries", 0)
    return OpenAIChatModel("gpt-4o", api_key=key, transport=MockTransport(handler), **config)


async def raised(call: Callable[[], Awaitable[Any]]) -> BaseException:
    try:
        await call()
    except ConduitError as exc:
        return exc
    raise AssertionError("no error was raised")


async def drain(model: OpenAIChatModel) -> None:
    async for _event in model.stream("Hi"):
        pass


@pytest.fixture(autouse=True)
def _debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


# ----------------------------------------------------------------------- HTTP errors


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("mode", ["chat", "stream", "embed"])
async def test_error_status_echoing_the_key(
    key: str, status: int, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    def handler(request: HTTPRequest) -> HTTPResponse:
        return json_response(echo_error(key), status=status, headers={"x-request-id": "req_1"})

    model: Any
    if mode == "embed":
        model = OpenAIEmbedder("e", api_key=key, transport=MockTransport(handler), max_retries=0)
        exc = await raised(lambda: model.embed("Hi"))
    else:
        model = chat(handler, key)
        exc = await raised(lambda: model.chat("Hi") if mode == "chat" else drain(model))
    assert isinstance(exc, ConduitError)
    assert exc.status_code == status
    assert "[REDACTED]" in str(exc)  # the message was kept, only the key removed
    assert_no_key(key, exc, caplog, model)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("status", [401, 500])
async def test_error_body_that_is_not_json_echoing_the_key(
    key: str, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    body = f"<html><body>Bad credentials: Bearer {key} ({key})</body></html>".encode()
    model = chat(lambda request: HTTPResponse(status, {"content-type": "text/html"}, body), key)
    exc = await raised(lambda: model.chat("Hi"))
    assert_no_key(key, exc, caplog, model)


@pytest.mark.parametrize("key", KEYS)
async def test_retries_log_nothing_secret(key: str, caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: HTTPRequest) -> HTTPResponse:
        return json_response(echo_error(key), status=503, headers={"retry-after": "0"})

    model = chat(handler, key, max_retries=2)
    exc = await raised(lambda: model.chat("Hi"))
    assert isinstance(exc, ServerError)
    assert caplog.records, "the retries should have been logged"
    assert_no_key(key, exc, caplog, model)


# -------------------------------------------------------------------- malformed bodies


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize(
    "body",
    [
        "not json at all: {key}",
        '{{"detail": "your key {key} is fine", "choices": []}}',
        '{{"message": "echo {key}"}}',
        '[{{"key": "{key}"}}]',
    ],
)
async def test_malformed_success_body_echoing_the_key(
    key: str, body: str, caplog: pytest.LogCaptureFixture
) -> None:
    content = body.format(key=key).encode()
    model = chat(
        lambda request: HTTPResponse(200, {"content-type": "application/json"}, content), key
    )
    exc = await raised(lambda: model.chat("Hi"))
    assert isinstance(exc, APIConnectionError)
    assert_no_key(key, exc, caplog, model)

    embedder = OpenAIEmbedder(
        "e",
        api_key=key,
        max_retries=0,
        transport=MockTransport(lambda r: HTTPResponse(200, {}, content)),
    )
    exc = await raised(lambda: embedder.embed("Hi"))
    assert isinstance(exc, APIConnectionError)
    assert_no_key(key, exc, caplog, embedder)


# -------------------------------------------------------------------------- streams


def _chunk(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1741570283,
        "model": "gpt-4o",
        "choices": [
            {"index": 0, "delta": {"content": text}, "logprobs": None, "finish_reason": None}
        ],
    }


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize(
    "make",
    [
        # the transport's own checks: `data: {"error"...` and `event: error`
        lambda key: sse_response([_chunk("Hi"), echo_error(key)]),
        lambda key: sse_response(
            b'data: {"choices": []}\n\nevent: error\ndata: '
            + json_response(echo_error(key)).content
            + b"\n\n"
        ),
        lambda key: sse_response(b"event: error\ndata: not json " + key.encode() + b"\n\n"),
        # the adapter's checks: an error object spelled differently, a malformed chunk
        lambda key: sse_response([_chunk("Hi"), '{ "error": {"message": "bad key ' + key + '"}}']),
        lambda key: sse_response(
            [_chunk("Hi"), '{"id": "x", "error": {"message": "bad key ' + key + '"}}']
        ),
        lambda key: sse_response([_chunk("Hi"), '{"content": "' + key + '", ']),
        lambda key: sse_response([_chunk("Hi"), f'["{key}"]']),
        # a stream that just stops
        lambda key: sse_response([_chunk(key)], done=False),
    ],
    ids=[
        "error-data",
        "error-event",
        "error-event-not-json",
        "spaced",
        "id-first",
        "malformed",
        "list",
        "cut",
    ],
)
async def test_stream_errors(
    key: str, make: Callable[[str], HTTPResponse], caplog: pytest.LogCaptureFixture
) -> None:
    model = chat(lambda request: make(key), key)
    exc = await raised(lambda: drain(model))
    assert_no_key(key, exc, caplog, model)


# ---------------------------------------------------------------- connection failures


def _failing_transport(key: str, cls: type[APIConnectionError]) -> Handler:
    def handler(request: HTTPRequest) -> HTTPResponse:
        # A network library's message may quote what it sent, headers included.
        raise cls(f"cannot connect to {request.url}: Authorization: Bearer {key}")

    return handler


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("cls", [APIConnectionError, TimeoutError])
@pytest.mark.parametrize("mode", ["chat", "stream"])
async def test_connection_error_message(
    key: str, cls: type[APIConnectionError], mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    model = chat(_failing_transport(key, cls), key, max_retries=1)
    exc = await raised(lambda: model.chat("Hi") if mode == "chat" else drain(model))
    assert isinstance(exc, cls)
    for name in ("str", "repr", "args", "message", "body", "fields"):
        assert key not in places(exc)[name], name
    assert key not in caplog.text


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("mode", ["chat", "stream"])
async def test_connection_error_traceback(
    key: str, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    model = chat(_failing_transport(key, APIConnectionError), key)
    exc = await raised(lambda: model.chat("Hi") if mode == "chat" else drain(model))
    assert_no_key(key, exc, caplog, model)


@pytest.mark.parametrize("key", KEYS)
async def test_connection_cut_mid_stream(key: str, caplog: pytest.LogCaptureFixture) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"data: " + json_response(_chunk("Hi")).content + b"\n\n"
        raise APIConnectionError(f"connection reset while sending Bearer {key}")

    model = chat(
        lambda request: HTTPResponse(
            200, {"content-type": "text/event-stream"}, b"", stream=body()
        ),
        key,
    )
    exc = await raised(lambda: drain(model))
    assert_no_key(key, exc, caplog, model)


# ----------------------------------------------------------------- keys and reprs


def test_missing_key_error_names_the_variable_not_a_value(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", SK_KEY)  # a key for another provider
    with pytest.raises(AuthenticationError) as info:
        conduit.model("openai/gpt-4o", transport=MockTransport(lambda r: json_response({})))
    assert "OPENAI_API_KEY" in str(info.value)
    assert_no_key(SK_KEY, info.value, caplog)


def test_blank_key_variable_is_missing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "   ")
    with pytest.raises(AuthenticationError, match="OPENAI_API_KEY") as info:
        OpenAIEmbedder("e", transport=MockTransport(lambda r: json_response({})))
    assert_no_key(SK_KEY, info.value, caplog)


@pytest.mark.parametrize("key", KEYS)
def test_reprs(key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", key)
    transport = MockTransport(lambda r: json_response({}))
    objects: list[Any] = [
        OpenAIChatModel(
            "gpt-4o", api_key=key, transport=transport, organization="org-1", project="p"
        ),
        OpenAIChatModel("gpt-4o", transport=transport),
        OpenAIEmbedder("e", api_key=key, transport=transport),
        conduit.model("openai/gpt-4o", transport=transport),
    ]
    for obj in objects:
        assert key not in repr(obj)
        assert key not in str(obj)
        assert key not in repr(obj.model_info)
        assert key not in repr(obj._conn.client)
