"""What routing costs per call: `Router.model(group).chat()` and `Router.route()` against
calling the deployment's model directly, on a zero-latency `FunctionModel` (it returns a
prebuilt answer), so the difference per call is the router's own work: picking (cooldown
check, strategy), in-flight and latency bookkeeping, rpm/tpm buckets when set, and
settling and labelling the answer. Target: under 20 µs per routed call.

Rows:

* `bare FunctionModel`: `model.chat(messages)`, the floor.
* `router, 1 deployment`: the default strategy (`simple-shuffle`), no limits.
* `router, 3 deployments, <strategy>`: each strategy over three deployments.
* `router, rpm+tpm (memory buckets)`: three deployments, each with rpm and tpm limits
  (never reached), so every call takes from and settles two token buckets.
* `route(), 1 deployment`: `router.route(group, attempt)` with an attempt that calls the
  model (what the gateway does), against the same floor.
* `FallbackModel, first answers`: the wrapper's cost when nothing fails.

Each figure is the median over rounds of the mean per call within a round (garbage
collected between rounds). Nothing leaves the process.

Usage::

    .venv/bin/python benchmarks/routing.py            # ~20 s
    .venv/bin/python benchmarks/routing.py --quick    # fewer calls
    .venv/bin/python benchmarks/routing.py --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from conduit.providers.fake import FunctionModel
from conduit.routing import STRATEGIES, Deployment, FallbackModel, Router
from conduit.schema import ChatOptions, Message, Prices, Response, TextBlock, Usage, user

TARGET_US = 20.0
ANSWER = Response(
    id="bench",
    model="bench",
    provider="fake",
    content=[TextBlock(text="Hello! How can I help you today?")],
    stop_reason="end_turn",
    usage=Usage(input_tokens=12, output_tokens=9),
)

Call = Callable[[], Awaitable[Any]]


def _answer(messages: list[Message], options: ChatOptions) -> Response:
    return ANSWER


async def _per_call_us(call: Call, calls: int, rounds: int) -> float:
    """Median over rounds of the mean µs per call."""
    for _ in range(min(500, calls)):  # warm up
        await call()
    results = []
    for _ in range(rounds):
        gc.collect()
        started = time.perf_counter()
        for _ in range(calls):
            await call()
        results.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(results)


def _deployments(n: int, **limits: Any) -> list[Deployment]:
    return [
        Deployment(
            FunctionModel(_answer, name=f"d{i}"),
            id=f"d{i}",
            prices=Prices(input=0.1 * (i + 1), output=0.4),
            **limits,
        )
        for i in range(n)
    ]


def _routers() -> dict[str, Router]:
    routers = {"router, 1 deployment": Router({"g": _deployments(1)})}
    for strategy in STRATEGIES:
        routers[f"router, 3 deployments, {strategy}"] = Router(
            {"g": _deployments(3)}, strategy=strategy, seed=1
        )
    routers["router, rpm+tpm (memory buckets)"] = Router(
        {"g": _deployments(3, rpm=1e12, tpm=1e15)}, seed=1
    )
    return routers


async def measure(calls: int, rounds: int) -> list[dict[str, Any]]:
    model = FunctionModel(_answer)
    messages = [user("What is the capital of France?")]
    options = ChatOptions()
    base = await _per_call_us(lambda: model.chat(messages, options), calls, rounds)
    rows = [{"name": "bare FunctionModel", "us_per_call": base, "overhead_us": 0.0}]

    def row(name: str, us: float) -> None:
        rows.append({"name": name, "us_per_call": us, "overhead_us": us - base})

    for name, router in _routers().items():
        routed = router.model("g")

        def call(r: Any = routed) -> Awaitable[Response]:
            return r.chat(messages, options)  # type: ignore[no-any-return]

        row(name, await _per_call_us(call, calls, rounds))

    router = Router({"g": [Deployment(model, id="only")]})

    def attempt(deployment: Deployment) -> Awaitable[Response]:
        return model.chat(messages, options)

    row(
        "route(), 1 deployment",
        await _per_call_us(lambda: router.route("g", attempt), calls, rounds),
    )
    fallback = FallbackModel([model, FunctionModel(_answer, name="backup")])
    row(
        "FallbackModel, first answers",
        await _per_call_us(lambda: fallback.chat(messages, options), calls, rounds),
    )
    return rows


def _print(rows: list[dict[str, Any]]) -> None:
    print(f"Python {platform.python_version()} on {platform.machine()}, {sys.platform}")
    print(f"{'':38} {'µs/call':>9} {'overhead µs':>12}")
    worst = 0.0
    for r in rows:
        print(f"{r['name']:38} {r['us_per_call']:9.2f} {r['overhead_us']:12.2f}")
        worst = max(worst, r["overhead_us"])
    verdict = "PASS" if worst < TARGET_US else "FAIL"
    print(f"\nworst routing overhead {worst:.2f} µs per call; target < {TARGET_US:g} µs: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls per round")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    args = parser.parse_args()
    calls, rounds = (2_000, 5) if args.quick else (20_000, 7)
    rows = asyncio.run(measure(calls, rounds))
    _print(rows)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
