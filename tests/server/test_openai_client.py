"""The official `openai` package as the client of a gateway on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiohttp
import openai
import pytest

from conduit.server.app import Gateway
from conduit.server.usage import key_usage
from conduit.storage.events import EventFilter
from tests.server.conftest import PRICE_IN, PRICE_OUT, UPSTREAM_KEY, FrozenClock
from tests.support.openai_server import REPLY

HI = [{"role": "user", "content": "Hi there"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def client(gateway: Gateway, key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway.url, api_key=key, max_retries=0)


async def test_chat(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    key_id, secret = await add_key(name="team")
    async with client(gateway, secret) as c:
        answer = await c.chat.completions.create(model="chat", messages=HI)
    assert answer.choices[0].message.content == REPLY
    assert answer.choices[0].finish_reason == "stop"
    assert answer.model == "chat"
    assert answer.usage is not None
    assert answer.usage.total_tokens > 0
    (event,) = await gateway.events.events(EventFilter(key_id=key_id))
    assert (event.model, event.status, event.provider) == ("chat", 200, "openai")
    assert event.input_tokens == answer.usage.prompt_tokens
    assert event.output_tokens == answer.usage.completion_tokens
    expected = event.input_tokens * PRICE_IN + event.output_tokens * PRICE_OUT
    assert event.cost == pytest.approx(expected)
    assert event.duration is not None
    assert event.duration > 0


async def test_streaming(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    key_id, secret = await add_key()
    async with client(gateway, secret) as c:
        stream = await c.chat.completions.create(
            model="chat", messages=HI, stream=True, stream_options={"include_usage": True}
        )
        chunks = [chunk async for chunk in stream]
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == REPLY
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices][-1] == "stop"
    usage = [ch.usage for ch in chunks if ch.usage]
    assert usage
    assert usage[-1].total_tokens > 0
    (event,) = await gateway.events.events(EventFilter(key_id=key_id))
    assert event.status == 200
    assert event.output_tokens == usage[-1].completion_tokens


async def test_tool_calls_json_and_stream(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    _, secret = await add_key()
    async with client(gateway, secret) as c:
        answer = await c.chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "Weather?"}], tools=[WEATHER]
        )
        (call,) = answer.choices[0].message.tool_calls or []
        assert call.function.name == "get_weather"
        assert json.loads(call.function.arguments) == {"city": "Paris"}
        assert answer.choices[0].finish_reason == "tool_calls"
        stream = await c.chat.completions.create(
            model="chat",
            messages=[{"role": "user", "content": "Weather?"}],
            tools=[WEATHER],
            stream=True,
        )
        deltas = [ch.choices[0].delta async for ch in stream if ch.choices]
    calls = [tc for d in deltas for tc in d.tool_calls or []]
    assert calls[0].function.name == "get_weather"
    assert json.loads("".join(tc.function.arguments or "" for tc in calls)) == {"city": "Paris"}


async def test_response_format(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    _, secret = await add_key()
    async with client(gateway, secret) as c:
        answer = await c.chat.completions.create(
            model="chat", messages=HI, response_format={"type": "json_object"}
        )
    assert json.loads(answer.choices[0].message.content or "") == {"name": "Ada"}


async def test_embeddings_float_and_base64(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    key_id, secret = await add_key()
    async with client(gateway, secret) as c:
        plain = await c.embeddings.create(
            model="embed", input=["a", "bbb", "cc"], encoding_format="float"
        )
        packed = await c.embeddings.create(model="embed", input=["a", "bbb", "cc"])
    assert [d.index for d in plain.data] == [0, 1, 2]
    assert len(plain.data[0].embedding) == 8
    # The client decodes base64 itself: the same vectors, to float32 precision.
    for a, b in zip(plain.data, packed.data, strict=True):
        assert a.embedding == pytest.approx(b.embedding, rel=1e-6)
    assert plain.model == "embed"
    events = await gateway.events.events(EventFilter(key_id=key_id))
    assert [e.status for e in events] == [200, 200]
    assert events[0].input_tokens == plain.usage.prompt_tokens


async def test_models_list_follows_the_key(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    _, everything = await add_key()
    _, only_chat = await add_key(models=["chat"])
    async with client(gateway, everything) as c:
        assert [m.id async for m in c.models.list()] == ["chat", "embed"]
    async with client(gateway, only_chat) as c:
        assert [m.id async for m in c.models.list()] == ["chat"]
        with pytest.raises(openai.PermissionDeniedError) as caught:
            await c.embeddings.create(model="embed", input="x")
    assert caught.value.code == "model_not_allowed"


async def test_bad_key_is_401_with_an_openai_error(
    gateway: Gateway, add_key: Callable[..., Any]
) -> None:
    key_id, secret = await add_key()
    async with client(gateway, "sk-cnd-not-a-real-key") as c:
        with pytest.raises(openai.AuthenticationError) as caught:
            await c.chat.completions.create(model="chat", messages=HI)
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"
    assert caught.value.type == "invalid_request_error"
    assert "not-a-real-key" not in str(caught.value)
    assert await gateway.keys.revoke(key_id)
    async with client(gateway, secret) as c:
        with pytest.raises(openai.AuthenticationError, match="revoked"):
            await c.models.list()


async def test_missing_key_is_401(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session:
        for headers in ({}, {"Authorization": "Basic abc"}):
            async with session.post(
                f"{gateway.url}/chat/completions",
                json={"model": "chat", "messages": HI},
                headers=headers,
            ) as response:
                assert response.status == 401
                error = (await response.json())["error"]
            assert set(error) == {"message", "type", "param", "code"}
            assert error["code"] == "invalid_api_key"


async def test_unknown_model_is_404(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    _, secret = await add_key()
    async with client(gateway, secret) as c:
        with pytest.raises(openai.NotFoundError) as caught:
            await c.chat.completions.create(model="gpt-nope", messages=HI)
    assert caught.value.code == "model_not_found"
    assert caught.value.param == "model"


async def test_budget_exceeded(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    # Each call reserves its worst case (10 tokens at most: 0.022 USD) and settles at its
    # real cost (0.017): two fit in 0.05, the third would not and is refused unsent.
    key_id, secret = await add_key(max_budget=0.05, budget_window="1d")
    async with client(gateway, secret) as c:
        for _ in range(2):
            await c.chat.completions.create(model="chat", messages=HI, max_tokens=10)
        with pytest.raises(openai.RateLimitError) as caught:
            await c.chat.completions.create(model="chat", messages=HI, max_tokens=10)
    assert caught.value.code == "budget_exceeded"
    assert caught.value.type == "insufficient_quota"
    assert caught.value.response.headers["x-should-retry"] == "false"  # waiting won't help
    events = await gateway.events.events(EventFilter(key_id=key_id))
    assert [e.status for e in events] == [200, 200, 429]
    assert sum(e.cost or 0 for e in events) <= 0.05
    # Without max_tokens, the worst case is the model's longest answer (16,384 tokens
    # of gpt-4o-mini at this test's prices): far over the budget, refused at once.
    async with client(gateway, secret) as c:
        with pytest.raises(openai.RateLimitError, match="needs up to"):
            await c.chat.completions.create(model="chat", messages=HI)


async def test_rate_limited(
    gateway: Gateway, add_key: Callable[..., Any], key_clock: FrozenClock
) -> None:
    _, secret = await add_key(rpm=2)  # two at once, then one every 30 s
    async with client(gateway, secret) as c:
        for _ in range(2):
            await c.chat.completions.create(model="chat", messages=HI)
        with pytest.raises(openai.RateLimitError) as caught:
            await c.chat.completions.create(model="chat", messages=HI)
        key_clock.now += 30  # one request's worth refills
        await c.chat.completions.create(model="chat", messages=HI)
        with pytest.raises(openai.RateLimitError):
            await c.chat.completions.create(model="chat", messages=HI)
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["Retry-After"] == "30"


async def test_tokens_per_minute(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    _, secret = await add_key(tpm=1)
    async with client(gateway, secret) as c:
        await c.chat.completions.create(model="chat", messages=HI)
        with pytest.raises(openai.RateLimitError, match="tokens per minute"):
            await c.chat.completions.create(model="chat", messages=HI)


async def test_usage_per_key(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    a, secret_a = await add_key()
    b, secret_b = await add_key()
    for secret, n in ((secret_a, 2), (secret_b, 1)):
        async with client(gateway, secret) as c:
            for _ in range(n):
                await c.chat.completions.create(model="chat", messages=HI)
    rows = await key_usage(gateway.events)
    assert {r.key: r.events for r in rows} == {(a, "chat"): 2, (b, "chat"): 1}
    (only_b,) = await key_usage(gateway.events, b)
    assert only_b.cost > 0


def test_upstream_key_never_reaches_the_client() -> None:
    # The fixtures' upstream key is distinctive, so a leak would be visible in any body.
    assert UPSTREAM_KEY.startswith("sk-upstream-secret")
