"""Load: 500 concurrent streaming requests through the gateway to a fake upstream, all
on 127.0.0.1, in rounds that end by themselves: no errors, every request in the ledger,
and memory that does not grow from round to round."""

from __future__ import annotations

import asyncio
import gc
import json
import os
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from conduit.server.app import Gateway
from conduit.server.config import GatewayConfig
from tests.support.openai_server import REPLY

CONCURRENT = 500
ROUNDS = 3
HAS_PROC = os.path.exists("/proc/self/statm")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def one_stream(session: aiohttp.ClientSession, url: str, n: int) -> str:
    body = {"model": "chat", "messages": [{"role": "user", "content": f"n{n}"}], "stream": True}
    text = []
    async with session.post(url, json=body) as response:
        assert response.status == 200
        async for line in response.content:
            if line.startswith(b"data: {"):
                chunk = json.loads(line[6:])
                text.append(chunk["choices"][0]["delta"].get("content") or "")
    return "".join(text)


@pytest.mark.slow
async def test_500_concurrent_streams(make_config: Callable[..., GatewayConfig]) -> None:
    if not HAS_PROC:
        pytest.skip("reads memory use from /proc")
    config: Any = make_config(require_key=False, ledger_flush_seconds=0.05)
    async with Gateway(config) as gw:
        await gw.start(port=0)
        url = f"{gw.url}/chat/completions"
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=120)
        memory = []
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            for _ in range(ROUNDS):
                texts = await asyncio.wait_for(
                    asyncio.gather(*(one_stream(session, url, n) for n in range(CONCURRENT))),
                    timeout=300,
                )
                assert texts == [REPLY] * CONCURRENT
                gc.collect()
                memory.append(rss_bytes())
        await gw.recorder.flush()
        assert await gw.events.count() == CONCURRENT * ROUNDS
        assert gw.metrics.in_flight == 0
    # The first round warms pools and caches; after it, memory stays flat (a leak of a
    # few kilobytes per request would show as megabytes here).
    assert memory[-1] - memory[0] < 32 * 1024 * 1024, memory
