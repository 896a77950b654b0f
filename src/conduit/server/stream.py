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
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from conduit import _json
from conduit.server.errors import error_for

if TYPE_CHECKING:
    from conduit.schema import StreamEvent, Usage
    from conduit.server.openai_wire import ChunkEncoder

__all__ = ["CoalescingWriter", "DONE", "Relayed", "encode_event", "relay"]

DONE = b"data: [DONE]\n\n"
_MAX_BUFFERED = 64 * 1024


def encode_event(data: Any) -> bytes:
    """One SSE event carrying `data` as JSON."""
    return b"data: " + _json.dumps(data) + b"\n\n"


@dataclass(slots=True)
class Relayed:
    """What a relayed stream delivered: the upstream's `usage` (None until its usage
    chunk came), the characters of content and tool-call arguments sent to the caller,
    the status to record (499 while the caller may still go away) and the upstream's
    `error` when the stream broke after it started."""

    usage: Usage | None = None
    chars: int = 0
    status: int = 499
    error: BaseException | None = None

    def delivered(self, input_tokens: int) -> Usage:
        """The usage to pay for: the upstream's for a stream that ended well; for one
        that did not, at least four characters a token of what was delivered (and
        `input_tokens` when the upstream said nothing), as `conduit.interceptors.Budget`
        counts a stream closed early.

        Example:
            >>> Relayed(chars=40).delivered(input_tokens=3)
            Usage(input_tokens=3, output_tokens=10, total_tokens=13, cache_read_tokens=0, cache_creation_tokens=0)
        """  # noqa: E501
        from conduit.schema import Usage

        if self.usage is not None and self.status == 200:
            return self.usage
        output = math.ceil(self.chars / 4)
        if self.usage is None:
            return Usage(input_tokens=input_tokens, output_tokens=output)
        return self.usage.model_copy(
            update={"output_tokens": max(self.usage.output_tokens, output)}
        )


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
    first: StreamEvent,
    events: AsyncIterator[StreamEvent],
    encoder: ChunkEncoder,
    relayed: Relayed,
) -> web.StreamResponse:
    """Send a typed stream (`first`, then the rest of `events`) to the caller as
    OpenAI's SSE chunks (`encoder`); `relayed.status` says how it ended: 200, 499 while
    the caller may still go away, or an error's status (an error mid-stream goes in the
    stream, as OpenAI sends it, since the headers are gone). `events` is closed at the
    end, however it ends (a client that went away closes it too, so the chain records
    what was delivered)."""
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    status = 200
    try:
        await response.prepare(request)
        writer = CoalescingWriter(response)
        try:
            try:
                event: StreamEvent | None = first
                while event is not None:
                    data = encoder.encode(event)
                    if data:
                        await writer.send(data)
                    event = await anext(events, None)
            except (ConnectionError, asyncio.CancelledError):
                raise
            except Exception as exc:
                relayed.error = exc
                status, body = error_for(exc)
                await writer.send(encode_event(body))
            await writer.send(DONE)
            await writer.close()
            relayed.status = status  # all of it went out (a client may hang up at once)
        except BaseException:
            writer.cancel()
            raise
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
    await response.write_eof()
    return response
