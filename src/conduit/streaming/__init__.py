"""Streaming utilities: collect, watch, print, time-limit, split and iterate streams.

- `stream_to_response(events)`: the whole answer (tool calls included) from a stream;
  `stream_with_callbacks(events, on_text=..., ...)` calls back as events arrive;
  `print_stream(events)` writes the text live to the terminal.
- `with_timeouts(events, first_event=..., idle=...)`: raise `conduit.errors.TimeoutError`
  when the first event or a later one is late.
- `tee(events, n)`: one stream to several consumers, with a bounded buffer.
- `iterate_sync(events)`: iterate any async stream from synchronous code (the same bridge
  as every sync twin in Conduit); `stream_to_response_sync`, `print_stream_sync`.

Example:
    >>> import asyncio
    >>> from conduit.providers.fake import MockModel
    >>> events = with_timeouts(MockModel(["Hi there"]).stream("hello"), idle=10)
    >>> asyncio.run(stream_to_response(events)).text
    'Hi there'
    >>> [e.type for e in iterate_sync(MockModel(["Hi"]).stream("hello"))]
    ['text_delta', 'usage', 'done']
"""

from conduit.core.sync import iterate_sync
from conduit.streaming.collect import (
    print_stream,
    print_stream_sync,
    stream_to_response,
    stream_to_response_sync,
    stream_with_callbacks,
)
from conduit.streaming.split import tee
from conduit.streaming.timeouts import with_timeouts

__all__ = [
    "iterate_sync",
    "print_stream",
    "print_stream_sync",
    "stream_to_response",
    "stream_to_response_sync",
    "stream_with_callbacks",
    "tee",
    "with_timeouts",
]
