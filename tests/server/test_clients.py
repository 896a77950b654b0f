"""Slow and many clients: a request's head and body must arrive in time, idle
connections are closed, open connections are capped (slow sockets make room for a
normal client), and a flood of bad requests writes a bounded number of log lines."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from conduit.server.app import Gateway
from conduit.server.config import GatewayConfig, parse_config
from conduit.server.logs import quiet_logs
from tests.server.conftest import model_list
from tests.server.test_admin import chat
from tests.server.test_money import HANG_GUARD, _key
from tests.support.openai_server import OpenAITestServer

HEAD = b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\n"


@pytest.fixture
def make(upstream: OpenAITestServer, tmp_path: Path) -> Callable[..., GatewayConfig]:
    def config(**server: Any) -> GatewayConfig:
        return parse_config(
            {
                "model_list": model_list(upstream.base_url),
                "router_settings": {"num_retries": 0},
                "server": {"database": str(tmp_path / "g.sqlite3"), **server},
            }
        )

    return config


@pytest.fixture
async def quick(make: Callable[..., GatewayConfig]) -> AsyncIterator[Gateway]:
    config = make(header_timeout=0.3, body_timeout=0.3, keepalive_timeout=60)
    async with Gateway(config) as gateway:
        await gateway.start(port=0)
        yield gateway


def _port(gateway: Gateway) -> int:
    return int(gateway.url.rsplit(":", 1)[1].split("/")[0])


async def _answer(gateway: Gateway, sent: bytes, *, until_closed: bool = True) -> bytes:
    """What the gateway answers `sent`: all it sends before it closes the connection,
    or (`until_closed=False`) one answer, read by its Content-Length."""
    reader, writer = await asyncio.open_connection("127.0.0.1", _port(gateway))
    try:
        writer.write(sent)
        await writer.drain()
        if until_closed:
            return await asyncio.wait_for(reader.read(), HANG_GUARD)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HANG_GUARD)
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        return head + await asyncio.wait_for(reader.readexactly(length), HANG_GUARD)
    finally:
        writer.close()


def _status_and_error(raw: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"application/json" in head.lower()
    return int(head.split(b" ")[1]), json.loads(body)["error"]


async def test_a_head_that_does_not_arrive_in_time_is_408(quick: Gateway) -> None:
    status, error = _status_and_error(await _answer(quick, HEAD[:20]))
    assert status == 408
    assert error["type"] == "invalid_request_error"
    assert quick.connections["timed_out"] == 1


async def test_a_body_that_does_not_arrive_in_time_is_408(quick: Gateway) -> None:
    _, secret = await _key(quick)
    sent = HEAD + f"Authorization: Bearer {secret}\r\nContent-Length: 100\r\n\r\n{{".encode()
    status, error = _status_and_error(await _answer(quick, sent, until_closed=False))
    assert status == 408
    assert error["code"] == "request_timeout"


async def test_an_idle_connection_is_closed(make: Callable[..., GatewayConfig]) -> None:
    async with Gateway(make(keepalive_timeout=0.3)) as gateway:
        await gateway.start(port=0)
        raw = await _answer(gateway, b"GET /health HTTP/1.1\r\nHost: gateway\r\n\r\n")
        # The answer, then the end of the stream once the keep-alive time has passed.
        assert raw.startswith(b"HTTP/1.1 200")
        assert gateway.connections["open"] == 0


async def test_slow_sockets_cannot_keep_a_normal_client_out(
    make: Callable[..., GatewayConfig],
) -> None:
    async with Gateway(make(max_connections=50)) as gateway:
        await gateway.start(port=0)
        _, secret = await _key(gateway)
        port = _port(gateway)
        slow: list[asyncio.StreamWriter] = []
        try:
            for _ in range(200):  # slowloris: heads that never end
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(HEAD[:10])
                slow.append(writer)
            await asyncio.gather(*(w.drain() for w in slow))
            for _ in range(5):
                status, _ = await chat(gateway, secret)
                assert status == 200
            counts = gateway.connections
            assert counts["open"] <= 50
            assert counts["evicted"] >= 150
        finally:
            for writer in slow:
                writer.close()


async def test_a_flood_of_bad_requests_logs_a_few_lines(
    quick: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with quiet_logs():
        for _ in range(100):
            raw = await _answer(quick, b"GARBAGE / HTTP/1.1\r\nContent-Length: nope\r\n\r\n")
            assert _status_and_error(raw)[0] == 400
    assert len(caplog.records) <= 11


async def test_a_request_in_progress_is_not_cut_by_the_header_timeout(
    upstream: OpenAITestServer, tmp_path: Path
) -> None:
    from tests.server.test_money import Scripted, _on

    async with Scripted() as scripted:
        config = parse_config(
            {
                "model_list": [_on(scripted.url, "hang", "hang")],
                "server": {"database": str(tmp_path / "g.sqlite3"), "header_timeout": 0.1},
            }
        )
        async with Gateway(config) as gateway:
            await gateway.start(port=0)
            _, secret = await _key(gateway)
            task = asyncio.ensure_future(chat(gateway, secret, "hang"))
            await asyncio.wait_for(scripted.arrived.wait(), HANG_GUARD)
            await asyncio.sleep(0.5)  # past the header timeout: a slow machine only passes
            assert not task.done()
            assert gateway.connections == {
                "open": 1,
                "busy": 1,
                "refused": 0,
                "evicted": 0,
                "timed_out": 0,
            }
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_at_the_open_file_limit_a_normal_client_is_still_served(
    upstream: OpenAITestServer, tmp_path: Path
) -> None:
    """A real `conduit serve` allowed 256 open files (so at most 96 connections) under
    300 slowloris sockets: accepting never fails, and a normal client is served."""
    from conduit.storage.keys import new_key
    from conduit.storage.keys_sqlite import SQLiteKeyStore
    from tests.server.live import GatewayProcess

    database = str(tmp_path / "g.sqlite3")
    store = SQLiteKeyStore(database)
    key, secret = new_key()
    await store.add(key, secret)
    await store.aclose()
    config = {
        "model_list": model_list(upstream.base_url),
        "router_settings": {"num_retries": 0},
        "server": {"database": database},
    }
    gateway = GatewayProcess(tmp_path, config, nofile=256)
    slow: list[asyncio.StreamWriter] = []
    try:
        for _ in range(300):
            _, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
            writer.write(HEAD[:10])
            slow.append(writer)
        await asyncio.gather(*(w.drain() for w in slow), return_exceptions=True)
        import aiohttp

        headers = {"Authorization": f"Bearer {secret}"}
        body = {"model": "chat", "messages": [{"role": "user", "content": "Hi"}]}
        async with aiohttp.ClientSession(headers=headers) as session:
            for _ in range(3):
                async with session.post(f"{gateway.url}/chat/completions", json=body) as r:
                    assert r.status == 200
                    assert (await r.json())["choices"]
    finally:
        for writer in slow:
            writer.close()
        gateway.stop()
    assert "Traceback" not in gateway.output()
    assert gateway.output().count("\n") < 20  # no line per socket
