"""Proxies from the standard environment variables, resolved once per origin.

The proxy here is a scripted server on 127.0.0.1: an HTTP proxy receives the request
with the absolute URL of the upstream in its request line (RFC 9112 §3.2.2).
"""

from __future__ import annotations

import asyncio

import pytest

from conduit.transport import HTTPClient
from conduit.transport.aiohttp_transport import AiohttpTransport

from .conftest import RawServer, response_head

UPSTREAM = "http://api.upstream.test/v1/chat/completions"


async def _ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    body = b'{"ok": true}'
    writer.write(response_head(200, {"Content-Type": "application/json"}, length=len(body)) + body)
    await writer.drain()


def _clear_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


async def test_http_proxy_from_environment(
    raw_server: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clear_proxy_env(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", raw_server.url("").rstrip("/"))
    raw_server.answer(_ok)
    transport = AiohttpTransport()
    try:
        client = HTTPClient(transport, provider="p", retry=None)
        assert await client.post_json(UPSTREAM, {"a": 1}) == {"ok": True}
        assert await client.post_json(UPSTREAM, {"a": 2}) == {"ok": True}
    finally:
        await transport.aclose()
    # The proxy saw the upstream's absolute URL; the upstream name was never looked up here.
    assert [seen.path for seen in raw_server.requests] == [UPSTREAM, UPSTREAM]
    assert raw_server.requests[0].headers["host"] == "api.upstream.test"


async def test_no_proxy_bypasses_the_proxy(
    raw_server: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clear_proxy_env(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    raw_server.answer(_ok)
    transport = AiohttpTransport()
    try:
        client = HTTPClient(transport, provider="p")
        assert await client.post_json(raw_server.url("/v1/x"), {}) == {"ok": True}
    finally:
        await transport.aclose()
    assert raw_server.requests[0].path == "/v1/x"


def test_proxy_is_resolved_once_per_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear_proxy_env(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    transport = AiohttpTransport()
    assert transport._proxy("https://api.openai.com/v1/chat/completions") == (
        "http://proxy.internal:3128"
    )
    assert transport._proxy("http://api.openai.com/v1") is None  # no HTTP_PROXY set
    monkeypatch.delenv("HTTPS_PROXY")
    # Cached: the environment is read once per origin, not on every request.
    assert transport._proxy("https://api.openai.com/v1/embeddings") == "http://proxy.internal:3128"
    assert transport._proxy("https://other.test") is None


async def test_a_closed_session_is_replaced(raw_server: RawServer) -> None:
    raw_server.answer(_ok)
    transport = AiohttpTransport()
    client = HTTPClient(transport, provider="p")
    try:
        await client.post_json(raw_server.url(), {})
        first = transport._last_session
        assert first is not None
        await first.close()  # closed behind the transport's back
        await client.post_json(raw_server.url(), {})
        assert transport._last_session is not first
    finally:
        await transport.aclose()
