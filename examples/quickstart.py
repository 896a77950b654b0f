"""Conduit's quick start, fully offline: no key, no network.

Runs chat, streaming, tool calls and the sync twins against Conduit's built-in fakes
(`fake/echo` and `FunctionModel`), which implement the same `ChatModel` protocol as
every real provider: swap in "openai/gpt-4o-mini" and nothing else changes.

    python examples/quickstart.py
"""

from __future__ import annotations

import asyncio

import conduit
from conduit import FunctionCall, FunctionModel, Message, Tool, ToolCall, tool_result, user
from conduit.schema import ChatOptions

ADD = Tool(
    name="add",
    description="Add two integers",
    parameters={
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
)


def arithmetic(messages: list[Message], options: ChatOptions) -> str | ToolCall:
    """A stand-in model: asks for the `add` tool, then reports its result."""
    last = messages[-1]
    if last.role == "tool":
        return f"The sum is {last.text}."
    numbers = [int(word) for word in last.text.replace("?", " ").split() if word.isdigit()]
    return ToolCall(
        id="call_1", function=FunctionCall.from_arguments("add", {"a": numbers[0], "b": numbers[1]})
    )


async def main() -> None:
    # 1. One call, one answer.
    reply = await conduit.chat("fake/echo", "Hello, Conduit!")
    print("chat:", reply.text, "| tokens:", reply.usage.total_tokens, "| stop:", reply.stop_reason)

    # 2. Streaming: typed events, ending with the whole answer.
    print("stream: ", end="")
    async for event in conduit.stream("fake/echo", "streams arrive word by word"):
        if event.type == "text_delta":
            print(f"[{event.text}]", end="")
        elif event.type == "done":
            print(" ->", event.response.stop_reason)

    # 3. Tools: the model asks, we run the function, the model answers.
    model = FunctionModel(arithmetic, name="arithmetic")
    question = user("What is 20 plus 22?")
    first = await model.chat(question, tools=[ADD])
    call = first.tool_calls[0]
    result = call.arguments["a"] + call.arguments["b"]
    final = await model.chat([question, first.to_message(), tool_result(call.id, str(result))])
    print("tools:", call.name, call.arguments, "->", final.text)


if __name__ == "__main__":
    asyncio.run(main())
    # 4. The same from synchronous code.
    print("sync:", conduit.chat_sync("fake/echo", "no event loop needed").text)
