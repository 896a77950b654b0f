"""The official `openai` package's Responses API (`client.responses`) against a
gateway on 127.0.0.1, in front of the scripted OpenAI-compatible upstream: create,
streams, tools, structured output, `previous_response_id` state and retrieve, with
keys, budgets and usage as on chat."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import openai
import pydantic
import pytest

from conduit.server.app import Gateway
from conduit.server.responses_api import open_message_store
from conduit.storage.events import EventFilter
from tests.server.conftest import PRICE_IN, PRICE_OUT
from tests.support.openai_server import REPLY

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


class Person(pydantic.BaseModel):
    name: str


def client(gateway: Gateway, key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway.url, api_key=key, max_retries=0)


async def test_create_and_retrieve(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    key_id, secret = await add_key(name="team")
    async with client(gateway, secret) as c:
        response = await c.responses.create(
            model="chat", input="Hi there", instructions="Be brief.", max_output_tokens=50
        )
        assert response.output_text == REPLY
        assert (response.status, response.model, response.object) == (
            "completed",
            "chat",
            "response",
        )
        assert response.instructions == "Be brief."
        assert response.usage is not None
        assert response.usage.output_tokens > 0
        again = await c.responses.retrieve(response.id)
        assert again.output_text == REPLY
        assert again.id == response.id
        await c.responses.delete(response.id)
        with pytest.raises(openai.NotFoundError):
            await c.responses.retrieve(response.id)
    (event,) = await gateway.events.events(EventFilter(key_id=key_id))
    assert (event.model, event.status, event.provider) == ("chat", 200, "openai")
    assert event.input_tokens == response.usage.input_tokens
    assert event.output_tokens == response.usage.output_tokens
    expected = event.input_tokens * PRICE_IN + event.output_tokens * PRICE_OUT
    assert event.cost == pytest.approx(expected)


async def test_stream(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    key_id, secret = await add_key()
    async with client(gateway, secret) as c:
        stream = await c.responses.create(model="chat", input="Hi there", stream=True)
        events = [event async for event in stream]
        kinds = [event.type for event in events]
        assert kinds[:2] == ["response.created", "response.in_progress"]
        assert kinds[-1] == "response.completed"
        assert [e.sequence_number for e in events] == list(range(len(events)))
        text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        assert text == REPLY
        # The SDK's stream helper assembles the same events into the final response.
        async with c.responses.stream(model="chat", input="Hi there") as helper:
            final = await helper.get_final_response()
        assert final.output_text == REPLY
        # A streamed response is stored like any other.
        stored = await c.responses.retrieve(final.id)
        assert stored.output_text == REPLY
    found = await gateway.events.events(EventFilter(key_id=key_id))
    assert [e.status for e in found] == [200, 200]
    assert all(e.output_tokens > 0 for e in found)


async def test_tools_and_previous_response(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    _, secret = await add_key()
    async with client(gateway, secret) as c:
        asked = await c.responses.create(model="chat", input="Weather in Paris?", tools=[WEATHER])
        (call,) = [item for item in asked.output if item.type == "function_call"]
        assert (call.name, call.arguments) == ("get_weather", '{"city": "Paris"}')
        # The tool's answer, continuing the stored conversation.
        answer = await c.responses.create(
            model="chat",
            previous_response_id=asked.id,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "Sunny"}],
        )
        assert answer.output_text == REPLY
        assert answer.previous_response_id == asked.id
        # Streamed, a tool call comes as function_call_arguments events.
        async with c.responses.stream(
            model="chat", input="Weather in Paris?", tools=[WEATHER]
        ) as helper:
            kinds = [event.type async for event in helper]
            final = await helper.get_final_response()
        assert "response.function_call_arguments.delta" in kinds
        (streamed,) = [item for item in final.output if item.type == "function_call"]
        assert streamed.arguments == '{"city": "Paris"}'
        # Another key cannot read or continue it.
    _, other = await add_key()
    async with client(gateway, other) as c:
        with pytest.raises(openai.NotFoundError):
            await c.responses.retrieve(asked.id)
        with pytest.raises(openai.NotFoundError):
            await c.responses.create(model="chat", previous_response_id=asked.id, input="Hi")


async def test_previous_response_carries_the_conversation(
    gateway: Gateway, add_key: Callable[..., Any]
) -> None:
    _, secret = await add_key()
    async with client(gateway, secret) as c:
        first = await c.responses.create(model="chat", input="My name is Ada.")
        second = await c.responses.create(
            model="chat", input="What is my name?", previous_response_id=first.id
        )
    # The second call sent the whole conversation upstream: more input tokens.
    assert first.usage is not None
    assert second.usage is not None
    assert second.usage.input_tokens > first.usage.input_tokens
    store = open_message_store(gateway.config.database)
    try:
        messages = await store.messages(second.id)
    finally:
        await store.aclose()
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[0].text == "My name is Ada."


async def test_structured_output(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    _, secret = await add_key()
    async with client(gateway, secret) as c:
        parsed = await c.responses.parse(model="chat", input="Who?", text_format=Person)
    assert parsed.output_parsed == Person(name="Ada")


async def test_store_false_and_validation(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    _, secret = await add_key()
    async with client(gateway, secret) as c:
        kept = await c.responses.create(model="chat", input="Hi", store=False)
        with pytest.raises(openai.NotFoundError):
            await c.responses.retrieve(kept.id)
        with pytest.raises(openai.BadRequestError) as bad:
            await c.responses.create(model="chat", input="Hi", max_output_tokens=0)
        assert bad.value.param == "max_output_tokens"
        with pytest.raises(openai.BadRequestError) as bad:
            await c.responses.create(model="chat", input=[{"role": "robot", "content": "x"}])
        assert bad.value.param == "input[0].role"
        with pytest.raises(openai.BadRequestError) as bad:
            await c.responses.create(model="chat", input="Hi", tools=[{"type": "web_search"}])
        assert bad.value.param == "tools[0]"
    headers = {"Authorization": f"Bearer {secret}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            gateway.url + "/responses",
            json={"model": "chat", "input": "Hi", "colour": 1},
            headers=headers,
        ) as r,
    ):
        body = await r.json()
    assert r.status == 400
    assert body["error"]["param"] == "colour"


async def test_budget_applies(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    key_id, secret = await add_key(max_budget=0.0001)
    async with client(gateway, secret) as c:
        with pytest.raises(openai.RateLimitError) as refused:
            await c.responses.create(model="chat", input="Hi", max_output_tokens=100)
    assert refused.value.code == "budget_exceeded"
    (event,) = await gateway.events.events(EventFilter(key_id=key_id))
    assert event.status == 429
