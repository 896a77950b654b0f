"""`/v1/messages` and `/v1/responses` in front of an Anthropic deployment (a scripted
Anthropic Messages API on 127.0.0.1): what the client sent reaches Anthropic as it was
sent (through the Anthropic adapter's own mapping), and Anthropic's usage, cache counts
included, comes back to the client and the ledger."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import anthropic
import openai
import pytest
from aiohttp import web

from conduit.server.app import Gateway
from conduit.storage.events import EventFilter

USAGE = {
    "input_tokens": 7,
    "output_tokens": 3,
    "cache_read_input_tokens": 20,
    "cache_creation_input_tokens": 0,
}
PNG = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}


def _sse(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


@pytest.fixture
async def claude(gateway: Gateway) -> AsyncIterator[list[dict[str, Any]]]:
    """An Anthropic upstream as the group `claude`; yields the payloads it received."""
    received: list[dict[str, Any]] = []

    async def messages(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        received.append(body)
        message = {
            "id": "msg_up",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": "Bonjour"}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": USAGE,
        }
        if not body.get("stream"):
            return web.json_response(message)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        start = {
            **message,
            "content": [],
            "stop_reason": None,
            "usage": {**USAGE, "output_tokens": 1},
        }
        for name, data in (
            ("message_start", {"type": "message_start", "message": start}),
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": "Bon"},
                },
            ),
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": "jour"},
                },
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": 3},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ):
            await response.write(_sse(name, data))
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/v1/messages", messages)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    from conduit.routing import Deployment

    gateway.router.add_deployment(
        "claude",
        Deployment(
            "anthropic/claude-test",
            connection={"api_key": "sk-ant-upstream", "base_url": f"http://127.0.0.1:{port}/v1"},
        ),
    )
    try:
        yield received
    finally:
        await runner.cleanup()


TURNS: list[dict[str, Any]] = [
    {
        "role": "user",
        "content": [{"type": "text", "text": "Look"}, {"type": "image", "source": PNG}],
    },
    {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "w", "input": {"city": "Paris"}}],
    },
    {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny"}],
    },
]


async def test_messages_reach_anthropic_as_sent(
    gateway: Gateway, add_key: Callable[..., Any], claude: list[dict[str, Any]]
) -> None:
    key_id, secret = await add_key()
    base = gateway.url.removesuffix("/v1")
    tool = {"name": "w", "input_schema": {"type": "object"}}
    async with anthropic.AsyncAnthropic(base_url=base, api_key=secret, max_retries=0) as c:
        message = await c.messages.create(
            model="claude",
            max_tokens=30,
            system="Be brief.",
            messages=TURNS,
            tools=[tool],  # type: ignore[arg-type]
        )
        async with c.messages.stream(model="claude", max_tokens=30, messages=TURNS[:1]) as s:  # type: ignore[arg-type]
            streamed = await s.get_final_message()
    sent = claude[0]
    assert sent["model"] == "claude-test"
    assert sent["max_tokens"] == 30
    assert sent["system"] in ("Be brief.", [{"type": "text", "text": "Be brief."}])
    assert sent["messages"] == TURNS
    assert [t["name"] for t in sent["tools"]] == ["w"]
    assert message.content[0].type == "text"
    assert message.content[0].text == "Bonjour"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (7, 3)
    assert message.usage.cache_read_input_tokens == 20
    assert streamed.content[0].type == "text"
    assert streamed.content[0].text == "Bonjour"
    assert streamed.usage.output_tokens == 3
    found = await gateway.events.events(EventFilter(key_id=key_id))
    assert [(e.status, e.provider, e.input_tokens) for e in found] == [(200, "anthropic", 27)] * 2


async def test_responses_through_anthropic(
    gateway: Gateway, add_key: Callable[..., Any], claude: list[dict[str, Any]]
) -> None:
    _, secret = await add_key()
    async with openai.AsyncOpenAI(base_url=gateway.url, api_key=secret, max_retries=0) as c:
        first = await c.responses.create(model="claude", input="Hi", instructions="Be brief.")
        assert first.output_text == "Bonjour"
        assert first.usage is not None
        assert first.usage.input_tokens_details.cached_tokens == 20
        async with c.responses.stream(
            model="claude", input="Again", previous_response_id=first.id
        ) as s:
            second = await s.get_final_response()
    assert second.output_text == "Bonjour"
    assert claude[1]["messages"] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Bonjour"},
        {"role": "user", "content": "Again"},
    ]
    assert "system" not in claude[1]  # instructions are for their own response only
