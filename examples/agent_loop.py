"""An agent loop, offline: the model calls tools until it can answer. Shows `tool_loop`,
a streamed run with its events, and an agent that remembers the conversation.

    python examples/agent_loop.py
"""

from __future__ import annotations

import asyncio

from conduit import FunctionCall, FunctionModel, Message, ToolCall, tool
from conduit.agent import make_agent, stateful_agent, stream_tool_loop, tool_loop
from conduit.schema import ChatOptions

STOCK = {"apples": 12, "pears": 0}
PRICES = {"apples": 0.5, "pears": 0.8}


@tool
def in_stock(item: str) -> int:
    """How many of an item the shop has."""
    return STOCK.get(item, 0)


@tool
async def price(item: str, quantity: int) -> float:
    """The price of `quantity` items, in euros."""
    await asyncio.sleep(0)  # async tools are awaited; sync ones run in a worker thread
    return round(PRICES[item] * quantity, 2)


def shopkeeper(messages: list[Message], options: ChatOptions) -> str | ToolCall:
    """A scripted model: check the stock, then the price, then answer."""
    results = [m.text for m in messages if m.role == "tool"]
    if not results:
        return ToolCall(
            id="1", function=FunctionCall.from_arguments("in_stock", {"item": "apples"})
        )
    if len(results) == 1:
        args = {"item": "apples", "quantity": min(int(results[0]), 10)}
        return ToolCall(id="2", function=FunctionCall.from_arguments("price", args))
    return f"We have {results[0]} apples; ten cost {results[1]} euros."


async def main() -> None:
    model = FunctionModel(shopkeeper, name="shopkeeper")

    # 1. One call runs the whole loop.
    result = await tool_loop(model, "How much for ten apples?", [in_stock, price])
    print("answer:", result.text)
    print("model calls:", result.iterations, "| tools:", [o.value for o in result.tool_calls])
    print("conversation:", [m.role for m in result.messages])

    # 2. The same run as events, as they happen.
    async for event in stream_tool_loop(model, "How much for ten apples?", [in_stock, price]):
        if event.type == "tool_call":
            print("->", event.call.name, event.call.arguments)
        elif event.type == "tool_result":
            print("<-", event.outcome.content)
        elif event.type == "agent_done":
            print("done after", event.result.iterations, "model calls")

    # 3. An agent keeps the model, tools and settings; a stateful one keeps the history.
    agent = make_agent(model, [in_stock, price], system="You run a fruit shop.", max_iterations=5)
    print("agent:", (await agent.run("Ten apples?")).text)

    counter = FunctionModel(lambda messages, options: f"I have seen {len(messages)} messages.")
    chat = stateful_agent(counter)
    await chat.run("Hello")
    print("stateful:", (await chat.run("Still there?")).text)


if __name__ == "__main__":
    asyncio.run(main())
