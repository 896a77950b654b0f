"""Batch throughput: a 2,000-item batch at concurrency 100 against a fake OpenAI-compatible
server on 127.0.0.1, side by side with bare asyncio loops doing the same calls.

* ``httpx loop``     asyncio + httpx.AsyncClient, a semaphore of 100 (the issue's floor)
* ``aiohttp loop``   asyncio + aiohttp.ClientSession, a semaphore of 100
* ``run_batch``      conduit.batch.run_batch over `model.chat` (runner only)
* ``Pipeline``       conduit.batch.Pipeline(prompt, model).run_batch (template render,
                     messages, the runner, error capture, progress counters)

The server is the raw-asyncio one of `overhead.py`, in its own process. Each client runs
`--rounds` times (best kept). Only 127.0.0.1 is contacted.

Usage::

    .venv/bin/python benchmarks/batch.py                # 2,000 items, 3 rounds
    .venv/bin/python benchmarks/batch.py --items 500 --rounds 1
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

CONCURRENCY = 100
API_KEY = "sk-bench"


def _overhead_module() -> Any:
    path = Path(__file__).with_name("overhead.py")
    spec = importlib.util.spec_from_file_location("bench_overhead", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_overhead"] = module
    spec.loader.exec_module(module)
    return module


def _body(i: int) -> bytes:
    return json.dumps(
        {"model": "bench", "messages": [{"role": "user", "content": f"Say {i}"}]}
    ).encode()


async def _bounded(call: Callable[[int], Awaitable[Any]], items: int) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int) -> Any:
        async with gate:
            return await call(i)

    await asyncio.gather(*(one(i) for i in range(items)))


async def httpx_loop(url: str, items: int) -> float:
    import httpx

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        headers = {"authorization": f"Bearer {API_KEY}", "content-type": "application/json"}

        async def call(i: int) -> str:
            r = await client.post(url, content=_body(i), headers=headers)
            return str(json.loads(r.content)["choices"][0]["message"]["content"])

        await call(0)  # warm the pool
        start = time.perf_counter()
        await _bounded(call, items)
        return time.perf_counter() - start


async def aiohttp_loop(url: str, items: int) -> float:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        headers = {"authorization": f"Bearer {API_KEY}", "content-type": "application/json"}

        async def call(i: int) -> str:
            async with session.post(url, data=_body(i), headers=headers) as r:
                return str(json.loads(await r.read())["choices"][0]["message"]["content"])

        await call(0)
        start = time.perf_counter()
        await _bounded(call, items)
        return time.perf_counter() - start


async def conduit_runner(base_url: str, items: int) -> float:
    import conduit
    from conduit.batch import run_batch

    model = conduit.model("openai/bench", base_url=base_url, api_key=API_KEY, max_retries=0)
    try:
        await model.chat("warm")

        async def call(i: int) -> Any:
            return await model.chat(f"Say {i}")

        start = time.perf_counter()
        result = await run_batch(call, list(range(items)), concurrency=CONCURRENCY)
        elapsed = time.perf_counter() - start
        assert result.ok, result.failed[:1]
        return elapsed
    finally:
        await model.aclose()


async def conduit_pipeline(base_url: str, items: int) -> float:
    import conduit
    from conduit.batch import Pipeline

    model = conduit.model("openai/bench", base_url=base_url, api_key=API_KEY, max_retries=0)
    try:
        await model.chat("warm")
        pipe = Pipeline("Say {{ i }}", model, ledger=False)
        inputs = [{"i": i} for i in range(items)]
        start = time.perf_counter()
        result = await pipe.run_batch(inputs, concurrency=CONCURRENCY, max_retries=0)
        elapsed = time.perf_counter() - start
        assert result.ok, result.failed[:1]
        return elapsed
    finally:
        await model.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    overhead = _overhead_module()
    clients: dict[str, Callable[[str, int], Awaitable[float]]] = {
        "httpx loop": httpx_loop,
        "aiohttp loop": aiohttp_loop,
        "run_batch": conduit_runner,
        "Pipeline": conduit_pipeline,
    }
    best: dict[str, float] = {}
    with overhead.fake_server() as port:
        root = f"http://127.0.0.1:{port}/v1"
        for _ in range(args.rounds):
            for name, run in clients.items():
                url = root + "/chat/completions" if name.endswith("loop") else root
                elapsed = asyncio.run(run(url, args.items))
                best[name] = min(best.get(name, float("inf")), elapsed)
    floor = best["httpx loop"]
    print(f"{args.items} items at concurrency {CONCURRENCY}, best of {args.rounds}")
    print(f"{'client':<14} {'wall s':>8} {'items/s':>9} {'vs httpx loop':>14}")
    for name, elapsed in best.items():
        print(f"{name:<14} {elapsed:>8.3f} {args.items / elapsed:>9,.0f} {elapsed / floor:>13.2f}x")


if __name__ == "__main__":
    main()
