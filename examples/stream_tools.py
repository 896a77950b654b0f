"""Streaming utilities, offline: print a stream live while collecting it, with time
limits, and read a stream from synchronous code.

    python examples/stream_tools.py
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from conduit import FunctionModel, Message
from conduit.errors import TimeoutError
from conduit.schema import ChatOptions
from conduit.streaming import (
    iterate_sync,
    print_stream,
    stream_to_response,
    stream_with_callbacks,
    tee,
    with_timeouts,
)

WORDS = ["Streams", " arrive", " a", " piece", " at", " a", " time."]


def whole(messages: list[Message], options: ChatOptions) -> str:
    return "".join(WORDS)


async def pieces(messages: list[Message], options: ChatOptions) -> AsyncIterator[str]:
    for word in WORDS:
        await asyncio.sleep(0.01)  # the network, simulated
        yield word


model = FunctionModel(whole, stream_fn=pieces)


async def main() -> None:
    # one stream, two consumers: the screen and a collector (bounded buffer between them)
    screen, collector = tee(with_timeouts(model.stream("hi"), first_event=5, idle=1))
    shown, kept = await asyncio.gather(print_stream(screen), stream_to_response(collector))
    assert shown == kept

    sizes: list[int] = []
    answer = await stream_with_callbacks(model.stream("hi"), on_text=lambda t: sizes.append(len(t)))
    print(f"{len(sizes)} pieces, {sum(sizes)} characters: {answer.text!r}")

    slow = FunctionModel(whole, stream_fn=pieces, delay=0.5)
    try:
        await stream_to_response(with_timeouts(slow.stream("hi"), idle=0.05))
    except TimeoutError as exc:
        print("slow stream:", exc.message)


if __name__ == "__main__":
    asyncio.run(main())
    # synchronous code iterates any stream through Conduit's one background loop
    print([event.type for event in iterate_sync(model.stream("hi"))][-2:])
