"""Consume a stream of events: collect it into a `Response`, call back per event, print it.

All three take any async iterable of `StreamEvent` (what `conduit.stream()`,
`ChatModel.stream()` and the wrappers in this package give) and return the whole answer,
assembled by `conduit.schema.ResponseAssembler`: the `Done` event's response when the
stream sends one, else one built from the deltas (text, tool calls, usage).

Example:
    >>> import asyncio
    >>> from conduit.providers.fake import MockModel
    >>> asyncio.run(stream_to_response(MockModel(["Hello there"]).stream("hi"))).text
    'Hello there'
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import AsyncIterable, Awaitable, Callable
from typing import IO, Any

from conduit.core.sync import run_sync
from conduit.schema import (
    Done,
    Response,
    ResponseAssembler,
    StreamEvent,
    TextDelta,
    ToolCall,
    UsageEvent,
)
from conduit.schema.responses import Usage

__all__ = [
    "print_stream",
    "print_stream_sync",
    "stream_to_response",
    "stream_to_response_sync",
    "stream_with_callbacks",
]

Callback = Callable[[Any], Awaitable[None] | None]


async def _call(callback: Callback | None, value: Any) -> None:
    if callback is None:
        return
    result = callback(value)
    if inspect.isawaitable(result):
        await result


async def _aclose(events: AsyncIterable[Any]) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()


async def stream_to_response(events: AsyncIterable[StreamEvent]) -> Response:
    """Read a stream to its end and return the whole answer, tool calls included.

    Example:
        >>> import asyncio
        >>> from conduit.schema import TextDelta
        >>> async def deltas():
        ...     yield TextDelta(text="Hel")
        ...     yield TextDelta(text="lo")
        >>> asyncio.run(stream_to_response(deltas())).text
        'Hello'
    """
    return await stream_with_callbacks(events)


async def stream_with_callbacks(
    events: AsyncIterable[StreamEvent],
    *,
    on_event: Callable[[StreamEvent], Awaitable[None] | None] | None = None,
    on_text: Callable[[str], Awaitable[None] | None] | None = None,
    on_tool_call: Callable[[ToolCall], Awaitable[None] | None] | None = None,
    on_usage: Callable[[Usage], Awaitable[None] | None] | None = None,
    on_done: Callable[[Response], Awaitable[None] | None] | None = None,
) -> Response:
    """Read a stream, calling back as it goes, and return the whole answer.

    Callbacks may be plain or async functions: `on_event` gets every event, `on_text`
    each piece of text, `on_tool_call` each complete tool call (when the answer is
    complete: arguments arrive in fragments), `on_usage` the usage, `on_done` the whole
    answer. A callback that raises stops the stream (closing it) and the error propagates.

    Example:
        >>> import asyncio
        >>> from conduit.providers.fake import MockModel
        >>> pieces = []
        >>> r = asyncio.run(stream_with_callbacks(MockModel(["a b c"]).stream("hi"),
        ...                                       on_text=pieces.append))
        >>> pieces, r.text
        (['a', ' b', ' c'], 'a b c')
    """
    assembler = ResponseAssembler()
    try:
        async for event in events:
            assembler.add(event)
            await _call(on_event, event)
            if isinstance(event, TextDelta):
                await _call(on_text, event.text)
            elif isinstance(event, UsageEvent):
                await _call(on_usage, event.usage)
            elif isinstance(event, Done):
                break
    finally:
        await _aclose(events)
    response = assembler.response()
    if on_tool_call is not None:
        for call in response.tool_calls:
            await _call(on_tool_call, call)
    await _call(on_done, response)
    return response


async def print_stream(
    events: AsyncIterable[StreamEvent], *, file: IO[str] | None = None, end: str = "\n"
) -> Response:
    """Write the answer's text to `file` (standard output by default) as it arrives, then
    `end`; return the whole answer. Plain text, no terminal codes, so it also suits pipes.

    Example:
        >>> import asyncio
        >>> from conduit.providers.fake import MockModel
        >>> _ = asyncio.run(print_stream(MockModel(["Hello there"]).stream("hi")))
        Hello there
    """
    out = file if file is not None else sys.stdout

    def write(text: str) -> None:
        out.write(text)
        out.flush()

    response = await stream_with_callbacks(events, on_text=write)
    write(end)
    return response


def stream_to_response_sync(events: AsyncIterable[StreamEvent]) -> Response:
    """`stream_to_response` for synchronous code.

    Example:
        >>> from conduit.providers.fake import MockModel
        >>> stream_to_response_sync(MockModel(["ok"]).stream("hi")).text
        'ok'
    """
    return run_sync(stream_to_response(events))


def print_stream_sync(
    events: AsyncIterable[StreamEvent], *, file: IO[str] | None = None, end: str = "\n"
) -> Response:
    """`print_stream` for synchronous code.

    Example:
        >>> from conduit.providers.fake import MockModel
        >>> _ = print_stream_sync(MockModel(["Hi"]).stream("hi"))
        Hi
    """
    return run_sync(print_stream(events, file=file, end=end))
