"""The agent loop's own cost per iteration, without model or tool time.

A model that answers instantly with prebuilt responses (a tool call N-1 times, then
text) and a tool that returns at once (`thread=False`) run through `tool_loop` for N
iterations. The model's and the tool's own time, measured alone for the same calls, is
subtracted; what is left is the loop: options, history, argument validation, running
the call, the result message, usage and cost bookkeeping. Target: under 100 µs per
iteration. For scale, the floor is a hand-written loop doing only the essentials
(append the answer, look the tool up, call it with the raw arguments, append a result).

Each figure is the median over rounds (garbage collected between rounds).

Usage::

    .venv/bin/python benchmarks/agent.py            # ~10 s
    .venv/bin/python benchmarks/agent.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import statistics
import sys
import time
from typing import Any

from conduit.agent import tool_loop
from conduit.core.protocols import Capabilities, ModelInfo
from conduit.schema import (
    ChatOptions,
    FunctionCall,
    Message,
    Response,
    TextBlock,
    ToolCall,
    Usage,
    tool_result,
)
from conduit.tools import ExecutableTool, tool

TARGET_US = 100.0
CALL = Response(
    model="bench",
    provider="fake",
    tool_calls=[ToolCall(id="c1", function=FunctionCall.from_arguments("add", {"a": 1, "b": 2}))],
    stop_reason="tool_use",
    usage=Usage(input_tokens=10, output_tokens=5),
)
FINAL = Response(
    model="bench",
    provider="fake",
    content=[TextBlock(text="done")],
    stop_reason="end_turn",
    usage=Usage(input_tokens=10, output_tokens=2),
)


class InstantModel:
    """A ChatModel with no work of its own: prebuilt answers, in order."""

    def __init__(self, iterations: int) -> None:
        self.iterations = iterations
        self.count = 0
        self.info = ModelInfo("fake", "bench", Capabilities())

    @property
    def model_info(self) -> ModelInfo:
        return self.info

    async def chat(self, messages: Any, options: ChatOptions | None = None, **kw: Any) -> Response:
        self.count += 1
        return FINAL if self.count >= self.iterations else CALL

    def stream(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - unused
        raise NotImplementedError


@tool(thread=False)
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


async def conduit_loop(iterations: int) -> float:
    model = InstantModel(iterations)
    started = time.perf_counter()
    result = await tool_loop(model, "go", [add], max_iterations=iterations + 1)
    elapsed = time.perf_counter() - started
    assert result.iterations == iterations
    return elapsed


async def bare_work(iterations: int) -> float:
    """The model's and the tool's own time for the same calls."""
    model = InstantModel(iterations)
    fn = add.function
    started = time.perf_counter()
    for _ in range(iterations):
        response = await model.chat("go")
        for call in response.tool_calls:
            fn(**call.arguments)
    return time.perf_counter() - started


async def floor_loop(iterations: int) -> float:
    model = InstantModel(iterations)
    tools: dict[str, ExecutableTool] = {"add": add}
    history: list[Message] = [Message(role="user", content="go")]
    started = time.perf_counter()
    while True:
        response = await model.chat(history)
        history.append(response.to_message())
        if not response.tool_calls:
            break
        for call in response.tool_calls:
            value = tools[call.name].function(**call.arguments)  # type: ignore[attr-defined]
            history.append(tool_result(call.id, str(value)))
    return time.perf_counter() - started


def median_us(fn: Any, iterations: int, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        gc.collect()
        seconds: float = asyncio.run(fn(iterations))
        samples.append(seconds / iterations * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    iterations, rounds = (200, 5) if args.quick else (2000, 9)
    print(f"Python {platform.python_version()} on {platform.machine()}, {iterations} iterations")
    bare = median_us(bare_work, iterations, rounds)
    full = median_us(conduit_loop, iterations, rounds)
    floor = median_us(floor_loop, iterations, rounds)
    overhead = full - bare
    print(f"{'model + tool alone':32} {bare:8.1f} µs/iteration")
    print(f"{'tool_loop':32} {full:8.1f} µs/iteration")
    print(f"{'hand-written floor loop':32} {floor:8.1f} µs/iteration")
    print(f"{'tool_loop overhead':32} {overhead:8.1f} µs/iteration (target < {TARGET_US:.0f})")
    print(f"{'floor overhead':32} {floor - bare:8.1f} µs/iteration")
    if overhead > TARGET_US:
        sys.exit(1)


if __name__ == "__main__":
    main()
