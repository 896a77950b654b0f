"""Streams of `/v1/messages` and `/v1/responses` that end badly: a client that hangs up
mid-stream is recorded as 499 with what it was sent, and an upstream that breaks
mid-stream sends the route's `error` event and is recorded with its status."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp

from conduit.errors import ServerError
from conduit.providers.fake import MockModel
from conduit.routing import Deployment
from conduit.schema import Prices, StreamEvent, TextDelta
from conduit.server.app import Gateway
from conduit.storage.events import EventFilter, TokenEvent


class Breaks(MockModel):
    """Two words, then the upstream fails."""

    async def stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[StreamEvent]:  # type: ignore[override]
        yield TextDelta(text="one ")
        yield TextDelta(text="two ")
        raise ServerError("the upstream fell over", status_code=500)


async def _events(gateway: Gateway, key_id: str) -> list[TokenEvent]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60  # a hang guard
    while True:
        await gateway.recorder.flush()
        found = await gateway.events.events(EventFilter(key_id=key_id))
        if found or loop.time() > deadline:
            return found
        await asyncio.sleep(0.05)


async def test_a_client_that_hangs_up_is_a_499(
    gateway: Gateway, add_key: Callable[..., Any]
) -> None:
    words = " ".join(f"word{n}" for n in range(40))
    slow = MockModel([words], delay=0.05, name="slow")
    gateway.router.add_deployment("slow", Deployment(slow, prices=Prices(input=1000, output=2000)))
    key_id, secret = await add_key()
    body = {
        "model": "slow",
        "max_tokens": 100,
        "stream": True,
        "messages": [{"role": "user", "content": "Go on"}],
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{gateway.url}/messages", json=body, headers={"x-api-key": secret}) as r,
    ):
        seen = 0
        while seen < 4:  # message_start, the block's start, two deltas
            line = await r.content.readline()
            seen += line.startswith(b"event: ")
        r.close()  # hang up mid-stream
    (event,) = await _events(gateway, key_id)
    assert event.status == 499
    assert event.output_tokens > 0  # what was delivered is recorded ...
    assert event.cost is not None
    assert event.cost > 0  # ... and paid for


async def test_an_upstream_that_breaks_mid_stream(
    gateway: Gateway, add_key: Callable[..., Any]
) -> None:
    gateway.router.add_deployment("breaks", Deployment(Breaks(name="breaks")))
    key_id, secret = await add_key()
    headers = {"Authorization": f"Bearer {secret}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        body = {"model": "breaks", "input": "Hi", "stream": True}
        async with session.post(f"{gateway.url}/responses", json=body) as r:
            text = await r.text()
        body = {
            "model": "breaks",
            "max_tokens": 9,
            "stream": True,
            "messages": [{"role": "user", "content": "Hi"}],
        }
        async with session.post(f"{gateway.url}/messages", json=body) as r:
            anthropic_text = await r.text()
    names = [
        line.removeprefix("event: ") for line in text.splitlines() if line.startswith("event: ")
    ]
    assert names[-1] == "error"
    assert "response.output_text.delta" in names
    last = json.loads(text.strip().splitlines()[-1].removeprefix("data: "))
    assert last["type"] == "error"
    assert "fell over" in last["message"]
    error = json.loads(anthropic_text.strip().splitlines()[-1].removeprefix("data: "))
    assert error["type"] == "error"
    assert error["error"]["type"] == "api_error"
    found = await _events(gateway, key_id)
    assert [e.status for e in found] == [502, 502]
