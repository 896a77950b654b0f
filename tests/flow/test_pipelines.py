"""Pipelines and parallel fan-out/fan-in."""

from __future__ import annotations

import asyncio

import pytest

from conduit.errors import ValidationError
from conduit.flow import Pipeline, map_parallel, parallel, pipeline
from conduit.providers.fake import FunctionModel
from conduit.schema import ChatOptions, Message


def _shout(messages: list[Message], options: ChatOptions) -> str:
    return messages[-1].text.upper()


async def test_steps_run_in_order_plain_and_async() -> None:
    model = FunctionModel(_shout)
    seen: list[str] = []

    def strip(text: str) -> str:
        seen.append("strip")
        return text.strip()

    async def ask(text: str) -> str:
        seen.append("ask")
        return (await model.chat(f"say {text}")).text

    flow = pipeline(strip, ask, len)
    assert await flow("  hello ") == len("SAY HELLO")
    assert seen == ["strip", "ask"]
    assert [c.messages[-1].text for c in model.calls] == ["say hello"]


async def test_pipelines_nest_and_run_sync() -> None:
    inner = pipeline(lambda x: x + 1, lambda x: x * 2)
    outer = pipeline(inner, inner)
    assert isinstance(outer, Pipeline)
    assert await outer.run(1) == ((1 + 1) * 2 + 1) * 2
    assert repr(outer) == "Pipeline(pipeline, pipeline)"


def test_run_sync_matches_run() -> None:
    flow = pipeline(str.split, len)
    assert flow.run_sync("a b c") == asyncio.run(flow.run("a b c"))


async def test_parallel_returns_results_in_the_order_given() -> None:
    gate = asyncio.Event()

    async def slow(x: int) -> str:
        await gate.wait()
        return f"slow {x}"

    async def fast(x: int) -> str:
        gate.set()
        return f"fast {x}"

    assert await parallel(slow, fast)(7) == ["slow 7", "fast 7"]


async def test_parallel_inside_a_pipeline_with_models() -> None:
    upper = FunctionModel(_shout)
    lower = FunctionModel(lambda m, o: m[-1].text.lower())

    async def ask_upper(text: str) -> str:
        return (await upper.chat(text)).text

    async def ask_lower(text: str) -> str:
        return (await lower.chat(text)).text

    flow = pipeline(parallel(ask_upper, ask_lower), " | ".join)
    assert await flow("MiXeD") == "MIXED | mixed"


@pytest.mark.parametrize("limit", [1, 3])
async def test_map_parallel_honours_the_concurrency_bound(limit: int) -> None:
    running = 0
    peak = 0

    async def work(x: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        for _ in range(3):
            await asyncio.sleep(0)
        running -= 1
        return x * x

    items = list(range(10))
    assert await map_parallel(work, items, concurrency=limit) == [x * x for x in items]
    assert peak == limit


async def test_the_first_failure_cancels_the_others() -> None:
    cancelled = []
    never = asyncio.Event()

    async def waits(x: int) -> int:
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.append(x)
            raise
        return x

    async def fails(x: int) -> int:
        await asyncio.sleep(0)
        raise RuntimeError(f"step failed on {x}")

    with pytest.raises(RuntimeError, match="step failed on 5"):
        await parallel(waits, fails, concurrency=None)(5)
    assert cancelled == [5]


@pytest.mark.parametrize(
    "make",
    [
        lambda: pipeline(),
        lambda: pipeline(len, "not a function"),
        lambda: parallel(),
        lambda: asyncio.run(map_parallel(len, ["a"], concurrency=0)),
    ],
    ids=["empty-pipeline", "not-callable", "empty-parallel", "zero-concurrency"],
)
def test_invalid_flows_are_refused(make: object) -> None:
    with pytest.raises(ValidationError):
        make()  # type: ignore[operator]
