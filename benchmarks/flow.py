"""The cost of `conduit.flow` itself: per pipeline step and per graph step, no-op work.

Each figure is the time per step of a run of N no-op steps, divided by N, median over
rounds (garbage collected between rounds). Measured:

- pipeline: `pipeline(*[noop] * N)` with a plain and with an async no-op step; the floor
  is a hand-written loop that awaits the same async no-op N times.
- graph: a chain of N no-op nodes (`a0 -> a1 -> ... -> END`) and a one-node loop with a
  conditional edge run N times; without checkpoints, with `MemoryCheckpointStore`, and
  with `SQLiteCheckpointStore` (a WAL file in a temporary folder: one transaction per
  step; default `synchronous=NORMAL`, and `durable=True` for `synchronous=FULL`).

Usage::

    .venv/bin/python benchmarks/flow.py            # ~20 s
    .venv/bin/python benchmarks/flow.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from conduit.flow import END, Graph, pipeline
from conduit.storage.checkpoints import CheckpointStore, MemoryCheckpointStore
from conduit.storage.checkpoints_sqlite import SQLiteCheckpointStore


class State(BaseModel):
    n: int = 0
    note: str = "a small typed state"


def noop(value: Any) -> Any:
    return None


async def anoop(value: Any) -> Any:
    return None


def chain_graph(length: int, async_nodes: bool) -> Graph[State]:
    graph = Graph(State, max_steps=length + 1)
    names = [f"a{i}" for i in range(length)]
    for name in names:
        graph.node(anoop if async_nodes else noop, name=name)
    for a, b in zip(names, [*names[1:], END], strict=True):
        graph.add_edge(a, b)
    return graph


def loop_graph(length: int) -> Graph[State]:
    graph = Graph(State, max_steps=length + 1)

    @graph.node
    def tick(state: State) -> None:
        state.n += 1

    graph.add_conditional_edge(tick, lambda s: END if s.n >= length else "tick")
    return graph


async def per_step(run: Callable[[], Awaitable[Any]], steps: int, rounds: int) -> float:
    """Median µs per step over `rounds` runs."""
    times = []
    await run()  # warm up
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        await run()
        times.append((time.perf_counter() - start) / steps * 1e6)
    return statistics.median(times)


async def main(quick: bool) -> None:
    n = 200 if quick else 1000
    rounds = 5 if quick else 15
    disk_n = 100 if quick else 300
    rows: list[tuple[str, float]] = []

    async def floor() -> None:
        for _ in range(n):
            await anoop(None)

    rows.append(("floor: loop awaiting an async no-op", await per_step(floor, n, rounds)))
    plain, asynchronous = pipeline(*[noop] * n), pipeline(*[anoop] * n)
    rows.append(("pipeline step (plain no-op)", await per_step(lambda: plain(1), n, rounds)))
    rows.append(("pipeline step (async no-op)", await per_step(lambda: asynchronous(1), n, rounds)))

    chain, achain, loop = chain_graph(n, False), chain_graph(n, True), loop_graph(n)
    rows.append(
        ("graph step, chain, no checkpoints", await per_step(lambda: chain.run(State()), n, rounds))
    )
    rows.append(
        ("graph step, chain of async nodes", await per_step(lambda: achain.run(State()), n, rounds))
    )
    rows.append(
        ("graph step, conditional loop", await per_step(lambda: loop.run(State()), n, rounds))
    )

    memory = MemoryCheckpointStore()
    rows.append(
        (
            "graph step, chain, MemoryCheckpointStore",
            await per_step(lambda: chain.run(State(), checkpoints=memory), n, rounds),
        )
    )

    with tempfile.TemporaryDirectory() as folder:
        for durable in (False, True):
            store: CheckpointStore = SQLiteCheckpointStore(
                Path(folder) / f"flow-{durable}.sqlite3", durable=durable
            )
            disk = chain_graph(disk_n, False)
            label = "FULL" if durable else "NORMAL"
            rows.append(
                (
                    f"graph step, chain, SQLite (synchronous={label})",
                    await per_step(
                        lambda s=store, g=disk: g.run(State(), checkpoints=s), disk_n, rounds
                    ),
                )
            )
            await store.aclose()

    print(f"conduit.flow overhead, Python {platform.python_version()} on {sys.platform}")
    print(f"{n} no-op steps per run ({disk_n} with SQLite), median of {rounds} rounds\n")
    width = max(len(label) for label, _ in rows)
    for label, us in rows:
        print(f"{label:<{width}}  {us:9.2f} µs/step")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and rounds")
    asyncio.run(main(parser.parse_args().quick))
