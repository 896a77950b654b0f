"""Streaming, offline: typed events as they arrive, the assembled answer at the end,
and the sync twin.

`FunctionModel(stream_fn=...)` streams from an async generator, so the example shows
real incremental output without a network.

    python examples/streaming.py
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import conduit
from conduit import FunctionModel, Message
from conduit.schema import ChatOptions


def whole(messages: list[Message], options: ChatOptions) -> str:
    return "One, two, three."


async def count(messages: list[Message], options: ChatOptions) -> AsyncIterator[str]:
    """Yield the answer a piece at a time, as a provider's stream would."""
    for word in ["One,", " two,", " three."]:
        await asyncio.sleep(0.01)  # the network, simulated
        yield word


async def main() -> None:
    model = FunctionModel(whole, stream_fn=count, name="counter")

    # 1. Events: text_delta ... usage ... done (with the whole Response).
    pieces = []
    async for event in model.stream("Count to three."):
        if event.type == "text_delta":
            pieces.append(event.text)
            print(f"[{event.text}]", end="", flush=True)
        elif event.type == "done":
            print("\ndone:", repr(event.response.text), "| stop:", event.response.stop_reason)
    print("pieces:", len(pieces))

    # 2. Any model string streams the same way.
    print("echo: ", end="")
    async for event in conduit.stream("fake/echo", "streams arrive word by word"):
        if event.type == "text_delta":
            print(event.text, end="|")
    print()

    # 3. Stopping early is fine: closing the iterator ends the request.
    stream = model.stream("Count to three.")
    async for event in stream:
        if event.type == "text_delta":
            print("first piece only:", event.text)
            break
    await stream.aclose()


if __name__ == "__main__":
    asyncio.run(main())
    # 4. Synchronous code iterates the same events.
    types = [event.type for event in conduit.stream_sync("fake/echo", "hi there")]
    print("sync events:", types)
