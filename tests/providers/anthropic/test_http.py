"""End to end over real HTTP on 127.0.0.1: the adapter with its default aiohttp transport
against a small scripted Messages API server (headers, JSON, SSE with `event:` lines,
a 529 retried)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from conduit import _json
from conduit.providers.anthropic import AnthropicChatModel
from conduit.schema import Done, TextDelta
from tests.providers.anthropic.conftest import (
    TEST_KEY,
    assert_valid_anthropic_request,
    load_fixture,
    sse_bytes,
)


class MessagesServer:
    """Answers `POST /v1/messages`: first `overloaded` 529s, then the fixture."""

    def __init__(self) -> None:
        self.seen: list[tuple[dict[str, str], Any]] = []
        self.overloaded = 0
        app = web.Application()
        app.router.add_post("/v1/messages", self.messages)
        self.server = TestServer(app, host="127.0.0.1")

    async def messages(self, request: web.Request) -> web.StreamResponse:
        body = _json.loads(await request.read())
        self.seen.append((dict(request.headers), body))
        if self.overloaded:
            self.overloaded -= 1
            return web.Response(
                status=529,
                body=_json.dumps(load_fixture("error_overloaded")),
                headers={"request-id": "req_1", "retry-after": "0"},
                content_type="application/json",
            )
        if not body.get("stream"):
            return web.Response(
                body=_json.dumps(load_fixture("message_text")), content_type="application/json"
            )
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        for event in load_fixture("stream_text"):
            await response.write(sse_bytes([event]))
        await response.write_eof()
        return response


@pytest.fixture
async def server() -> AsyncIterator[MessagesServer]:
    scripted = MessagesServer()
    await scripted.server.start_server()
    yield scripted
    await scripted.server.close()


async def test_chat_and_stream_over_http(server: MessagesServer) -> None:
    base_url = str(server.server.make_url("/v1"))
    async with AnthropicChatModel("claude-haiku-4-5", api_key=TEST_KEY, base_url=base_url) as model:
        server.overloaded = 1
        response = await model.chat("Hello")
        assert response.text == "Hello! How can I help you today?"
        events = [event async for event in model.stream("Hello")]

    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == (
        "Hello! How can I help you today?"
    )
    assert isinstance(events[-1], Done)
    assert len(server.seen) == 3  # a 529, its retry, the stream
    for headers, body in server.seen:
        assert headers["x-api-key"] == TEST_KEY
        assert headers["anthropic-version"] == "2023-06-01"
        assert_valid_anthropic_request(body)
