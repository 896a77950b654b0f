"""The coalescing SSE writer: batches what is pending, bounds its buffer, and surfaces a
client that went away."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from conduit.server.stream import DONE, CoalescingWriter, encode_event


class SlowResponse:
    """Stands in for a `web.StreamResponse` whose client reads only when let.

    `writing` is set once a write has begun (the writer is then held until `go`);
    `failed` once a write has raised (the writer's task has stopped with it)."""

    def __init__(self, fail: bool = False) -> None:
        self.writes: list[bytes] = []
        self.go = asyncio.Event()
        self.writing = asyncio.Event()
        self.failed = asyncio.Event()
        self.fail = fail

    async def write(self, data: bytes) -> None:
        self.writing.set()
        await self.go.wait()
        if self.fail:
            self.failed.set()
            raise ConnectionResetError("client gone")
        self.writes.append(data)


async def turns(n: int = 10) -> None:
    """Let every task that can run take `n` steps (no time needs to pass for that)."""
    for _ in range(n):
        await asyncio.sleep(0)


async def test_pending_events_go_out_in_one_write() -> None:
    response = SlowResponse()
    response.go.set()
    writer = CoalescingWriter(response)  # type: ignore[arg-type]
    for n in range(5):
        await writer.send(encode_event({"n": n}))  # no await suspends: all pending at once
    await writer.send(DONE)
    await writer.close()
    assert len(response.writes) == 1
    assert response.writes[0].count(b"data: ") == 6


async def test_a_slow_client_holds_the_reader_back() -> None:
    response = SlowResponse()
    writer = CoalescingWriter(response)  # type: ignore[arg-type]
    big = b"x" * 40_000
    await writer.send(big)
    await asyncio.wait_for(response.writing.wait(), 30)  # the writer took it, held
    await writer.send(big)
    sending = asyncio.ensure_future(writer.send(big))  # over the bound: waits
    await turns()  # only the client can free it, and it does not read yet
    assert not sending.done()
    response.go.set()
    await asyncio.wait_for(sending, 30)
    await writer.close()
    assert b"".join(response.writes) == big * 3


async def test_a_client_that_went_away_stops_the_relay() -> None:
    response = SlowResponse(fail=True)
    writer = CoalescingWriter(response)  # type: ignore[arg-type]
    response.go.set()
    await writer.send(b"data: 1\n\n")
    await asyncio.wait_for(response.failed.wait(), 30)  # the writer stopped with it
    with pytest.raises(ConnectionResetError):
        await writer.send(b"data: 2\n\n")
    writer.cancel()
    stuck: Any = CoalescingWriter(SlowResponse(fail=True))  # type: ignore[arg-type]
    await stuck.send(b"y" * 10)
    await asyncio.wait_for(stuck._response.writing.wait(), 30)  # blocked on the client
    sending = asyncio.ensure_future(stuck.send(b"y" * 70_000))  # over the bound: waits ...
    await turns()
    assert not sending.done()
    stuck._response.go.set()  # ... and the client is gone
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(sending, 30)
