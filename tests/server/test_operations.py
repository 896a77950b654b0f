"""Gateway operations: health, metrics, size limits, upstream errors, open and master
keys, client disconnects and graceful shutdown."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from conduit.server.app import Gateway
from conduit.server.config import GatewayConfig, parse_config
from conduit.storage.events import EventFilter
from conduit.storage.keys import new_key

HI = [{"role": "user", "content": "Hi"}]


async def post(url: str, body: Any, key: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            url, data=json.dumps(body) if not isinstance(body, bytes) else body, headers=headers
        ) as response,
    ):
        return response.status, await response.json()


async def test_health_and_metrics(make_config: Callable[..., GatewayConfig]) -> None:
    master = "sk-master-metrics-0123"
    async with Gateway(make_config(master_key=master)) as gateway:
        await gateway.start(port=0)
        key, secret = new_key()
        await gateway.keys.add(key, secret)
        url = f"{gateway.url}/chat/completions"
        await post(url, {"model": "chat", "messages": HI}, secret)
        await post(url, {"model": "chat", "messages": HI}, "sk-bad")
        root = gateway.url.removesuffix("/v1")
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{root}/health") as response:
                assert response.status == 200
                assert (await response.json())["status"] == "ok"
            async with session.get(f"{root}/health/readiness") as response:
                assert response.status == 200
                ready = await response.json()
                assert ready["dependencies"]["database"]["status"] == "up"
            # Counts, tokens and cost per model are the operator's: the master key.
            for auth in ({}, {"Authorization": f"Bearer {secret}"}):
                async with session.get(f"{root}/metrics", headers=auth) as response:
                    assert response.status == 401
                    assert (await response.json())["error"]["code"] == "invalid_api_key"
            headers = {"Authorization": f"Bearer {master}"}
            async with session.get(f"{root}/metrics", headers=headers) as response:
                assert response.content_type == "text/plain"
                text = await response.text()
    async with Gateway(make_config(master_key=master, metrics_public=True)) as public:
        await public.start(port=0)
        async with (
            aiohttp.ClientSession() as session,
            session.get(public.url.removesuffix("/v1") + "/metrics") as response,
        ):
            assert response.status == 200
    lines = text.splitlines()
    ok = 'conduit_requests_total{route="/v1/chat/completions",model="chat",status="200"} 1'
    assert ok in lines
    assert 'conduit_requests_total{route="/v1/chat/completions",model="",status="401"} 1' in lines
    assert any(line.startswith('conduit_tokens_total{model="chat",kind="input"}') for line in lines)
    assert any(line.startswith('conduit_cost_usd_total{model="chat"}') for line in lines)
    assert 'conduit_request_duration_seconds_count{route="/v1/chat/completions"} 2' in lines
    assert "conduit_requests_in_flight 0" in lines


async def test_bad_requests(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    _, secret = await add_key()
    url = f"{gateway.url}/chat/completions"
    status, body = await post(url, b"{not json", secret)
    assert (status, body["error"]["type"]) == (400, "invalid_request_error")
    status, body = await post(url, [1, 2], secret)
    assert status == 400
    status, body = await post(url, {"messages": HI}, secret)
    assert (status, body["error"]["param"]) == (400, "model")
    status, body = await post(url, {"model": "chat", "messages": []}, secret)
    assert (status, body["error"]["param"]) == (400, "messages")
    status, body = await post(f"{gateway.url}/embeddings", {"model": "embed"}, secret)
    assert (status, body["error"]["param"]) == (400, "input")
    # Connection settings are the gateway's, not request parameters: a caller must
    # not redirect the gateway (and its provider key) to a server of its own.
    for name, value in (("api_base", "http://127.0.0.1:9/v1"), ("api_key", "x"), ("foo", 1)):
        status, body = await post(url, {"model": "chat", "messages": HI, name: value}, secret)
        assert (status, body["error"]["param"]) == (400, name)
        assert "Unrecognized request argument" in body["error"]["message"]
    status, body = await post(
        f"{gateway.url}/embeddings", {"model": "embed", "input": "x", "headers": {}}, secret
    )
    assert (status, body["error"]["param"]) == (400, "headers")
    status, body = await post(f"{gateway.url}/nowhere", {}, secret)
    assert (status, body["error"]["type"]) == (404, "not_found_error")


async def test_request_size_limit(make_config: Callable[..., GatewayConfig]) -> None:
    async with Gateway(make_config(require_key=False, max_request_bytes=1024)) as gw:
        await gw.start(port=0)
        big = {"model": "chat", "messages": [{"role": "user", "content": "x" * 5000}]}
        status, body = await post(f"{gw.url}/chat/completions", big)
    assert status == 413
    assert "1024 bytes" in body["error"]["message"]


async def test_open_gateway_and_master_key(make_config: Callable[..., GatewayConfig]) -> None:
    async with Gateway(make_config(require_key=False)) as gw:
        await gw.start(port=0)
        status, body = await post(f"{gw.url}/chat/completions", {"model": "chat", "messages": HI})
        assert status == 200
        (event,) = await gw.events.events()
        assert event.key_id is None
    async with Gateway(make_config(master_key="sk-master-123")) as gw:
        await gw.start(port=0)
        body = {"model": "chat", "messages": HI, "user": "alice"}
        status, _ = await post(f"{gw.url}/chat/completions", body, "sk-master-123")
        assert status == 200
        (event,) = await gw.events.events(EventFilter(user="alice"))
        assert event.key_id == "master"


async def test_upstream_unreachable_is_502(upstream: Any, tmp_path: Any) -> None:
    config = parse_config(
        {
            "model_list": [
                {
                    "model_name": "down",
                    "litellm_params": {
                        "model": "openai/gpt-4o-mini",
                        "api_base": "http://127.0.0.1:9/v1",
                        "api_key": "sk-upstream",
                    },
                }
            ],
            "router_settings": {"num_retries": 0},
            "server": {"database": str(tmp_path / "g.sqlite3"), "require_key": False},
        }
    )
    async with Gateway(config) as gw:
        await gw.start(port=0)
        status, body = await post(f"{gw.url}/chat/completions", {"model": "down", "messages": HI})
        await gw.recorder.flush()
        (event,) = await gw.events.events()
    assert status == 502
    assert body["error"]["code"] == "upstream_unreachable"
    assert "sk-upstream" not in json.dumps(body)
    assert event.status == 502


class SlowUpstream:
    """An OpenAI-compatible stream of `chunks` words, `delay` seconds apart; records
    whether the gateway hung up on it."""

    def __init__(self, chunks: int = 20, delay: float = 0.05) -> None:
        self.chunks, self.delay = chunks, delay
        self.hung_up = asyncio.Event()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        base = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m"}
        try:
            for i in range(self.chunks):
                delta = {"content": f"w{i} "}
                chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
                await asyncio.sleep(self.delay)
            end = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            await response.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
        except (ConnectionError, asyncio.CancelledError):
            self.hung_up.set()
            raise
        return response

    async def __aenter__(self) -> SlowUpstream:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


@pytest.fixture
async def slow_gateway(tmp_path: Any) -> AsyncIterator[tuple[Gateway, SlowUpstream]]:
    async with SlowUpstream() as slow:
        config = parse_config(
            {
                "model_list": [
                    {
                        "model_name": "slow",
                        "litellm_params": {
                            "model": "openai/slow",
                            "api_base": slow.url,
                            "api_key": "sk-up",
                        },
                    }
                ],
                "server": {
                    "database": str(tmp_path / "g.sqlite3"),
                    "require_key": False,
                    "ledger_flush_seconds": 0,
                    "shutdown_timeout": 60,
                },
            }
        )
        async with Gateway(config) as gw:
            await gw.start(port=0)
            yield gw, slow


async def test_client_disconnect_cancels_the_upstream_call(
    slow_gateway: tuple[Gateway, SlowUpstream],
) -> None:
    gw, slow = slow_gateway
    body = {"model": "slow", "messages": HI, "stream": True}
    async with aiohttp.ClientSession() as session:
        response = await session.post(f"{gw.url}/chat/completions", json=body)
        assert (await response.content.readline()).startswith(b"data: ")
        response.close()  # hang up mid-stream
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60  # a hang guard for both waits
    await asyncio.wait_for(slow.hung_up.wait(), timeout=60)
    while True:
        events = await gw.events.events()
        if events or loop.time() > deadline:
            break
        await asyncio.sleep(0.05)
    assert [e.status for e in events] == [499]


async def test_graceful_shutdown_finishes_streams_in_flight(
    slow_gateway: tuple[Gateway, SlowUpstream],
) -> None:
    gw, slow = slow_gateway
    body = {"model": "slow", "messages": HI, "stream": True}
    async with aiohttp.ClientSession() as session:
        response = await session.post(f"{gw.url}/chat/completions", json=body)
        first = await response.content.readline()
        stopping = asyncio.ensure_future(gw.stop())
        rest = await response.read()
        await stopping
    text = (first + rest).decode()
    words = [
        json.loads(line[6:])["choices"][0]["delta"].get("content")
        for line in text.splitlines()
        if line.startswith("data: {")
    ]
    assert "".join(w for w in words if w) == "".join(f"w{i} " for i in range(slow.chunks))
    assert text.rstrip().endswith("data: [DONE]")
    assert not slow.hung_up.is_set()
