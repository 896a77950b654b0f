"""`conduit serve --workers 2`: real processes on one port. Requests spread over both
workers, one key's rpm limit holds across them, a SIGKILLed worker is replaced and
loses no acknowledged ledger row, and SIGTERM lets a stream in flight end whole."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from conduit.storage.events import EventFilter, TokenEvent
from conduit.storage.events_sqlite import SQLiteEventStore
from conduit.storage.keys import new_key
from conduit.storage.keys_sqlite import SQLiteKeyStore
from tests.server.live import GatewayProcess, Upstream, deployment

HANG_GUARD = 60.0
HI = [{"role": "user", "content": "Hi"}]


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    server = Upstream(tmp_path_factory.mktemp("upstream"))
    yield server
    server.stop()


async def _key(database: str, **fields: Any) -> tuple[str, str]:
    keys = SQLiteKeyStore(database)
    try:
        key, secret = new_key(**fields)
        await keys.add(key, secret)
    finally:
        await keys.aclose()
    return key.id, secret


def _gateway(folder: Path, upstream: Upstream, database: str) -> GatewayProcess:
    config = {
        "model_list": [deployment("chat", upstream), deployment("slow", upstream, "slow-20")],
        "router_settings": {"num_retries": 0},
        "server": {"database": database, "key_cache_seconds": 0},
    }
    return GatewayProcess(folder, config, args=("--workers", "2"))


def _workers(gateway: GatewayProcess) -> set[int]:
    line = next(x for x in gateway.output().splitlines() if "conduit gateway on" in x)
    return {int(pid) for pid in re.findall(r"\d+", line.split("pids", 1)[1])}


async def _rows(database: str, key_id: str) -> list[TokenEvent]:
    ledger = SQLiteEventStore(database)
    try:
        return await ledger.events(EventFilter(key_id=key_id))
    finally:
        await ledger.aclose()


def _fresh() -> aiohttp.TCPConnector:
    # A connection per request: the kernel spreads connections, not requests.
    return aiohttp.TCPConnector(limit=0, force_close=True)


async def test_two_workers_share_the_port_and_one_rpm_limit(
    upstream: Upstream, tmp_path: Path
) -> None:
    database = str(tmp_path / "gateway.sqlite3")
    key_id, secret = await _key(database, rpm=10)
    gateway = _gateway(tmp_path, upstream, database)
    try:
        workers = _workers(gateway)
        assert len(workers) == 2
        assert gateway.pid not in workers
        async with aiohttp.ClientSession(connector=_fresh()) as session:

            async def health() -> int:
                async with session.get(f"{gateway.root}/health") as r:
                    pid: int = (await r.json())["pid"]
                    return pid

            seen = set(await asyncio.gather(*(health() for _ in range(40))))
            assert seen == workers  # both served (40 connections, hashed over 2 sockets)

            headers = {"Authorization": f"Bearer {secret}"}
            body = {"model": "chat", "messages": HI}

            async def chat() -> int:
                async with session.post(
                    f"{gateway.url}/chat/completions", json=body, headers=headers
                ) as r:
                    await r.read()
                    return r.status

            started = time.monotonic()
            statuses = await asyncio.gather(*(chat() for _ in range(30)))
            elapsed = time.monotonic() - started
        # rpm 10: ten at once, then one more per 6 s (the bucket refills as time passes).
        assert set(statuses) <= {200, 429}
        assert 10 <= statuses.count(200) <= 10 + int(elapsed / 6)
        rows = await _rows(database, key_id)
        assert sorted(e.status or 0 for e in rows) == sorted(statuses)
    finally:
        gateway.stop()
    assert "every worker stopped" in gateway.output()


async def test_a_killed_worker_loses_no_acknowledged_row(
    upstream: Upstream, tmp_path: Path
) -> None:
    database = str(tmp_path / "gateway.sqlite3")
    key_id, secret = await _key(database)
    gateway = _gateway(tmp_path, upstream, database)
    answered: list[str] = []
    hundred = asyncio.Event()
    killed = asyncio.Event()
    after: list[str] = []
    stop = asyncio.Event()

    async def client(session: aiohttp.ClientSession, n: int) -> None:
        for i in range(10_000):
            if stop.is_set():
                return
            user = f"c{n}-{i}"
            body = {"model": "chat", "messages": HI, "user": user}
            try:
                async with session.post(f"{gateway.url}/chat/completions", json=body) as r:
                    if r.status == 200 and (await r.json())["choices"]:
                        answered.append(user)
                        if len(answered) >= 100:
                            hundred.set()
                        if killed.is_set():
                            after.append(user)
                            if len(after) >= 100:
                                stop.set()
            except aiohttp.ClientError:
                continue  # its worker was killed: the next connection goes to a live one

    try:
        victim = min(_workers(gateway))
        headers = {"Authorization": f"Bearer {secret}"}
        async with aiohttp.ClientSession(connector=_fresh(), headers=headers) as session:
            clients = [asyncio.ensure_future(client(session, n)) for n in range(8)]
            await asyncio.wait_for(hundred.wait(), HANG_GUARD)
            os.kill(victim, signal.SIGKILL)  # with requests in flight
            killed.set()
            await asyncio.wait_for(asyncio.gather(*clients), HANG_GUARD)
    finally:
        gateway.stop()
    recorded = {e.user for e in await _rows(database, key_id)}
    assert len(after) >= 100  # served on after the kill
    missing = [user for user in answered if user not in recorded]
    assert missing == []
    assert f"worker {victim} exited" in gateway.output()  # and it was replaced


async def test_sigterm_lets_a_stream_in_flight_end_whole(
    upstream: Upstream, tmp_path: Path
) -> None:
    database = str(tmp_path / "gateway.sqlite3")
    key_id, secret = await _key(database)
    gateway = _gateway(tmp_path, upstream, database)
    try:
        headers = {"Authorization": f"Bearer {secret}"}
        body = {"model": "slow", "messages": HI, "stream": True}
        async with (
            aiohttp.ClientSession(headers=headers) as session,
            session.post(f"{gateway.url}/chat/completions", json=body) as response,
        ):
            assert response.status == 200
            lines = [await response.content.readline()]  # the stream has begun
            gateway.process.send_signal(signal.SIGTERM)
            lines += [line async for line in response.content]
        text = b"".join(lines).decode()
        assert text.rstrip().endswith("data: [DONE]")
        assert gateway.process.wait(timeout=HANG_GUARD) == 0
    finally:
        gateway.stop()
    (row,) = await _rows(database, key_id)
    assert (row.status, row.output_tokens) == (200, 20)


async def test_sighup_restarts_the_workers_without_refusing_a_connection(
    upstream: Upstream, tmp_path: Path
) -> None:
    database = str(tmp_path / "gateway.sqlite3")
    key_id, secret = await _key(database)
    gateway = _gateway(tmp_path, upstream, database)
    failures: list[str] = []
    statuses: list[int] = []
    busy = asyncio.Event()  # 20 answered: the restart comes under load
    goal = [0]  # answers to wait for once the old workers were told to stop
    enough = asyncio.Event()

    async def client(session: aiohttp.ClientSession) -> None:
        body = {"model": "chat", "messages": HI}
        while not enough.is_set():
            try:
                async with session.post(f"{gateway.url}/chat/completions", json=body) as r:
                    await r.read()
                    statuses.append(r.status)
            except aiohttp.ClientError as exc:
                failures.append(repr(exc))
            if len(statuses) >= 20:
                busy.set()
            if goal[0] and len(statuses) >= goal[0]:
                enough.set()

    try:
        old = sorted(_workers(gateway))
        headers = {"Authorization": f"Bearer {secret}"}
        async with aiohttp.ClientSession(connector=_fresh(), headers=headers) as session:
            clients = [asyncio.ensure_future(client(session)) for _ in range(4)]
            await asyncio.wait_for(busy.wait(), HANG_GUARD)
            gateway.process.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + HANG_GUARD
            while f"stopping the old workers {old}" not in gateway.output():
                assert time.monotonic() < deadline, gateway.output()
                await asyncio.sleep(0.05)  # a line in a log file: polled
            goal[0] = len(statuses) + 40  # served on by the new workers
            await asyncio.wait_for(asyncio.gather(*clients), HANG_GUARD)
    finally:
        gateway.stop()
    assert failures == []  # no connection refused or reset across the restart
    assert set(statuses) == {200}
    assert len(await _rows(database, key_id)) == len(statuses)
