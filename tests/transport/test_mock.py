"""MockTransport, json_response, sse_response, and HTTPClient on top of them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from conduit import errors
from conduit.transport import (
    HTTPClient,
    HTTPRequest,
    HTTPResponse,
    MockTransport,
    RetryPolicy,
    Timeout,
    json_response,
    sse_response,
)


async def test_sync_handler_and_recorded_requests() -> None:
    transport = MockTransport(lambda req: json_response({"echo": req.json(), "url": req.url}))
    client = HTTPClient(transport, provider="mock", headers={"authorization": "Bearer t"})
    assert await client.post_json("http://test/a", {"x": 1}) == {
        "echo": {"x": 1},
        "url": "http://test/a",
    }
    assert await client.get_json("http://test/b") == {"echo": None, "url": "http://test/b"}
    first, second = transport.requests
    assert (first.method, first.url, first.content) == ("POST", "http://test/a", b'{"x":1}')
    assert first.headers["authorization"] == "Bearer t"
    assert first.headers["content-type"] == "application/json"
    assert (second.method, second.content) == ("GET", None)
    assert second.json() is None


async def test_async_handler() -> None:
    async def handler(request: HTTPRequest) -> HTTPResponse:
        await asyncio.sleep(0)
        return json_response({"n": len(request.content or b"")}, status=201)

    client = HTTPClient(MockTransport(handler), provider="mock")
    assert await client.post_json("http://test/", [1, 2]) == {"n": 5}


async def test_handler_raising_connection_error_is_retried() -> None:
    calls = 0

    def handler(request: HTTPRequest) -> HTTPResponse:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise errors.APIConnectionError("boom")
        return json_response({"ok": True})

    retry = RetryPolicy(max_retries=2, initial_delay=0)
    client = HTTPClient(MockTransport(handler), provider="mock", retry=retry)
    assert await client.post_json("http://test/", {}) == {"ok": True}
    assert calls == 3


async def test_handler_connection_error_gets_the_provider() -> None:
    def handler(request: HTTPRequest) -> HTTPResponse:
        raise errors.TimeoutError("too slow")

    client = HTTPClient(MockTransport(handler), provider="mock", retry=RetryPolicy(max_retries=0))
    with pytest.raises(errors.TimeoutError) as info:
        await client.post_json("http://test/", {})
    assert info.value.provider == "mock"
    assert info.value.message == "too slow"


async def test_timeout_travels_on_the_request() -> None:
    transport = MockTransport(lambda req: json_response({}))
    timeout = Timeout(connect=1, read=2, total=3)
    await HTTPClient(transport, provider="m", timeout=timeout).post_json("http://t/", {})
    assert transport.requests[0].timeout == timeout


def test_json_response() -> None:
    response = json_response({"a": [1]}, status=418, headers={"X-Request-ID": "r1"})
    assert response.status == 418
    assert response.content == b'{"a":[1]}'
    assert response.headers["content-type"] == "application/json"
    assert response.header("x-request-id") == "r1"
    assert response.header("X-Request-Id") == "r1"
    assert response.header("missing") is None
    assert response.stream is None


async def test_error_status_from_mock() -> None:
    transport = MockTransport(
        lambda req: json_response(
            {"error": {"message": "nope", "type": "permission_error"}},
            status=403,
            headers={"request-id": "rq"},
        )
    )
    with pytest.raises(errors.PermissionDeniedError) as info:
        await HTTPClient(transport, provider="m").post_json("http://t/", {})
    assert (info.value.status_code, info.value.request_id) == (403, "rq")


async def test_sse_response_chunking() -> None:
    response = sse_response(["a", {"b": 2}], chunk_size=3)
    assert response.header("content-type") == "text/event-stream"
    chunks = [c async for c in response.aiter_bytes()]
    assert all(len(c) <= 3 for c in chunks)
    assert b"".join(chunks) == b'data: a\n\ndata: {"b":2}\n\ndata: [DONE]\n\n'


async def test_sse_response_without_done_and_raw_bytes() -> None:
    response = sse_response(["x"], done=False, status=202, headers={"X-A": "1"})
    assert response.status == 202
    assert response.header("x-a") == "1"
    assert await response.aread() == b"data: x\n\n"
    raw = sse_response(b"event: e\ndata: 1\n\n", chunk_size=1)
    assert len([c async for c in raw.aiter_bytes()]) == len(b"event: e\ndata: 1\n\n")
    empty = sse_response(b"")
    assert await empty.aread() == b""


@pytest.mark.parametrize("chunk_size", [None, 1, 2, 5, 1000])
async def test_stream_sse_through_mock(chunk_size: int | None) -> None:
    events: list[str | dict[str, Any]] = [{"i": 1}, "caf\u00e9", {"i": 2}]
    transport = MockTransport(lambda req: sse_response(events, chunk_size=chunk_size))
    client = HTTPClient(transport, provider="m")
    got = [e.data async for e in client.stream_sse("http://t/", {"stream": True})]
    assert got == ['{"i":1}', "caf\u00e9", '{"i":2}']
    assert transport.requests[0].headers["accept"] == "text/event-stream"
    assert client.headers["accept"] == "application/json"  # the client's own dict is untouched


async def test_stream_without_done_ends_cleanly() -> None:
    transport = MockTransport(lambda req: sse_response(["1", "2"], done=False))
    client = HTTPClient(transport, provider="m")
    assert [e.data async for e in client.stream_sse("http://t/", {})] == ["1", "2"]


async def test_non_streaming_send_drains_a_stream_body() -> None:
    transport = MockTransport(lambda req: sse_response(b'{"ok": 1}', chunk_size=2))
    response = await transport.send(HTTPRequest("GET", "http://t/"))
    assert response.stream is None
    assert response.content == b'{"ok": 1}'


async def test_stream_error_status_from_mock() -> None:
    transport = MockTransport(
        lambda req: json_response({"error": {"message": "bad key"}}, status=401)
    )
    client = HTTPClient(transport, provider="m")
    with pytest.raises(errors.AuthenticationError):
        async for _ in client.stream_sse("http://t/", {}):
            pass  # pragma: no cover - never reached


async def test_aclose() -> None:
    transport = MockTransport(lambda req: json_response({}))
    assert not transport.closed
    await transport.aclose()
    assert transport.closed


def test_client_repr_and_redact() -> None:
    client = HTTPClient(
        MockTransport(lambda req: json_response({})), provider="demo", secrets=["my-secret-key"]
    )
    assert repr(client) == "HTTPClient(provider='demo', transport=MockTransport)"
    assert client.redact("key=my-secret-key!") == "key=[REDACTED]!"
    assert client.retry == RetryPolicy()
