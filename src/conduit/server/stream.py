"""Relaying a chat stream to the client as server-sent events, with few writes.

Each chunk is one SSE event (`data: {json}\\n\\n`, then `data: [DONE]`), as OpenAI sends
them. Writing each event on its own costs a system call per chunk; when the upstream
delivers several chunks at once (it usually does under load) they are coalesced into one
write, and when it does not, each is written as soon as it comes: the writer runs
whenever the reader waits for the network. The buffer is bounded, so a slow client
slows the upstream read instead of filling memory.

Example:
    >>> encode_event({"a": 1})
    b'data: {"a":1}\\n\\n'
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from conduit import _json
from conduit.server.errors import error_for

__all__ = ["CoalescingWriter", "DONE", "encode_event", "relay"]

DONE = b"data: [DONE]\n\n"
_MAX_BUFFERED = 64 * 1024


def encode_event(data: Any) -> bytes:
    """One SSE event carrying `data` as JSON."""
    return b"data: " + _json.dumps(data) + b"\n\n"


class CoalescingWriter:
    """Buffers events and writes them from its own task, all that is pending at once.

    Example:
        >>> CoalescingWriter.__name__
        'CoalescingWriter'
    """

    def __init__(self, response: web.StreamResponse) -> None:
        self._response = response
        self._pending: list[bytes] = []
        self._size = 0
        self._ready = asyncio.Event()
        self._drained = asyncio.Event()
        self._closing = False
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            if self._pending:
                data = b"".join(self._pending)
                self._pending.clear()
                self._size = 0
                self._drained.set()
                await self._response.write(data)
            if self._closing and not self._pending:
                return

    async def send(self, event: bytes) -> None:
        """Queue one event (waits while too much is buffered for a slow client)."""
        if self._task.done():
            self._task.result()  # the client went away: raise its error here
            raise ConnectionResetError("the stream's writer has stopped")
        self._pending.append(event)
        self._size += len(event)
        self._ready.set()
        if self._size > _MAX_BUFFERED:
            self._drained.clear()
            waiter = asyncio.ensure_future(self._drained.wait())
            done, _ = await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
            if waiter not in done:
                waiter.cancel()
                self._task.result()

    async def close(self) -> None:
        """Write what is pending and stop."""
        self._closing = True
        self._ready.set()
        await self._task

    def cancel(self) -> None:
        """Stop without writing (the client is gone)."""
        self._task.cancel()


async def relay(
    request: web.Request,
    stream: AsyncIterator[Any],
    prepare: Callable[[Any], None],
) -> tuple[web.StreamResponse, int]:
    """Send `stream`'s chunks (each passed to `prepare` first) as SSE; returns the
    response and the status to record (an error mid-stream goes in the stream, as
    OpenAI sends it, since the headers are gone)."""
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    writer = CoalescingWriter(response)
    status = 200
    try:
        try:
            async for chunk in stream:
                prepare(chunk)
                await writer.send(encode_event(chunk))
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception as exc:
            status, body = error_for(exc)
            await writer.send(encode_event(body))
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        await writer.send(DONE)
        await writer.close()
    except BaseException:
        writer.cancel()
        raise
    await response.write_eof()
    return response, status
