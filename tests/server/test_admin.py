"""Operators: the `/key/*` admin API behind the master key, key expiry, a cap on each
key's requests in flight, and `conduit keys create --expires`."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from click.testing import CliRunner

from conduit.server.app import Gateway
from conduit.server.config import parse_config
from conduit.storage.keys import new_key
from conduit.storage.keys_sqlite import SQLiteKeyStore
from tests.server.conftest import model_list
from tests.server.test_money import HANG_GUARD, Scripted, _on, wait_for
from tests.support.openai_server import OpenAITestServer

MASTER = "sk-master-admin-0123456789"
HI = [{"role": "user", "content": "Hi"}]


@pytest.fixture
async def gateway(upstream: OpenAITestServer, tmp_path: Path) -> AsyncIterator[Gateway]:
    async with Scripted() as scripted:
        config = parse_config(
            {
                "model_list": [*model_list(upstream.base_url), _on(scripted.url, "hang", "hang")],
                "router_settings": {"num_retries": 0},
                "server": {
                    "database": str(tmp_path / "g.sqlite3"),
                    "master_key": MASTER,
                    "max_parallel_requests": 3,
                },
            }
        )
        async with Gateway(config) as gw:
            await gw.start(port=0)
            gw.scripted = scripted  # type: ignore[attr-defined]
            yield gw


async def call(
    gateway: Gateway, method: str, path: str, key: str | None = MASTER, **kwargs: Any
) -> tuple[int, Any]:
    root = gateway.url.removesuffix("/v1")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.request(method, root + path, **kwargs) as response,
    ):
        return response.status, await response.json()


async def chat(gateway: Gateway, secret: str, model: str = "chat") -> tuple[int, Any]:
    return await call(
        gateway, "POST", "/v1/chat/completions", secret, json={"model": model, "messages": HI}
    )


async def test_the_key_admin_api(gateway: Gateway) -> None:
    status, made = await call(
        gateway,
        "POST",
        "/key/generate",
        json={"models": ["chat"], "max_budget": 100, "budget_duration": "30d", "rpm_limit": 60},
    )
    assert status == 200
    secret, key_id = made["key"], made["key_id"]
    assert (made["models"], made["max_budget"], made["rpm_limit"]) == (["chat"], 100.0, 60)
    assert (await chat(gateway, secret))[0] == 200

    status, listed = await call(gateway, "GET", "/key/list")
    assert status == 200
    assert [k["id"] for k in listed["keys"]] == [key_id]
    assert secret not in json.dumps(listed)

    status, info = await call(gateway, "GET", "/key/info", params={"key": key_id})
    assert status == 200
    assert info["key"] == key_id
    assert info["info"]["spend"] > 0

    status, changed = await call(
        gateway, "POST", "/key/update", json={"key": key_id, "max_budget": 1e-9, "tpm": None}
    )
    assert (status, changed["max_budget"]) == (200, 1e-9)
    status, body = await chat(gateway, secret)
    assert (status, body["error"]["code"]) == (429, "budget_exceeded")

    status, deleted = await call(gateway, "POST", "/key/delete", json={"keys": [key_id, "nope"]})
    assert (status, deleted) == (200, {"deleted_keys": [key_id]})
    status, body = await chat(gateway, secret)
    assert status == 401
    assert "revoked" in body["error"]["message"]


async def test_the_admin_api_needs_the_master_key(gateway: Gateway) -> None:
    key, secret = new_key()
    await gateway.keys.add(key, secret)
    for who in (None, secret, "sk-wrong"):
        status, body = await call(gateway, "GET", "/key/list", who)
        assert (status, body["error"]["code"]) == (401, "invalid_api_key")
        status, _ = await call(gateway, "POST", "/key/generate", who, json={})
        assert status == 401
    assert [k.id for k in await gateway.keys.list()] == [key.id]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"max_budget": "nan"}, "max_budget"),
        ({"max_budget": -1}, "max_budget"),
        ({"rpm_limit": -1}, "rpm"),
        ({"budget_duration": "monthly"}, "budget_duration"),
        ({"duration": "soon"}, "duration"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_key_fields_are_400s(gateway: Gateway, body: dict[str, Any], param: str) -> None:
    status, answer = await call(gateway, "POST", "/key/generate", json=body)
    assert status == 400
    assert param in answer["error"]["message"]
    assert await gateway.keys.list() == []


async def test_an_expired_key_is_refused(gateway: Gateway) -> None:
    status, made = await call(gateway, "POST", "/key/generate", json={"duration": "1h"})
    assert status == 200
    assert made["expires_at"] > time.time()
    assert (await chat(gateway, made["key"]))[0] == 200
    key, secret = new_key(expires_at=time.time() - 1)
    await gateway.keys.add(key, secret)
    status, body = await chat(gateway, secret)
    assert (status, body["error"]["code"]) == (401, "invalid_api_key")
    assert "expired" in body["error"]["message"]


async def test_requests_in_flight_per_key_are_capped(gateway: Gateway) -> None:
    scripted: Scripted = gateway.scripted  # type: ignore[attr-defined]
    key, secret = new_key(max_parallel_requests=2)
    other, other_secret = new_key()
    for k, s in ((key, secret), (other, other_secret)):
        await gateway.keys.add(k, s)
    hanging = [asyncio.ensure_future(chat(gateway, secret, "hang")) for _ in range(2)]
    await asyncio.wait_for(_in_flight(gateway, key.id, 2), HANG_GUARD)
    status, body = await chat(gateway, secret)
    assert (status, body["error"]["code"]) == (429, "too_many_parallel_requests")
    # Another key is not held back; the gateway's default (3) is its cap.
    assert (await chat(gateway, other_secret))[0] == 200
    for task in hanging:
        task.cancel()
    await asyncio.gather(*hanging, return_exceptions=True)
    await asyncio.wait_for(_in_flight(gateway, key.id, 0), HANG_GUARD)
    assert (await chat(gateway, secret))[0] == 200
    assert scripted.arrived.is_set()


async def _in_flight(gateway: Gateway, key_id: str, count: int) -> None:
    async def reached() -> bool:
        return gateway.guard.in_flight.get(key_id, 0) == count

    await wait_for(reached)


def test_keys_create_expires(tmp_path: Path) -> None:
    from conduit.cli.keys import keys

    database = str(tmp_path / "keys.sqlite3")
    result = CliRunner().invoke(
        keys, ["--database", database, "create", "--expires", "30d", "--json"]
    )
    assert result.exit_code == 0, result.output
    made = json.loads(result.output)
    assert 29 * 86400 < made["expires_at"] - time.time() <= 30 * 86400
    result = CliRunner().invoke(keys, ["--database", database, "create", "--expires", "never"])
    assert result.exit_code == 2

    async def stored() -> Any:
        store = SQLiteKeyStore(database)
        try:
            return await store.get(made["id"])
        finally:
            await store.aclose()

    assert asyncio.run(stored()).expires_at == made["expires_at"]
