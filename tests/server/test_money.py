"""What was delivered is paid for, and a client that goes away is a disconnect (499),
never a server error (500); upstream errors keep their internal URLs to themselves;
every field is checked before anything goes upstream, and the HTTP layer's own errors
are JSON too."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from click.testing import CliRunner

from conduit.server.app import Gateway
from conduit.server.config import parse_config
from conduit.storage.events import EventFilter, TokenEvent
from conduit.storage.keys import new_key
from conduit.storage.spend import SpendLimit
from tests.server.conftest import PRICE_IN, PRICE_OUT, model_list
from tests.support.openai_server import REPLY, OpenAITestServer

HI = [{"role": "user", "content": "Hi"}]
HANG_GUARD = 60.0
INTERNAL = "http://10.9.8.7:8000/internal/v1"


async def wait_for(check: Callable[[], Awaitable[Any]]) -> Any:
    """`await check()` until it is truthy (a hang guard, not a timing assumption)."""
    deadline = time.monotonic() + HANG_GUARD
    while True:
        found = await check()
        if found:
            return found
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.01)


class Scripted:
    """An in-process OpenAI-compatible upstream: model `hang` never answers (and says
    when a request arrived), `status-502` fails naming an internal URL."""

    def __init__(self) -> None:
        self.arrived = asyncio.Event()
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if body["model"] == "status-502":
            error = {"message": f"upstream connect error at {INTERNAL} (10.9.8.7:8000)"}
            return web.json_response({"error": error}, status=502)
        self.arrived.set()
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def __aenter__(self) -> Scripted:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        self.runner = web.AppRunner(app, handler_cancellation=True)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


def _on(url: str, group: str, model: str) -> dict[str, Any]:
    return {
        "model_name": group,
        "litellm_params": {"model": f"openai/{model}", "api_base": url, "api_key": "sk-up"},
    }


@pytest.fixture
async def gateway(upstream: OpenAITestServer, tmp_path: Path) -> AsyncIterator[Gateway]:
    async with Scripted() as scripted:
        config = parse_config(
            {
                "model_list": [
                    *model_list(upstream.base_url),
                    _on(scripted.url, "hang", "hang"),
                    _on(scripted.url, "broken", "status-502"),
                    {"model_name": "echo", "litellm_params": {"model": "fake/echo"}},
                ],
                "router_settings": {"num_retries": 0},
                "server": {"database": str(tmp_path / "g.sqlite3"), "key_cache_seconds": 0},
            }
        )
        async with Gateway(config) as gw:
            await gw.start(port=0)
            gw.scripted = scripted  # type: ignore[attr-defined]
            yield gw


async def _key(gateway: Gateway, **fields: Any) -> tuple[str, str]:
    key, secret = new_key(**fields)
    await gateway.keys.add(key, secret)
    return key.id, secret


async def _events(gateway: Gateway, key_id: str, count: int = 1) -> list[TokenEvent]:
    async def found() -> list[TokenEvent] | None:
        events = await gateway.events.events(EventFilter(key_id=key_id))
        return events if len(events) >= count else None

    events: list[TokenEvent] = await wait_for(found)
    return events


async def test_a_stream_dropped_after_its_last_token_is_paid_for(gateway: Gateway) -> None:
    key_id, secret = await _key(gateway, max_budget=10.0)
    body = {"model": "chat", "messages": HI, "stream": True, "max_tokens": 50}
    text = ""
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {secret}"}) as session,
        session.post(f"{gateway.url}/chat/completions", json=body) as response,
    ):
        assert response.status == 200
        async for line in response.content:
            if line.startswith(b"data: {"):
                chunk = json.loads(line[6:])
                for choice in chunk["choices"]:
                    text += choice["delta"].get("content") or ""
            if text == REPLY:
                break  # every content token came: hang up before the rest
        response.close()
    (event,) = await _events(gateway, key_id)
    assert event.status in (200, 499)
    assert event.output_tokens > 0
    assert event.cost is not None
    assert event.cost > 0
    assert math.isclose(event.cost, event.input_tokens * PRICE_IN + event.output_tokens * PRICE_OUT)
    spent = await gateway.spend.spent(SpendLimit("key", key_id, 10.0))
    assert math.isclose(spent, event.cost)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_a_client_that_goes_away_is_499_never_500(gateway: Gateway, stream: bool) -> None:
    key_id, secret = await _key(gateway, max_budget=10.0)
    scripted: Scripted = gateway.scripted  # type: ignore[attr-defined]
    scripted.arrived.clear()

    async def call() -> None:
        async with (
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {secret}"}) as session,
            session.post(
                f"{gateway.url}/chat/completions",
                json={"model": "hang", "messages": HI, "stream": stream, "max_tokens": 5},
            ) as response,
        ):
            await response.read()

    task = asyncio.ensure_future(call())
    await asyncio.wait_for(scripted.arrived.wait(), HANG_GUARD)
    task.cancel()  # the client hangs up while the upstream thinks
    with pytest.raises(asyncio.CancelledError):
        await task
    (event,) = await _events(gateway, key_id)
    assert event.status == 499
    # Nothing was delivered: nothing is owed, and the budget's hold is released.
    assert not event.cost
    assert await gateway.spend.spent(SpendLimit("key", key_id, 10.0)) == 0


async def test_streams_dropped_after_three_chunks_are_never_500(gateway: Gateway) -> None:
    key_id, secret = await _key(gateway)
    body = {"model": "chat", "messages": HI, "stream": True}

    async def one(session: aiohttp.ClientSession) -> None:
        async with session.post(f"{gateway.url}/chat/completions", json=body) as response:
            seen = 0
            async for line in response.content:
                seen += line.startswith(b"data: ")
                if seen == 3:
                    break
            response.close()

    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    headers = {"Authorization": f"Bearer {secret}"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        await asyncio.gather(*(one(session) for _ in range(100)))
    events = await _events(gateway, key_id, 100)
    assert {e.status for e in events} <= {200, 499}
    assert all(e.output_tokens > 0 and e.cost for e in events)


async def test_an_upstream_error_never_shows_an_internal_url(gateway: Gateway) -> None:
    key_id, secret = await _key(gateway)
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {secret}"}) as session,
        session.post(
            f"{gateway.url}/chat/completions", json={"model": "broken", "messages": HI}
        ) as response,
    ):
        text = await response.text()
    assert response.status == 502
    assert json.loads(text)["error"]["type"] == "api_error"
    assert "10.9.8.7" not in text
    assert "internal" not in text
    (event,) = await _events(gateway, key_id)
    assert event.status == 502


@pytest.mark.parametrize("group", ["chat", "echo"], ids=["forwarded", "typed"])
@pytest.mark.parametrize(
    ("field", "value", "param"),
    [
        ("messages", [1, 2], "messages[0]"),
        ("max_tokens", -5, "max_tokens"),
        ("temperature", "hot", "temperature"),
        ("top_p", 1.5, "top_p"),
        ("stream", "no", "stream"),
        ("stream_options", "x", "stream_options"),
        ("n", 0, "n"),
    ],
)
async def test_every_field_is_checked_on_both_paths(
    gateway: Gateway, group: str, field: str, value: Any, param: str
) -> None:
    key_id, secret = await _key(gateway)
    body = {"model": group, "messages": HI, field: value}
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {secret}"}) as session,
        session.post(f"{gateway.url}/chat/completions", json=body) as response,
    ):
        answer = await response.json()
    assert response.status == 400
    assert answer["error"]["type"] == "invalid_request_error"
    assert answer["error"]["param"] == param
    (event,) = await _events(gateway, key_id)
    assert event.status == 400
    assert event.provider == "gateway"  # nothing went upstream


async def test_http_parse_errors_are_json(gateway: Gateway) -> None:
    port = int(gateway.url.rsplit(":", 1)[1].split("/")[0])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), HANG_GUARD)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"400"
    assert b"application/json" in head
    assert json.loads(body)["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_keys_create_refuses_a_budget_that_is_not_money(tmp_path: Path, value: str) -> None:
    from conduit.cli.keys import keys

    database = str(tmp_path / "keys.sqlite3")
    result = CliRunner().invoke(
        keys, ["--database", database, "create", "--max-budget", value, "--json"]
    )
    assert result.exit_code == 2
    assert "max_budget" in result.output
    assert "NaN" not in result.output


async def test_fifty_concurrent_requests_never_pass_a_key_tpm(gateway: Gateway) -> None:
    key_id, secret = await _key(gateway, tpm=100)
    body = {"model": "chat", "messages": HI, "max_tokens": 10}
    headers = {"Authorization": f"Bearer {secret}"}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def one() -> int:
            async with session.post(f"{gateway.url}/chat/completions", json=body) as r:
                await r.read()
                return r.status

        statuses = await asyncio.gather(*(one() for _ in range(50)))
    assert set(statuses) == {200, 429}
    events = await _events(gateway, key_id, 50)
    used = sum(e.input_tokens + e.output_tokens for e in events if e.status == 200)
    # Each request takes its worst case (its input and max_tokens) before it goes up:
    # at most the limit, plus what refilled while the test ran, plus one request.
    assert used <= 100 + 20, used
