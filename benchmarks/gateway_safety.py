"""The gateway's promises under load, measured (not a test): budget overshoot with 50 and
200 concurrent clients on one replica (SQLite) and two (shared Redis + PostgreSQL), the
p50 latency the budget's reserve -> settle adds, and how many normal requests a second
are served while 1,000 slowloris sockets are open.

Every server is a real process on 127.0.0.1: the fake upstream
(`tests/server/upstream_app.py`), gateways run as `conduit serve --config FILE`, Redis
and PostgreSQL started here (`tests/server/live.py`). Run on demand from the repository:

    .venv/bin/python benchmarks/gateway_safety.py          # ~1 minute
    .venv/bin/python benchmarks/gateway_safety.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from tests.server.live import GatewayProcess, PostgresProcess, RedisProcess, Upstream, deployment  # noqa: E402

from conduit.storage.events import EventFilter  # noqa: E402
from conduit.storage.keys import new_key, open_key_store  # noqa: E402
from conduit.storage.ledger import open_ledger  # noqa: E402

BUDGET = 0.10
PRICES = {"input_cost_per_token": 0.001, "output_cost_per_token": 0.002}
BODY = {"model": "chat", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8}


def _config(upstream: Upstream, database: str, redis: str | None = None) -> dict[str, Any]:
    server: dict[str, Any] = {"database": database, "max_parallel_requests": 1000}
    if redis:
        server["redis_url"] = redis
    return {
        "model_list": [deployment("chat", upstream, "words-8", **PRICES)],
        "router_settings": {"num_retries": 0},
        "server": server,
    }


async def _add_key(database: str, **fields: Any) -> tuple[str, str]:
    store = open_key_store(database)
    try:
        key, secret = new_key(**fields)
        await store.add(key, secret)
        return key.id, secret
    finally:
        await store.aclose()


async def _spent(database: str, key_id: str) -> tuple[float, int]:
    ledger = open_ledger(database)
    try:
        events = await ledger.events(EventFilter(key_id=key_id))
    finally:
        await ledger.aclose()
    return sum(e.cost or 0.0 for e in events), sum(e.status == 200 for e in events)


async def _burst(urls: list[str], secret: str, clients: int) -> None:
    headers = {"Authorization": f"Bearer {secret}"}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def one(n: int) -> None:
            async with session.post(f"{urls[n % len(urls)]}/chat/completions", json=BODY) as r:
                await r.read()

        await asyncio.gather(*(one(n) for n in range(clients)))


async def overshoot(folder: Path, upstream: Upstream, replicas: int, clients: int) -> str:
    redis = postgres = None
    gateways: list[GatewayProcess] = []
    try:
        if replicas == 1:
            database = str(folder / f"one-{clients}.sqlite3")
            configs = [_config(upstream, database)]
        else:
            redis = RedisProcess(folder / f"redis-{clients}")
            postgres = PostgresProcess(name="bench")
            database = await postgres.new_database()
            configs = [_config(upstream, database, redis.url)] * replicas
        key_id, secret = await _add_key(database, max_budget=BUDGET)
        for n, config in enumerate(configs):
            gateways.append(GatewayProcess(folder, config, name=f"g{replicas}-{clients}-{n}"))
        await _burst([g.url for g in gateways], secret, clients)
        spent, answered = await _spent(database, key_id)
    finally:
        for gateway in gateways:
            gateway.stop()
        if redis is not None:
            redis.stop()
        if postgres is not None:
            postgres.stop()
    over = max(0.0, spent - BUDGET)
    return (
        f"| {replicas} | {clients} | {answered} | {spent:.4f} | {over:.4f} "
        f"| {100 * over / BUDGET:.1f} % |"
    )


async def _latencies(url: str, secret: str, count: int) -> list[float]:
    headers = {"Authorization": f"Bearer {secret}"}
    out = []
    async with aiohttp.ClientSession(headers=headers) as session:
        for _ in range(count):
            started = time.perf_counter()
            async with session.post(f"{url}/chat/completions", json=BODY) as r:
                await r.read()
                assert r.status == 200, r.status
            out.append(time.perf_counter() - started)
    return out


async def reserve_settle(folder: Path, upstream: Upstream, count: int) -> str:
    database = str(folder / "latency.sqlite3")
    _, plain = await _add_key(database)
    _, budgeted = await _add_key(database, max_budget=1e9)
    gateway = GatewayProcess(folder, _config(upstream, database), name="latency")
    try:
        await _latencies(gateway.url, plain, 50)  # warm up
        runs: dict[str, list[float]] = {"plain": [], "budget": []}
        for _ in range(count):  # interleaved one by one, so drift hits both alike
            runs["plain"] += await _latencies(gateway.url, plain, 1)
            runs["budget"] += await _latencies(gateway.url, budgeted, 1)
    finally:
        gateway.stop()
    p50 = {name: statistics.median(values) * 1000 for name, values in runs.items()}
    return (
        f"p50 without a budget {p50['plain']:.2f} ms, with one {p50['budget']:.2f} ms: "
        f"reserve -> settle adds {p50['budget'] - p50['plain']:.2f} ms"
    )


async def _rate(url: str, secret: str, seconds: float) -> float:
    headers = {"Authorization": f"Bearer {secret}"}
    done = 0
    stop = time.perf_counter() + seconds
    async with aiohttp.ClientSession(headers=headers) as session:

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < stop:
                async with session.post(f"{url}/chat/completions", json=BODY) as r:
                    await r.read()
                    done += r.status == 200

        await asyncio.gather(*(worker() for _ in range(8)))
    return done / seconds


async def slowloris(folder: Path, upstream: Upstream, sockets: int, seconds: float) -> str:
    database = str(folder / "slowloris.sqlite3")
    _, secret = await _add_key(database)
    gateway = GatewayProcess(
        folder, _config(upstream, database), name="slowloris", nofile=2 * sockets + 1024
    )
    slow: list[asyncio.StreamWriter] = []
    try:
        before = await _rate(gateway.url, secret, seconds)
        for _ in range(sockets):
            _, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
            writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHo")
            slow.append(writer)

        async def drip() -> None:  # one more byte a second each, as slowloris does
            while True:
                await asyncio.sleep(1)
                for writer in slow:
                    if not writer.is_closing():
                        writer.write(b"s")

        dripping = asyncio.ensure_future(drip())
        during = await _rate(gateway.url, secret, seconds)
        dripping.cancel()
        still = sum(not w.is_closing() for w in slow)
    finally:
        for writer in slow:
            writer.close()
        gateway.stop()
    return (
        f"{sockets} slow sockets: {before:.0f} req/s before, {during:.0f} req/s while they "
        f"are open (8 clients); {still} still open from the client's side after {seconds:g} s"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests")
    args = parser.parse_args()
    count, seconds = (200, 3.0) if args.quick else (1000, 5.0)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        upstream = Upstream(folder)
        try:
            print("| replicas | clients | answered | spent USD | over USD | over % |")
            print("| --- | --- | --- | --- | --- | --- |")
            for replicas in (1, 2):
                for clients in (50, 200):
                    print(await overshoot(folder, upstream, replicas, clients), flush=True)
            print(await reserve_settle(folder, upstream, count), flush=True)
            print(await slowloris(folder, upstream, 1000, seconds), flush=True)
        finally:
            upstream.stop()


if __name__ == "__main__":
    asyncio.run(main())
