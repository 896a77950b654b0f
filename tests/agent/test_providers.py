"""The same loop through the Anthropic and Gemini adapters: wire fixtures on a mock
transport whose every request is checked against the official SDK's types (so the tool
definitions, assistant tool calls and tool results the loop sends are what each API
takes)."""

from __future__ import annotations

from typing import Any

import pytest

from conduit.agent import tool_loop
from conduit.tools import tool
from conduit.transport import HTTPRequest, HTTPResponse, json_response


@tool
def get_weather(city: str, unit: str = "celsius") -> str:
    """Current weather for a city.

    Args:
        city: The city.
        unit: celsius or fahrenheit.
    """
    return {"Paris": "18", "Tokyo": "25", "Mumbai": "31"}.get(city.split(",")[0], "15") + " " + unit


@tool
def get_time(timezone: str) -> str:
    """The local time in a timezone."""
    return f"09:00 in {timezone}"


@tool
def get_location(location: str, unit: str | None = None) -> str:
    """Weather by location."""
    return f"15 {unit} at {location}"


def scripted(load: Any, names: list[str], seen: list[Any]) -> Any:
    replies = iter(names)

    def handler(request: HTTPRequest) -> HTTPResponse:
        seen.append(request.json())
        return json_response(load(next(replies)))

    return handler


async def test_anthropic_tool_loop() -> None:
    pytest.importorskip("anthropic")
    from tests.providers.anthropic.conftest import chat_model, load_fixture

    seen: list[Any] = []
    model, _ = chat_model(scripted(load_fixture, ["message_tool_use", "message_after_tool"], seen))

    @tool(name="get_weather")
    def weather(location: str, unit: str = "celsius") -> str:
        """Weather."""
        return f"{location}: 15 {unit}"

    result = await tool_loop(model, "Weather in SF and Paris?", [weather])
    assert result.text == "It is 15°C in San Francisco and 18°C in Paris."
    assert [o.status for o in result.tool_calls] == ["ok", "ok"]
    assert result.iterations == 2
    second = seen[1]
    assert second["tools"][0]["name"] == "get_weather"
    assert second["tools"][0]["input_schema"]["additionalProperties"] is False
    results = second["messages"][-1]["content"]
    assert [b["type"] for b in results] == ["tool_result", "tool_result"]
    assert results[0]["tool_use_id"] == "toolu_01A09q90qw90lq917835lq9"
    assert results[1]["content"] in (
        "Paris, France: 15 celsius",
        [{"type": "text", "text": "Paris, France: 15 celsius"}],
    )
    assert result.usage.input_tokens == 472 + 698
    assert result.cost is not None
    assert result.cost > 0


async def test_gemini_tool_loop() -> None:
    pytest.importorskip("google.genai")
    from tests.providers.gemini.conftest import chat_model, load_fixture

    seen: list[Any] = []
    model, _ = chat_model(
        scripted(load_fixture, ["generate_parallel_calls", "generate_after_tool"], seen)
    )
    result = await tool_loop(
        model, "Weather in Tokyo and Mumbai, time in Tokyo?", [get_weather, get_time]
    )
    assert [o.content for o in result.tool_calls] == [
        "25 celsius",
        "31 celsius",
        "09:00 in Asia/Tokyo",
    ]
    assert result.text == "It is 18\u00b0C in Paris right now."
    second = seen[1]
    declarations = second["tools"][0]["functionDeclarations"]
    assert {d["name"] for d in declarations} == {"get_weather", "get_time"}
    responses = [p["functionResponse"] for p in second["contents"][-1]["parts"]]
    assert [r["name"] for r in responses] == ["get_weather", "get_weather", "get_time"]


async def test_gemini_single_call_with_optional_field() -> None:
    pytest.importorskip("google.genai")
    from tests.providers.gemini.conftest import chat_model, load_fixture

    seen: list[Any] = []
    model, _ = chat_model(
        scripted(load_fixture, ["generate_function_call", "generate_after_tool"], seen)
    )
    result = await tool_loop(model, "Weather in Paris?", [get_weather, get_location])
    assert result.tool_calls[0].content == "18 celsius"
    assert result.text.startswith("It is 18")
