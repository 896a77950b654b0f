"""Tool calling by hand, offline: typed functions become tools, the model asks for calls,
`execute_tool_calls` runs them (concurrently), and the results go back to the model.

(`agent_loop.py` shows the loop that does all of this for you.)

    python examples/tool_calling.py
"""

from __future__ import annotations

import asyncio
from typing import Literal

from conduit import FunctionCall, FunctionModel, Message, ToolCall, execute_tool_calls, tool, user
from conduit.schema import ChatOptions

TEMPERATURES = {"Paris": 18, "Rome": 24, "Oslo": 7}


@tool
def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> str:
    """Current temperature in a city.

    Args:
        city: The city, e.g. Paris.
        unit: Temperature unit.
    """
    degrees = TEMPERATURES[city]
    if unit == "fahrenheit":
        degrees = round(degrees * 9 / 5 + 32)
    return f"{degrees} degrees {unit}"


def forecaster(messages: list[Message], options: ChatOptions) -> str | list[ToolCall]:
    """A stand-in model: first asks for the weather in two cities, then summarizes."""
    if messages[-1].role == "tool":
        results = [m.text for m in messages if m.role == "tool"]
        return f"Paris has {results[0]}, Rome {results[1]}."
    assert [t.name for t in options.tools or []] == ["get_weather"]
    return [
        ToolCall(id=f"call_{city}", function=FunctionCall.from_arguments("get_weather", args))
        for city, args in [("paris", {"city": "Paris"}), ("rome", {"city": "Rome"})]
    ]


async def main() -> None:
    # 1. The schema sent to the model comes from the type hints and the docstring.
    definition = get_weather.definition
    print("tool:", definition.name, "-", definition.description)
    print("parameters:", sorted(definition.parameters["properties"]))

    # 2. The model gets the tool's definition and answers with tool calls instead of text.
    model = FunctionModel(forecaster, name="forecaster")
    conversation: list[Message] = [user("Is it warmer in Paris or in Rome?")]
    first = await model.chat(conversation, tools=[definition])
    print("stop:", first.stop_reason, "| calls:", [(c.name, c.arguments) for c in first.tool_calls])

    # 3. Run them; each outcome holds the value and the message for the model.
    outcomes = await execute_tool_calls(first.tool_calls, [get_weather])
    for outcome in outcomes:
        print("ran:", outcome.call.arguments, "->", outcome.value, f"({outcome.status})")

    # 4. Send the results back; the model answers in text.
    conversation += [first.to_message(), *(o.message for o in outcomes)]
    final = await model.chat(conversation, tools=[definition])
    print("answer:", final.text)

    # 5. A failing tool is a result the model reads, not a crash.
    bad = ToolCall(
        id="x", function=FunctionCall.from_arguments("get_weather", {"city": "Atlantis"})
    )
    [failed] = await execute_tool_calls([bad], [get_weather])
    print("failed call:", failed.status, "|", failed.content)


if __name__ == "__main__":
    asyncio.run(main())
