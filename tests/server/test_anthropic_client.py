"""The official `anthropic` package as the client of a gateway's `/v1/messages`, in
front of the scripted OpenAI-compatible upstream: keys, budgets and usage as on chat."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import aiohttp
import anthropic
import openai
import pytest

from conduit.server.app import Gateway
from conduit.storage.events import EventFilter
from tests.server.conftest import PRICE_IN, PRICE_OUT, FrozenClock
from tests.support.openai_server import REPLY

HI = [{"role": "user", "content": "Hi there"}]
WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()


def client(gateway: Gateway, key: str) -> anthropic.AsyncAnthropic:
    base = gateway.url.removesuffix("/v1")
    return anthropic.AsyncAnthropic(base_url=base, api_key=key, max_retries=0)


async def test_messages(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    key_id, secret = await add_key(name="team")
    async with client(gateway, secret) as c:
        message = await c.messages.create(
            model="chat", max_tokens=50, system="Be brief.", messages=HI
        )
    assert message.content[0].type == "text"
    assert message.content[0].text == REPLY
    assert (message.role, message.model, message.stop_reason) == ("assistant", "chat", "end_turn")
    assert message.usage.input_tokens > 0
    assert message.usage.output_tokens > 0
    (event,) = await gateway.events.events(EventFilter(key_id=key_id))
    assert (event.model, event.status, event.provider) == ("chat", 200, "openai")
    assert event.input_tokens == message.usage.input_tokens
    assert event.output_tokens == message.usage.output_tokens
    expected = event.input_tokens * PRICE_IN + event.output_tokens * PRICE_OUT
    assert event.cost == pytest.approx(expected)


async def test_stream(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    key_id, secret = await add_key()
    async with (
        client(gateway, secret) as c,
        c.messages.stream(model="chat", max_tokens=50, messages=HI) as stream,
    ):
        kinds = [event.type async for event in stream]
        final = await stream.get_final_message()
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    for kind in ("content_block_start", "content_block_delta", "content_block_stop"):
        assert kind in kinds
    assert final.content[0].type == "text"
    assert final.content[0].text == REPLY
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0
    (event,) = await gateway.events.events(EventFilter(key_id=key_id))
    assert event.status == 200
    assert event.output_tokens == final.usage.output_tokens


async def test_tools_and_images(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    _, secret = await add_key()
    async with client(gateway, secret) as c:
        asked = await c.messages.create(
            model="chat",
            max_tokens=50,
            tools=[WEATHER],
            messages=[{"role": "user", "content": "Weather in Paris?"}],
        )
        assert asked.stop_reason == "tool_use"
        (use,) = [b for b in asked.content if b.type == "tool_use"]
        assert (use.name, use.input) == ("get_weather", {"city": "Paris"})
        # The tool's result, and an image, in the next turns.
        answer = await c.messages.create(
            model="chat",
            max_tokens=50,
            messages=[
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": asked.content},
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": use.id, "content": "Sunny"},
                    ],
                },
                {"role": "assistant", "content": "It is sunny."},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "And this picture?"},
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                        },
                    ],
                },
            ],
        )
        assert answer.content[0].type == "text"
        # Streamed: the tool call arrives as tool_use blocks with input_json deltas.
        async with c.messages.stream(
            model="chat", max_tokens=50, tools=[WEATHER], messages=HI
        ) as stream:
            final = await stream.get_final_message()
    assert final.stop_reason == "tool_use"
    (use,) = [b for b in final.content if b.type == "tool_use"]
    assert use.input == {"city": "Paris"}


async def test_count_tokens(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    _, secret = await add_key()
    async with client(gateway, secret) as c:
        counted = await c.messages.count_tokens(model="chat", messages=HI, system="Be brief.")
    assert counted.input_tokens > 0


async def test_errors_in_anthropic_shape(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    _, secret = await add_key(models=["embed"])
    async with client(gateway, "sk-cnd-wrong") as c:
        with pytest.raises(anthropic.AuthenticationError) as bad_key:
            await c.messages.create(model="chat", max_tokens=5, messages=HI)
    assert bad_key.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    async with client(gateway, secret) as c:
        with pytest.raises(anthropic.PermissionDeniedError):
            await c.messages.create(model="chat", max_tokens=5, messages=HI)
        with pytest.raises(anthropic.NotFoundError):
            await c.messages.create(model="nope", max_tokens=5, messages=HI)
    # Bearer works too; a bad field is a 400 naming it.
    headers = {"Authorization": f"Bearer {secret}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            gateway.url + "/messages",
            json={"model": "embed", "max_tokens": "many", "messages": HI},
            headers=headers,
        ) as r,
    ):
        body = await r.json()
    assert r.status == 400
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in body["error"]["message"]


async def test_budget_applies(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    key_id, secret = await add_key(max_budget=0.0001)
    async with client(gateway, secret) as c:
        with pytest.raises(anthropic.RateLimitError) as refused:
            await c.messages.create(model="chat", max_tokens=100, messages=HI)
    assert refused.value.status_code == 429
    assert refused.value.response.headers["x-should-retry"] == "false"  # the SDK won't retry
    (event,) = await gateway.events.events(EventFilter(key_id=key_id))
    assert event.status == 429


async def test_rate_limits_are_the_keys(
    gateway: Gateway, add_key: Callable[..., Any], key_clock: FrozenClock
) -> None:
    # One rpm bucket per key, whichever API spends it: chat, then messages, then responses.
    key_id, secret = await add_key(rpm=2)
    async with openai.AsyncOpenAI(base_url=gateway.url, api_key=secret, max_retries=0) as o:
        await o.chat.completions.create(model="chat", messages=HI)  # type: ignore[arg-type]
        async with client(gateway, secret) as c:
            await c.messages.create(model="chat", max_tokens=20, messages=HI)
            with pytest.raises(anthropic.RateLimitError) as refused:
                await c.messages.create(model="chat", max_tokens=20, messages=HI)
        with pytest.raises(openai.RateLimitError):
            await o.responses.create(model="chat", input="Hi")
        key_clock.now += 30  # one request's worth refills
        await o.responses.create(model="chat", input="Hi")
    assert refused.value.response.headers["Retry-After"] == "30"
    assert refused.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    found = await gateway.events.events(EventFilter(key_id=key_id))
    assert sorted(e.status for e in found) == [200, 200, 200, 429, 429]
