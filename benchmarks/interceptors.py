"""What each interceptor costs per call, and how fast a cache hit is on each backend.

* Overhead: `chat()` on a zero-latency `FunctionModel` (it returns a prebuilt answer),
  bare and wrapped in one interceptor at a time; the difference per call is the
  interceptor's overhead (target: under 20 µs each). `chain only` is the wrapper with no
  interceptors; `all seven` is the full recommended stack.
* Floors: what the standard library's logging and the OpenTelemetry SDK cost for the
  same records and span without Conduit, so `Logging` and `Tracing` can be judged on their
  own share.
* Cache hits: the whole `chat()` call answered by `Cache` from `MemoryCache`,
  `SQLiteCache` (a file in a temporary folder) and `RedisCache` (a redis-server this
  script starts on 127.0.0.1 when one is installed).
* Shared stores: the whole `chat()` call through `Budget` (reserve + settle) and
  `RateLimit` (take + settle) on the stores that share a limit between processes.

Each figure is the median over rounds of the mean per call within a round (garbage
collected between rounds). Only 127.0.0.1 is contacted.

Usage::

    .venv/bin/python benchmarks/interceptors.py            # ~30 s
    .venv/bin/python benchmarks/interceptors.py --quick    # fewer calls
    .venv/bin/python benchmarks/interceptors.py --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from conduit.interceptors import (
    Budget,
    Cache,
    Cost,
    Logging,
    RateLimit,
    Retry,
    Timeout,
    Tracing,
    with_interceptors,
)
from conduit.providers.fake import FunctionModel
from conduit.schema import ChatOptions, Message, Prices, Response, TextBlock, Usage, user
from conduit.storage import MemoryCache, MemorySpendStore, RedisCache, SpendLimit, SQLiteCache

TARGET_US = 20.0
ANSWER = Response(
    id="bench",
    model="bench",
    provider="fake",
    content=[TextBlock(text="Hello! How can I help you today?")],
    stop_reason="end_turn",
    usage=Usage(input_tokens=12, output_tokens=9),
)


def _answer(messages: list[Message], options: ChatOptions) -> Response:
    return ANSWER


def _price(ref: str, usage: Usage) -> float:
    return usage.input_tokens * 1e-7 + usage.output_tokens * 4e-7


PRICES = Prices(input=0.1, output=0.4)  # the same rates, per million tokens


def _budget() -> Budget:
    """A budget that never runs out, in memory: reserve the worst case, settle the cost."""
    limit = SpendLimit("global", "*", max_usd=1e12, window=86_400)
    return Budget(MemorySpendStore(), [limit], prices=PRICES, max_output_tokens=1000)


Call = Callable[[], Awaitable[Any]]


async def _per_call_us(make_call: Callable[[int], Call], calls: int, rounds: int) -> float:
    """Median over rounds of the mean µs per call; `make_call(i)` gives call number i."""
    prepared = [make_call(i) for i in range(calls)]
    for call in prepared[: min(200, calls)]:  # warm up
        await call()
    results = []
    for _ in range(rounds):
        gc.collect()
        started = time.perf_counter()
        for call in prepared:
            await call()
        results.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(results)


def _prompts(calls: int) -> list[list[Message]]:
    # Distinct prompts, so a cache in the chain misses (and stores) on every call.
    return [[user(f"Question number {i}: what is the capital of France?")] for i in range(calls)]


def _interceptors() -> dict[str, Callable[[], list[object]]]:
    quiet = logging.getLogger("bench.quiet")
    quiet.setLevel(logging.WARNING)  # Logging's records at INFO are off
    loud = logging.getLogger("bench.loud")
    loud.setLevel(logging.INFO)
    loud.propagate = False
    loud.addHandler(logging.NullHandler())  # records built and handled, written nowhere
    return {
        "chain only": list,
        "Retry": lambda: [Retry()],
        "Logging (level off)": lambda: [Logging(quiet)],
        "Logging (records on)": lambda: [Logging(loud)],
        "Cache (miss + store)": lambda: [Cache(MemoryCache(max_entries=100_000))],
        "Cost": lambda: [Cost(_price)],
        "RateLimit": lambda: [RateLimit(requests_per_minute=1e12, tokens_per_minute=1e15)],
        "Budget (memory)": lambda: [_budget()],
        "Timeout": lambda: [Timeout(total=60)],
        "Tracing (no-op)": lambda: [_noop_tracing()],
        "Tracing (SDK)": lambda: [_sdk_tracing()],
        "all seven": lambda: [
            _sdk_tracing(),
            Logging(loud),
            Cost(_price),
            Cache(MemoryCache(max_entries=100_000)),
            Retry(),
            RateLimit(requests_per_minute=1e12, tokens_per_minute=1e15),
            Timeout(total=60),
        ],
    }


def _noop_tracing() -> Tracing:
    """Tracing with OpenTelemetry's API but no SDK configured (spans are no-ops)."""
    try:
        from opentelemetry.trace import NoOpTracer
    except ImportError:
        return Tracing()
    return Tracing(tracer=NoOpTracer())


def _sdk_tracing() -> Tracing:
    """Tracing into a real SDK TracerProvider with no exporter (spans are made and ended)."""
    try:
        from opentelemetry.sdk.trace import TracerProvider
    except ImportError:
        return _noop_tracing()
    return Tracing(tracer=TracerProvider().get_tracer("bench"))


async def overhead(calls: int, rounds: int) -> list[dict[str, Any]]:
    model = FunctionModel(_answer)
    prompts = _prompts(calls)
    options = ChatOptions()

    def bare(i: int) -> Call:
        return lambda: model.chat(prompts[i], options)

    base = await _per_call_us(bare, calls, rounds)
    rows = [{"name": "bare FunctionModel", "us_per_call": base, "overhead_us": 0.0}]
    for name, build in _interceptors().items():
        wrapped = with_interceptors(model, build())

        def through(i: int, wrapped: Any = wrapped) -> Call:
            return lambda: wrapped.chat(prompts[i], options)

        us = await _per_call_us(through, calls, rounds)
        rows.append({"name": name, "us_per_call": us, "overhead_us": us - base})
    return rows


async def floors(calls: int, rounds: int) -> list[dict[str, Any]]:
    """What the libraries themselves cost for the same work, outside any chain: the two
    log records `Logging` writes per call, and one OpenTelemetry SDK span with the
    attributes `Tracing` sets. An interceptor's own share is its overhead minus this."""
    loud = logging.getLogger("bench.loud")
    fields = {
        "phase": "response", "model": "fake/function", "provider": "fake", "stream": False,
        "request_id": "bench", "input_tokens": 12, "output_tokens": 9, "total_tokens": 21,
        "cost_usd": None, "duration_s": 0.0, "stop_reason": "end_turn", "attempts": None,
        "cache_hit": None,
    }  # fmt: skip

    async def two_records() -> None:
        loud.log(logging.INFO, "%s %s", "chat", "fake/function", extra=fields)
        loud.log(logging.INFO, "%s", "chat fake/function -> end_turn", extra=fields)

    rows = [
        {
            "name": "2 log records (stdlib)",
            "us_per_call": await _per_call_us(lambda i: two_records, calls, rounds),
        }
    ]
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.trace import SpanKind
    except ImportError:
        return rows
    tracer = TracerProvider().get_tracer("bench")
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "fake",
        "gen_ai.request.model": "function", "gen_ai.response.id": "bench",
        "gen_ai.response.model": "bench", "gen_ai.response.finish_reasons": ["end_turn"],
        "gen_ai.usage.input_tokens": 12, "gen_ai.usage.output_tokens": 9,
    }  # fmt: skip

    async def one_span() -> None:
        start = time.time_ns()
        tracer.start_span(
            "chat function", kind=SpanKind.CLIENT, attributes=attributes, start_time=start
        ).end()

    rows.append(
        {
            "name": "1 span (OpenTelemetry SDK)",
            "us_per_call": await _per_call_us(lambda i: one_span, calls, rounds),
        }
    )
    return rows


async def stream_overhead(calls: int, rounds: int) -> list[dict[str, Any]]:
    model = FunctionModel(_answer)
    prompts = _prompts(calls)

    async def drain(target: Any, messages: list[Message]) -> None:
        async for _ in target.stream(messages):
            pass

    base = await _per_call_us(lambda i: lambda: drain(model, prompts[i]), calls, rounds)
    chain = with_interceptors(model, [])
    through = await _per_call_us(lambda i: lambda: drain(chain, prompts[i]), calls, rounds)
    return [
        {"name": "bare FunctionModel stream", "us_per_call": base, "overhead_us": 0.0},
        {"name": "chain only, stream", "us_per_call": through, "overhead_us": through - base},
    ]


# -- cache hits ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def redis_server() -> Iterator[str | None]:
    executable = shutil.which("redis-server")
    if executable is None:
        yield None
        return
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        process = subprocess.Popen(
            [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", folder],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        yield None
                        return
                    time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(timeout=10)


async def cache_hits(calls: int, rounds: int, redis_url: str | None) -> list[dict[str, Any]]:
    prompt = [user("What is the capital of France?")]
    options = ChatOptions()
    model = FunctionModel(_answer)
    rows = []
    base = await _per_call_us(lambda i: lambda: model.chat(prompt, options), calls, rounds)
    rows.append({"name": "bare FunctionModel (no cache)", "us_per_call": base})
    with tempfile.TemporaryDirectory() as folder:
        stores: list[tuple[str, Any]] = [
            ("MemoryCache", MemoryCache()),
            ("SQLiteCache", SQLiteCache(Path(folder) / "bench.sqlite3")),
        ]
        if redis_url is not None:
            stores.append(("RedisCache", RedisCache(url=redis_url, prefix="bench:")))
        for name, store in stores:
            cached = with_interceptors(model, [Cache(store)])
            await cached.chat(prompt, options)  # the one miss

            def hit(i: int, m: Any = cached) -> Call:
                return lambda: m.chat(prompt, options)

            us = await _per_call_us(hit, calls, rounds)
            rows.append({"name": f"hit from {name}", "us_per_call": us})
            await store.clear()
            await store.aclose()
    if redis_url is None:
        rows.append({"name": "hit from RedisCache", "us_per_call": None, "note": "no redis-server"})
    return rows


# -- budgets and limits on shared stores --------------------------------------------------------


async def shared_stores(calls: int, rounds: int, redis_url: str | None) -> list[dict[str, Any]]:
    """The whole `chat()` call through `Budget` (reserve + settle) and `RateLimit` (take
    + settle) on each store: what sharing a limit across processes costs per call."""
    from conduit.storage import RedisBuckets, RedisSpendStore, SQLiteBuckets, SQLiteSpendStore

    model = FunctionModel(_answer)
    prompts = _prompts(calls)
    options = ChatOptions()
    limit = SpendLimit("global", "*", max_usd=1e12, window=86_400)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        stores: list[tuple[str, Any]] = [
            ("Budget on MemorySpendStore", MemorySpendStore()),
            ("Budget on SQLiteSpendStore", SQLiteSpendStore(Path(folder) / "spend.sqlite3")),
            ("RateLimit on SQLiteBuckets", SQLiteBuckets(Path(folder) / "rl.sqlite3")),
        ]
        if redis_url is not None:
            stores.append(("Budget on RedisSpendStore", RedisSpendStore(url=redis_url)))
            stores.append(("RateLimit on RedisBuckets", RedisBuckets(url=redis_url)))
        for name, store in stores:
            interceptor: object
            if name.startswith("Budget"):
                interceptor = Budget(store, [limit], prices=PRICES, max_output_tokens=1000)
            else:
                interceptor = RateLimit(1e12, tokens_per_minute=1e15, store=store)
            wrapped = with_interceptors(model, [interceptor])

            def through(i: int, m: Any = wrapped) -> Call:
                return lambda: m.chat(prompts[i], options)

            rows.append({"name": name, "us_per_call": await _per_call_us(through, calls, rounds)})
            await store.aclose()
    if redis_url is None:
        rows.append({"name": "Budget on RedisSpendStore", "us_per_call": None,
                     "note": "no redis-server"})  # fmt: skip
    return rows


# -- report ----------------------------------------------------------------------------------


def _print(rows: list[dict[str, Any]], title: str, *, targets: bool) -> None:
    print(f"\n{title}")
    header = f"  {'':30} {'µs/call':>10}"
    if any("overhead_us" in row for row in rows):
        header += f" {'overhead µs':>12}"
    print(header + ("  target" if targets else ""))
    for row in rows:
        us = row["us_per_call"]
        if us is None:
            print(f"  {row['name']:30} {'—':>10}   ({row.get('note', '')})")
            continue
        line = f"  {row['name']:30} {us:10.2f}"
        if "overhead_us" in row:
            line += f" {row['overhead_us']:12.2f}"
            single = row["name"] not in {"bare FunctionModel", "all seven"}
            if targets and single and "stream" not in row["name"]:
                line += "  PASS" if row["overhead_us"] < TARGET_US else "  FAIL"
        print(line)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    calls = 500 if args.quick else 3000
    rounds = 3 if args.quick else 7
    results: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "calls_per_round": calls,
        "rounds": rounds,
    }
    results["overhead"] = await overhead(calls, rounds)
    results["floors"] = await floors(calls, rounds)
    results["stream"] = await stream_overhead(calls // 2, rounds)
    with redis_server() as url:
        results["cache_hits"] = await cache_hits(calls // 2, rounds, url)
        results["shared_stores"] = await shared_stores(calls // 4, rounds, url)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls and rounds")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    print(
        f"Python {results['python']} on {results['machine']}, {results['cpus']} CPUs; "
        f"{results['calls_per_round']} calls x {results['rounds']} rounds"
    )
    _print(results["overhead"], "Overhead per interceptor per chat() call", targets=True)
    _print(results["floors"], "Library floors (the same work without Conduit)", targets=False)
    _print(results["stream"], "Stream (whole stream per call)", targets=False)
    _print(results["cache_hits"], "Cache-hit latency (whole chat() call)", targets=False)
    _print(
        results["shared_stores"],
        "Budget and RateLimit on each store (whole chat() call)",
        targets=False,
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
