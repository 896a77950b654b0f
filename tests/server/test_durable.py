"""A durable ledger: after a SIGKILL of the gateway, every request whose answer a client
received whole is in the ledger (each event is committed before its answer's last
byte). The gateway is a real `conduit serve` process; ten clients call it until it is
killed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from conduit.storage.events import EventFilter
from conduit.storage.events_sqlite import SQLiteEventStore
from conduit.storage.keys import new_key
from conduit.storage.keys_sqlite import SQLiteKeyStore
from tests.server.conftest import model_list
from tests.server.live import GatewayProcess
from tests.support.openai_server import OpenAITestServer

HANG_GUARD = 60.0


async def test_every_answered_request_survives_a_sigkill(
    upstream: OpenAITestServer, tmp_path: Path
) -> None:
    database = str(tmp_path / "gateway.sqlite3")
    keys = SQLiteKeyStore(database)
    key, secret = new_key()
    await keys.add(key, secret)
    await keys.aclose()
    gateway = GatewayProcess(
        tmp_path,
        {
            "model_list": model_list(upstream.base_url),
            "router_settings": {"num_retries": 0},
            "server": {"database": database},
        },
    )
    answered: list[str] = []
    enough = asyncio.Event()

    async def client(session: aiohttp.ClientSession, n: int) -> None:
        for i in range(1000):
            user = f"c{n}-{i}"
            body = {"model": "chat", "messages": [{"role": "user", "content": "Hi"}], "user": user}
            try:
                async with session.post(f"{gateway.url}/chat/completions", json=body) as r:
                    if r.status == 200 and (await r.json())["choices"]:
                        answered.append(user)
            except aiohttp.ClientError:
                return  # the gateway is gone
            if len(answered) >= 150:
                enough.set()

    try:
        headers = {"Authorization": f"Bearer {secret}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            clients = [asyncio.ensure_future(client(session, n)) for n in range(10)]
            await asyncio.wait_for(enough.wait(), HANG_GUARD)
            gateway.kill()  # SIGKILL, with requests in flight
            await asyncio.wait_for(asyncio.gather(*clients), HANG_GUARD)
    finally:
        gateway.kill()
    ledger = SQLiteEventStore(database)
    try:
        recorded = {e.user for e in await ledger.events(EventFilter(key_id=key.id))}
    finally:
        await ledger.aclose()
    assert len(answered) >= 150
    missing = [user for user in answered if user not in recorded]
    assert missing == []
