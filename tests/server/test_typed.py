"""The typed path end to end: a group that cannot forward (its fallback is not
OpenAI-wire) in front of the scripted OpenAI upstream, called with the official
`openai` client: chats, streams, tools and response formats are translated into
Conduit's types and back, and recorded with the deployment's provider and prices."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import openai
import pytest

from conduit.server.app import Gateway
from conduit.server.config import parse_config
from conduit.storage.events import EventFilter
from conduit.storage.keys import new_key
from tests.server.conftest import PRICE_IN, PRICE_OUT, UPSTREAM_KEY
from tests.server.test_openai_client import WEATHER
from tests.support.openai_server import REPLY, OpenAITestServer

HI = [{"role": "user", "content": "Hi there"}]


@pytest.fixture
async def typed(
    upstream: OpenAITestServer, tmp_path: Path
) -> AsyncIterator[tuple[Gateway, str, openai.AsyncOpenAI]]:
    prices = {"input_cost_per_token": PRICE_IN, "output_cost_per_token": PRICE_OUT}
    config = parse_config(
        {
            "model_list": [
                {
                    "model_name": "typed",
                    "litellm_params": {
                        "model": "openai/gpt-4o-mini",
                        "api_base": upstream.base_url,
                        "api_key": UPSTREAM_KEY,
                    },
                    "model_info": prices,
                },
                {"model_name": "echo", "litellm_params": {"model": "fake/echo"}},
            ],
            "router_settings": {"num_retries": 0, "fallbacks": [{"typed": ["echo"]}]},
            "server": {"database": str(tmp_path / "g.sqlite3"), "ledger_flush_seconds": 0},
        }
    )
    async with Gateway(config) as gateway:
        await gateway.start(port=0)
        assert not gateway.forwards("typed")
        key, secret = new_key()
        await gateway.keys.add(key, secret)
        async with openai.AsyncOpenAI(base_url=gateway.url, api_key=secret, max_retries=0) as c:
            yield gateway, key.id, c


async def test_chat_and_stream(typed: tuple[Gateway, str, openai.AsyncOpenAI]) -> None:
    gateway, key_id, client = typed
    answer = await client.chat.completions.create(model="typed", messages=HI, temperature=0)
    assert answer.choices[0].message.content == REPLY
    assert (answer.model, answer.choices[0].finish_reason) == ("typed", "stop")
    assert answer.usage is not None
    stream = await client.chat.completions.create(
        model="typed", messages=HI, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == REPLY
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == answer.usage.total_tokens
    events = await gateway.events.events(EventFilter(key_id=key_id))
    assert [(e.provider, e.model, e.status) for e in events] == [("openai", "typed", 200)] * 2
    for event in events:
        assert (event.input_tokens, event.output_tokens) == (
            answer.usage.prompt_tokens,
            answer.usage.completion_tokens,
        )
        expected = event.input_tokens * PRICE_IN + event.output_tokens * PRICE_OUT
        assert event.cost == pytest.approx(expected)


async def test_tools_and_formats(typed: tuple[Gateway, str, openai.AsyncOpenAI]) -> None:
    _, _, client = typed
    weather = [{"role": "user", "content": "Weather?"}]
    answer = await client.chat.completions.create(model="typed", messages=weather, tools=[WEATHER])
    (call,) = answer.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]
    assert answer.choices[0].finish_reason == "tool_calls"
    stream = await client.chat.completions.create(
        model="typed", messages=weather, tools=[WEATHER], stream=True
    )
    deltas = [c.choices[0].delta async for c in stream if c.choices]
    calls = [tc for d in deltas for tc in d.tool_calls or []]
    assert calls[0].function is not None
    assert calls[0].function.name == "get_weather"
    arguments = "".join(tc.function.arguments or "" for tc in calls if tc.function)
    assert json.loads(arguments) == {"city": "Paris"}
    # The tool's answer goes back as a tool message; then a JSON answer.
    follow = await client.chat.completions.create(
        model="typed",
        messages=[
            *weather,
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": "22C"},
        ],
        tools=[WEATHER],
    )
    assert follow.choices[0].message.content == REPLY
    formatted = await client.chat.completions.create(
        model="typed", messages=HI, response_format={"type": "json_object"}
    )
    assert json.loads(formatted.choices[0].message.content or "") == {"name": "Ada"}


async def test_bad_fields_are_400s_before_anything_is_sent(
    typed: tuple[Gateway, str, openai.AsyncOpenAI],
) -> None:
    _, _, client = typed
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(model="typed", messages=HI, max_tokens=-5)
    assert caught.value.param == "max_tokens"
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(
            model="typed",
            messages=[{"role": "tool", "content": "x"}],  # type: ignore[list-item]
        )
    assert caught.value.param == "messages[0].tool_call_id"
