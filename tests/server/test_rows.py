"""Every ledger row tells the truth: a request refused after authentication (403, 404,
400, 429, 413) has its row with the status its client got, a client that goes away
while its request is read is a 499 (never a 500), and a 500 names an error id that is
in its JSON body, in the log with the exception, and is its ledger row's id."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import conduit.server.chat
from conduit.server.app import Gateway
from conduit.server.config import parse_config
from conduit.storage.buckets_sqlite import SQLiteBuckets
from conduit.storage.events import EventFilter, TokenEvent
from conduit.storage.keys import new_key
from tests.server.conftest import FrozenClock, model_list
from tests.server.test_money import HANG_GUARD, HI, wait_for
from tests.support.openai_server import OpenAITestServer


@pytest.fixture
async def gateway(
    upstream: OpenAITestServer, tmp_path: Path, key_clock: FrozenClock
) -> AsyncIterator[Gateway]:
    config = parse_config(
        {
            "model_list": [
                *model_list(upstream.base_url),
                {"model_name": "echo", "litellm_params": {"model": "fake/echo"}},
            ],
            "router_settings": {"num_retries": 0},
            "server": {
                "database": str(tmp_path / "rows.sqlite3"),
                "key_cache_seconds": 0,
                "max_request_bytes": 4096,
            },
        }
    )
    buckets = SQLiteBuckets(config.database, clock=key_clock)
    async with Gateway(config, buckets=buckets) as gw:
        await gw.start(port=0)
        yield gw


async def _key(gateway: Gateway, **fields: Any) -> tuple[str, str]:
    key, secret = new_key(**fields)
    await gateway.keys.add(key, secret)
    return key.id, secret


async def _rows(gateway: Gateway, key_id: str, count: int) -> list[TokenEvent]:
    async def found() -> list[TokenEvent] | None:
        events = await gateway.events.events(EventFilter(key_id=key_id))
        return events if len(events) >= count else None

    events: list[TokenEvent] = await wait_for(found)
    assert len(events) == count
    return events


async def _post(gateway: Gateway, secret: str, path: str, body: Any) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {secret}"}) as session,
        session.post(f"{gateway.url}{path}", json=body) as response,
    ):
        return response.status, await response.json()


async def test_every_refusal_after_authentication_has_its_row(gateway: Gateway) -> None:
    key_id, secret = await _key(gateway, models=["chat", "embed"], rpm=3)
    chat = "/chat/completions"
    asks = [
        (chat, {"model": "echo", "messages": HI}, 403),  # not this key's model
        (chat, {"model": "nope", "messages": HI}, 404),  # no such model
        (chat, {"model": "chat", "messages": HI, "temperature": "hot"}, 400),
        ("/embeddings", {"model": "nope", "input": "hi"}, 404),
        ("/embeddings", {"model": "embed", "input": 7}, 400),
        (chat, {"model": "chat", "messages": HI, "pad": "x" * 5000}, 413),
        (chat, {"model": "chat", "messages": HI}, 200),
        (chat, {"model": "chat", "messages": HI}, 200),
        (chat, {"model": "chat", "messages": HI}, 200),
        (chat, {"model": "chat", "messages": HI}, 429),  # rpm 3, and the clock stands still
    ]
    for path, body, status in asks:
        got, _ = await _post(gateway, secret, path, body)
        assert got == status, (path, body.get("model"), got)
    rows = await _rows(gateway, key_id, len(asks))
    assert sorted(e.status or 0 for e in rows) == sorted(s for _, _, s in asks)
    assert {e.model for e in rows if e.status == 404} == {"(none)"}  # no such group
    assert {e.model for e in rows if e.status == 403} == {"echo"}
    assert all(not e.cost and not e.output_tokens for e in rows if e.status != 200)


async def test_a_request_without_a_valid_key_has_no_row(gateway: Gateway) -> None:
    got, body = await _post(gateway, "sk-cnd-nope", "/chat/completions", {"model": "chat"})
    assert got == 401
    assert body["error"]["type"] == "invalid_request_error"
    assert await gateway.events.events() == []


async def test_a_client_that_hangs_up_while_its_body_comes_is_499(gateway: Gateway) -> None:
    key_id, secret = await _key(gateway)
    host, port = gateway.url.removeprefix("http://").removesuffix("/v1").split(":")
    _reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        (
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {secret}\r\nContent-Type: application/json\r\n"
            "Content-Length: 2000\r\n\r\n"
            '{"model": "chat", "messages": ['
        ).encode()
    )
    await writer.drain()

    async def in_flight() -> bool:
        return gateway.metrics.in_flight > 0

    await wait_for(in_flight)  # authenticated, reading the body
    writer.close()
    await asyncio.wait_for(writer.wait_closed(), HANG_GUARD)
    (row,) = await _rows(gateway, key_id, 1)
    assert row.status == 499
    assert not row.cost


class _Broken:
    """A bug in the gateway: any call fails with an exception no one expected."""

    def __init__(self, *args: object) -> None:
        raise RuntimeError("a bug in the gateway")


@pytest.mark.parametrize(
    ("group", "patched"), [("chat", "openai_model"), ("echo", "ServedModel")], ids=["fwd", "typed"]
)
async def test_a_500_names_one_error_id_in_body_log_and_ledger(
    gateway: Gateway,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    group: str,
    patched: str,
) -> None:
    key_id, secret = await _key(gateway)
    monkeypatch.setattr(conduit.server.chat, patched, _Broken)
    with caplog.at_level(logging.ERROR, logger="conduit.server"):
        got, body = await _post(
            gateway, secret, "/chat/completions", {"model": group, "messages": HI}
        )
    assert got == 500
    error_id = body["error"]["id"]
    assert error_id in body["error"]["message"]
    assert "a bug" not in body["error"]["message"]  # the detail is in the log only
    [logged] = [r for r in caplog.records if error_id in r.getMessage()]
    assert logged.exc_info is not None
    assert "a bug in the gateway" in str(logged.exc_info[1])
    (row,) = await _rows(gateway, key_id, 1)
    assert (row.id, row.status) == (error_id, 500)
