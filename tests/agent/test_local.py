"""An offline end-to-end agent run on the embedded local model (SmolLM2-135M through
llama.cpp, in process). The model is tiny: these tests check the loop's mechanics (a
real tool call made by the model, its result fed back, a final answer), not wisdom."""

from __future__ import annotations

import pytest

pytest.importorskip("llama_cpp")

import conduit
from conduit.agent import stream_tool_loop, tool_loop
from conduit.tools import tool

pytestmark = pytest.mark.slow

calls: list[str] = []


@tool(thread=False)
def get_weather(city: str) -> str:
    """Current weather for a city.

    Args:
        city: The city name.
    """
    calls.append(city)
    return f"It is sunny and 21 C in {city}."


async def test_local_model_agent_run() -> None:
    calls.clear()
    model = conduit.model("local/default")
    result = await tool_loop(
        model,
        "What is the weather in Paris?",
        [get_weather],
        tool_choice="get_weather",  # the grammar forces a well-formed first call
        max_tokens=48,
        temperature=0,
        max_iterations=4,
    )
    first = result.tool_calls[0]
    assert first.call.name == "get_weather"
    assert first.ok
    assert calls
    assert calls[0] == first.call.arguments["city"]
    # The result went back to the model as a tool message, and it answered after it.
    tool_messages = [m for m in result.messages if m.role == "tool"]
    assert tool_messages[0].text.startswith("It is sunny")
    assert result.messages[-1].role == "assistant"
    assert not result.response.tool_calls
    assert result.iterations >= 2
    assert result.usage.total_tokens > 0
    assert result.cost == 0.0  # local models are free


async def test_local_model_streaming_agent() -> None:
    model = conduit.model("local/default")
    events = [
        e
        async for e in stream_tool_loop(
            model,
            "Weather in Rome?",
            [get_weather],
            tool_choice="required",
            max_tokens=32,
            temperature=0,
            max_iterations=4,
        )
    ]
    kinds = [e.type for e in events]
    assert "tool_call" in kinds
    assert "tool_result" in kinds
    assert kinds[-1] == "agent_done"
