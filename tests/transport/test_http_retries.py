"""Retries over real HTTP: Retry-After, backoff, x-should-retry, connection failures,
timeouts and broken bodies."""

from __future__ import annotations

import asyncio
import email.utils
import socket
import time
import traceback

import pytest

from conduit import errors
from conduit.transport import HTTPClient, HTTPRequest, HTTPResponse, RetryPolicy, Timeout
from conduit.transport.aiohttp_transport import AiohttpTransport

from .conftest import (
    RawServer,
    WebServer,
    make_client,
    reply,
    reset,
    response_head,
    wait_for_client_to_leave,
)

OK = reply(200, {"ok": True})


async def test_429_retry_after_seconds_then_success(
    web_server: WebServer, transport: AiohttpTransport, sleeps: list[float]
) -> None:
    web_server.answer(reply(429, {"error": {"message": "slow"}}, headers={"Retry-After": "3"}), OK)
    assert await make_client(transport).post_json(web_server.url(), {}) == {"ok": True}
    assert sleeps == [3.0]
    assert len(web_server.requests) == 2


async def test_429_retry_after_http_date(
    web_server: WebServer, transport: AiohttpTransport, sleeps: list[float]
) -> None:
    sent = time.time()
    when = email.utils.formatdate(sent + 5, usegmt=True)  # whole seconds: int(sent) + 5
    web_server.answer(reply(429, headers={"Retry-After": when}), OK)
    assert await make_client(transport).post_json(web_server.url(), {}) == {"ok": True}
    read = time.time()
    assert len(sleeps) == 1
    # The date less the time it was read at, which lies between `sent` and `read`.
    assert int(sent) + 5 - read <= sleeps[0] <= int(sent) + 5 - sent


async def test_429_retry_after_ms_wins(
    web_server: WebServer, transport: AiohttpTransport, sleeps: list[float]
) -> None:
    headers = {"retry-after-ms": "250", "Retry-After": "9"}
    web_server.answer(reply(429, headers=headers), OK)
    assert await make_client(transport).post_json(web_server.url(), {}) == {"ok": True}
    assert sleeps == [0.25]


async def test_retry_after_too_long_raises_at_once(
    web_server: WebServer, transport: AiohttpTransport, sleeps: list[float]
) -> None:
    web_server.answer(reply(429, {"error": {"message": "quota"}}, headers={"Retry-After": "120"}))
    client = make_client(transport, max_retry_after=60)
    with pytest.raises(errors.RateLimitError) as info:
        await client.post_json(web_server.url(), {})
    assert info.value.retry_after == 120.0
    assert info.value.status_code == 429
    assert sleeps == []
    assert len(web_server.requests) == 1


async def test_500_then_success_uses_backoff(
    web_server: WebServer, transport: AiohttpTransport, sleeps: list[float]
) -> None:
    web_server.answer(reply(500, {"error": {"message": "oops"}}), OK)
    client = HTTPClient(transport, provider="p", retry=RetryPolicy(initial_delay=0.5, jitter=False))
    assert await client.post_json(web_server.url(), {}) == {"ok": True}
    assert sleeps == [0.5]


async def test_retries_exhausted_raise_the_typed_error(
    web_server: WebServer, transport: AiohttpTransport, sleeps: list[float]
) -> None:
    web_server.answer(
        reply(503, {"error": {"message": "overloaded"}}, headers={"x-request-id": "r9"})
    )
    client = HTTPClient(
        transport, provider="p", retry=RetryPolicy(max_retries=3, initial_delay=1, jitter=False)
    )
    with pytest.raises(errors.ServerError) as info:
        await client.post_json(web_server.url(), {})
    assert info.value.status_code == 503
    assert info.value.request_id == "r9"
    assert len(web_server.requests) == 4
    assert sleeps == [1, 2, 4]  # exponential


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequestError),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (422, errors.BadRequestError),
    ],
)
async def test_client_errors_are_never_retried(
    web_server: WebServer,
    transport: AiohttpTransport,
    sleeps: list[float],
    status: int,
    cls: type[Exception],
) -> None:
    web_server.answer(reply(status, {"error": {"message": "no"}}, headers={"Retry-After": "1"}))
    with pytest.raises(cls):
        await make_client(transport, max_retries=5).post_json(web_server.url(), {})
    assert len(web_server.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503])
async def test_retryable_statuses(
    web_server: WebServer, transport: AiohttpTransport, sleeps: list[float], status: int
) -> None:
    web_server.answer(reply(status, headers={"retry-after-ms": "1"}), OK)
    assert await make_client(transport).post_json(web_server.url(), {}) == {"ok": True}
    assert sleeps == [0.001]


async def test_x_should_retry_true_retries_a_400(
    web_server: WebServer, transport: AiohttpTransport, sleeps: list[float]
) -> None:
    web_server.answer(reply(400, headers={"x-should-retry": "true", "retry-after-ms": "5"}), OK)
    assert await make_client(transport).post_json(web_server.url(), {}) == {"ok": True}
    assert sleeps == [0.005]


async def test_x_should_retry_false_stops_a_503(
    web_server: WebServer, transport: AiohttpTransport, sleeps: list[float]
) -> None:
    web_server.answer(reply(503, headers={"x-should-retry": "False"}), OK)
    with pytest.raises(errors.ServerError):
        await make_client(transport).post_json(web_server.url(), {})
    assert len(web_server.requests) == 1
    assert sleeps == []


async def test_connection_refused_is_retried_then_raised(
    transport: AiohttpTransport, sleeps: list[float]
) -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(transport, max_retries=2)
    with pytest.raises(errors.APIConnectionError) as info:
        await client.post_json(
            f"http://127.0.0.1:{port}/v1/chat?key=AIzaSecretSecretSecret12345", {}
        )
    exc = info.value
    assert type(exc) is errors.APIConnectionError
    assert exc.provider == "testprov"
    assert len(sleeps) == 2
    assert "could not reach POST" in exc.message
    # The original error is not chained: it could quote the URL or headers unredacted.
    assert exc.__cause__ is None
    assert exc.__context__ is None
    assert "AIzaSecret" not in "".join(traceback.format_exception(exc))


async def test_connection_refused_then_server_comes_up(
    transport: AiohttpTransport, sleeps: list[float], web_server: WebServer
) -> None:
    # The first attempt goes to a dead port, the retry to a live one: the transport
    # error was retried, not raised.
    calls = 0
    real_send = transport.send

    async def send(request: HTTPRequest, *, stream: bool = False) -> HTTPResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            request = HTTPRequest(request.method, f"http://127.0.0.1:{port}/", request.headers)
        return await real_send(request, stream=stream)

    transport.send = send  # type: ignore[method-assign]
    assert await make_client(transport).post_json(web_server.url(), {}) == {"ok": True}
    assert calls == 2
    assert len(sleeps) == 1


async def test_reset_before_answer_is_retried(
    raw_server: RawServer, transport: AiohttpTransport, sleeps: list[float]
) -> None:
    async def rst(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        reset(writer)

    async def ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(response_head(200, {"Content-Type": "application/json"}, length=11))
        writer.write(b'{"ok":true}')
        await writer.drain()

    raw_server.answer(rst, ok)
    assert await make_client(transport).post_json(raw_server.url(), {}) == {"ok": True}
    assert len(raw_server.requests) == 2
    assert len(sleeps) == 1


async def test_abrupt_close_exhausts_retries(
    raw_server: RawServer, transport: AiohttpTransport, sleeps: list[float]
) -> None:
    async def close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    raw_server.answer(close)
    with pytest.raises(errors.APIConnectionError) as info:
        await make_client(transport, max_retries=1).post_json(raw_server.url(), {})
    assert type(info.value) is errors.APIConnectionError
    assert info.value.provider == "testprov"
    assert len(raw_server.requests) == 2
    assert len(sleeps) == 1


async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await wait_for_client_to_leave(reader)


async def test_read_timeout_from_transport(raw_server: RawServer, sleeps: list[float]) -> None:
    raw_server.answer(stall)
    transport = AiohttpTransport(timeout=Timeout(connect=1, read=0.2))
    try:
        # The transport's 0.2 s applies, not the default 600 s: the guard tells them apart
        # without timing a busy machine.
        with pytest.raises(errors.TimeoutError) as info:
            await asyncio.wait_for(
                make_client(transport, max_retries=0).post_json(raw_server.url(), {}), 60
            )
    finally:
        await transport.aclose()
    assert info.value.provider == "testprov"
    assert "timed out" in info.value.message
    assert isinstance(info.value, errors.APIConnectionError)


async def test_read_timeout_per_request_is_retried(
    raw_server: RawServer, transport: AiohttpTransport, sleeps: list[float]
) -> None:
    async def ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(response_head(200, {"Content-Type": "application/json"}, length=2) + b"{}")
        await writer.drain()

    raw_server.answer(stall, ok)
    # The retry's answer is immediate; the limit leaves room for a busy machine's pauses.
    client = make_client(transport, max_retries=1, timeout=Timeout(read=1))
    assert await client.post_json(raw_server.url(), {}) == {}
    assert len(sleeps) == 1
    assert len(raw_server.requests) == 2


async def test_timeout_exhausted(
    raw_server: RawServer, transport: AiohttpTransport, sleeps: list[float]
) -> None:
    raw_server.answer(stall)
    client = make_client(transport, max_retries=1, timeout=Timeout(read=0.1))
    with pytest.raises(errors.TimeoutError):
        await client.post_json(raw_server.url(), {})
    assert len(raw_server.requests) == 2


async def test_truncated_200_body(
    raw_server: RawServer, transport: AiohttpTransport, sleeps: list[float]
) -> None:
    async def truncated(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(response_head(200, {"Content-Type": "application/json"}, length=100))
        writer.write(b'{"id": "chatcmpl-1", "choi')
        await writer.drain()
        writer.close()

    raw_server.answer(truncated)
    with pytest.raises(errors.APIConnectionError) as info:
        await make_client(transport, max_retries=1).post_json(raw_server.url(), {})
    assert type(info.value) is errors.APIConnectionError
    assert "closed mid-answer" in info.value.message
    assert len(raw_server.requests) == 2  # a cut body is a connection failure: retried


async def test_close_delimited_body_cut_short_is_not_json(
    raw_server: RawServer, transport: AiohttpTransport
) -> None:
    # No Content-Length: the body ends when the server closes, so HTTP cannot tell
    # that it was cut; the JSON parser can.
    async def truncated(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(response_head(200, {"Content-Type": "application/json"}))
        writer.write(b'{"id": "chatcmpl-1", "choi')
        await writer.drain()
        writer.close()

    raw_server.answer(truncated)
    with pytest.raises(errors.APIConnectionError) as info:
        await make_client(transport).post_json(raw_server.url(), {})
    assert info.value.status_code == 200
    assert "not valid JSON" in info.value.message
    assert "chatcmpl-1" in info.value.message  # a short excerpt


async def test_non_json_200_body(web_server: WebServer, transport: AiohttpTransport) -> None:
    web_server.answer(reply(200, text="<html>captive portal</html>", content_type="text/html"))
    with pytest.raises(errors.APIConnectionError) as info:
        await make_client(transport).post_json(web_server.url(), {})
    assert info.value.status_code == 200
    assert "captive portal" in info.value.message
    assert len(web_server.requests) == 1
