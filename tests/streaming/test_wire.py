"""Over real HTTP: a provider's stream, collected, equals its non-streamed answer.

The OpenAI adapter talks to the scripted OpenAI-compatible server on 127.0.0.1; the same
scripted reply comes back once as JSON and once as SSE chunks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import conduit
from conduit.core.protocols import ChatModel
from conduit.schema import StreamEvent
from conduit.streaming import stream_to_response, tee, with_timeouts
from conduit.tools import tool
from tests.support.openai_server import OpenAITestServer


@tool
def weather(city: str) -> str:
    """The weather in a city."""
    return "sunny"


@pytest.fixture(scope="module")
def server() -> Iterator[OpenAITestServer]:
    started = OpenAITestServer().start()
    yield started
    started.stop()


@pytest.fixture
async def model(server: OpenAITestServer) -> AsyncIterator[ChatModel]:
    made = conduit.model("openai/gpt-4o-mini", api_key="sk-test-0000", base_url=server.base_url)
    async with made:  # type: ignore[attr-defined]
        yield made


SCRIPTS: list[dict[str, Any]] = [{}, {"tools": [weather.definition]}]


@pytest.mark.parametrize("options", SCRIPTS, ids=["text", "tool-call"])
async def test_collected_wire_stream_equals_the_json_answer(
    model: ChatModel, options: dict[str, Any]
) -> None:
    whole = await model.chat("What is the weather in Paris?", **options)
    collected = await stream_to_response(
        with_timeouts(model.stream("What is the weather in Paris?", **options), idle=30)
    )
    assert collected.model_dump(exclude={"duration"}) == whole.model_dump(exclude={"duration"})


@pytest.mark.parametrize("options", SCRIPTS, ids=["text", "tool-call"])
async def test_wire_deltas_alone_assemble_to_the_json_answer(
    model: ChatModel, options: dict[str, Any]
) -> None:
    whole = await model.chat("What is the weather in Paris?", **options)

    async def without_done() -> AsyncIterator[StreamEvent]:
        async for event in model.stream("What is the weather in Paris?", **options):
            if event.type != "done":
                yield event

    first, second = tee(without_done())
    a, b = await asyncio.gather(stream_to_response(first), stream_to_response(second))
    assert a == b
    assert (a.text, a.tool_calls, a.usage) == (whole.text, whole.tool_calls, whole.usage)
