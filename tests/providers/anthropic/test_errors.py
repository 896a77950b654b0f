"""Errors through the Anthropic adapter: each error body of the API reference becomes the
typed error the caller can act on; retries on 429 and 529; the key never leaks."""

from __future__ import annotations

import logging
import traceback
from typing import Any

import pytest

from conduit.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ContextWindowExceededError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from conduit.providers.anthropic import AnthropicChatModel
from conduit.transport import HTTPRequest, HTTPResponse, MockTransport, json_response
from tests.providers.anthropic.conftest import chat_model, load_fixture, reply

# https://docs.anthropic.com/en/api/errors: HTTP status, error type, our class.
STATUS_CASES = [
    (400, "error_invalid_request", BadRequestError),
    (400, "error_prompt_too_long", ContextWindowExceededError),
    (401, "error_authentication", AuthenticationError),
    (402, "error_billing", PermissionDeniedError),
    (403, "error_permission", PermissionDeniedError),
    (404, "error_not_found", NotFoundError),
    (429, "error_rate_limit", RateLimitError),
    (500, "error_api", ServerError),
    (504, "error_timeout", ServerError),
    (529, "error_overloaded", ServerError),
]
REQUEST_ID = "req_011CSHoEeqs5C35K2UUqR7Fy"


def _failing(status: int, fixture: str) -> Any:
    headers = {"request-id": REQUEST_ID, "retry-after": "7"}
    return lambda request: json_response(load_fixture(fixture), status=status, headers=headers)


@pytest.mark.parametrize(("status", "fixture", "cls"), STATUS_CASES)
async def test_status_through_chat(status: int, fixture: str, cls: type[ProviderError]) -> None:
    model, transport = chat_model(_failing(status, fixture))
    with pytest.raises(cls) as info:
        await model.chat("Hi")
    exc = info.value
    assert type(exc) is cls
    assert exc.status_code == status
    assert exc.provider == "anthropic"
    assert exc.request_id == REQUEST_ID
    assert exc.retry_after == 7.0
    message = load_fixture(fixture)["error"]["message"]
    assert exc.message == message
    assert message in str(exc)
    assert exc.body is not None
    assert '"type":"error"' in exc.body
    assert len(transport.requests) == 1  # max_retries=0


@pytest.mark.parametrize(("status", "fixture", "cls"), STATUS_CASES)
async def test_status_through_stream(status: int, fixture: str, cls: type[ProviderError]) -> None:
    model, _ = chat_model(_failing(status, fixture))
    with pytest.raises(cls) as info:
        async for _event in model.stream("Hi"):
            pass
    assert info.value.request_id == REQUEST_ID


async def test_error_body_that_is_not_json() -> None:
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    model, _ = chat_model(lambda request: HTTPResponse(502, {"content-type": "text/html"}, html))
    with pytest.raises(ServerError, match="502 Bad Gateway") as info:
        await model.chat("Hi")
    assert info.value.status_code == 502


async def test_error_body_that_is_empty() -> None:
    model, _ = chat_model(lambda request: HTTPResponse(401, {}, b""))
    with pytest.raises(AuthenticationError, match="empty body"):
        await model.chat("Hi")


async def test_error_body_with_a_200_status() -> None:
    model, _ = chat_model(reply("error_overloaded"))
    with pytest.raises(ServerError, match="Overloaded"):
        await model.chat("Hi")


@pytest.mark.parametrize(
    ("status", "fixture"), [(429, "error_rate_limit"), (529, "error_overloaded")]
)
async def test_retries_rate_limits_and_overload_then_succeeds(status: int, fixture: str) -> None:
    answers = iter(
        [
            json_response(load_fixture(fixture), status=status, headers={"retry-after": "0"}),
            json_response(load_fixture(fixture), status=status, headers={"retry-after": "0"}),
            json_response(load_fixture("message_text")),
        ]
    )
    model, transport = chat_model(lambda request: next(answers), max_retries=2)
    response = await model.chat("Hi")
    assert response.text == "Hello! How can I help you today?"
    assert len(transport.requests) == 3
    # The same bytes each time.
    assert len({r.content for r in transport.requests}) == 1


async def test_overload_gives_up_after_max_retries() -> None:
    overloaded = load_fixture("error_overloaded")
    model, transport = chat_model(
        lambda request: json_response(overloaded, status=529, headers={"retry-after": "0"}),
        max_retries=1,
    )
    with pytest.raises(ServerError, match="Overloaded"):
        await model.chat("Hi")
    assert len(transport.requests) == 2


async def test_should_retry_header_is_obeyed() -> None:
    answers = iter(
        [
            json_response(
                load_fixture("error_overloaded"),
                status=529,
                headers={"x-should-retry": "false"},
            ),
        ]
    )
    model, transport = chat_model(lambda request: next(answers), max_retries=2)
    with pytest.raises(ServerError):
        await model.chat("Hi")
    assert len(transport.requests) == 1


async def test_bad_request_is_not_retried() -> None:
    model, transport = chat_model(_failing(400, "error_invalid_request"), max_retries=2)
    with pytest.raises(BadRequestError):
        await model.chat("Hi")
    assert len(transport.requests) == 1


async def test_connection_failure() -> None:
    def handler(request: HTTPRequest) -> HTTPResponse:
        raise APIConnectionError("connection reset by peer")

    model, _ = chat_model(handler)
    with pytest.raises(APIConnectionError, match="connection reset") as info:
        await model.chat("Hi")
    assert info.value.provider == "anthropic"


async def test_invalid_messages_send_nothing() -> None:
    model, transport = chat_model(reply("message_text"))
    with pytest.raises(ValidationError, match="tool_call_id"):
        await model.chat([{"role": "tool", "content": "42"}])
    with pytest.raises(ValidationError):
        async for _event in model.stream([]):
            pass
    assert transport.requests == []


# ------------------------------------------------------------------ no key leaks

PLAIN_KEY = "LEAKCHECK_plain_0123456789abcdef"  # no credential shape: only the secret list


def _echoing(status: int) -> Any:
    body = {
        "type": "error",
        "error": {"type": "authentication_error", "message": f"invalid x-api-key: {PLAIN_KEY}"},
    }
    return lambda request: json_response(body, status=status)


@pytest.mark.parametrize("status", [400, 401, 402, 429, 500, 529])
async def test_key_is_never_in_errors_or_logs(
    status: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    transport = MockTransport(_echoing(status))
    model = AnthropicChatModel("claude", api_key=PLAIN_KEY, transport=transport, max_retries=1)
    with pytest.raises(ProviderError) as info:
        await model.chat("Hi")
    exc = info.value
    for place in (
        str(exc),
        repr(exc),
        repr(exc.args),
        exc.body or "",
        "".join(traceback.format_exception(exc)),
        repr(model),
        caplog.text,
    ):
        assert PLAIN_KEY not in place
    assert "[REDACTED]" in exc.message
    # ...while the key did go where it belongs.
    assert transport.requests[0].headers["x-api-key"] == PLAIN_KEY


async def test_key_is_never_in_stream_errors() -> None:
    body = (
        b"event: error\n"
        b'data: {"type": "error", "error": {"type": "api_error", "message": "bad '
        + PLAIN_KEY.encode()
        + b'"}}\n\n'
    )
    from conduit.transport import sse_response

    model = AnthropicChatModel(
        "claude", api_key=PLAIN_KEY, transport=MockTransport(lambda r: sse_response(body))
    )
    with pytest.raises(ServerError) as info:
        async for _event in model.stream("Hi"):
            pass
    assert PLAIN_KEY not in str(info.value)
    assert PLAIN_KEY not in (info.value.body or "")
