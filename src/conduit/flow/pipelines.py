"""Pipelines of plain functions, and parallel fan-out/fan-in with a concurrency bound.

A step is any function of one argument, plain or async. `pipeline(a, b, c)` is the step
`x -> c(b(a(x)))`; `parallel(a, b)` runs both on the same input at once and returns their
results as a list (fan-out, fan-in); `map_parallel(step, items, concurrency=4)` runs one
step over many items, at most `concurrency` at a time, results in input order. The first
step to fail cancels the ones still running and its error propagates unchanged.

Example:
    >>> import asyncio
    >>> async def double(x):
    ...     return 2 * x
    >>> flow = pipeline(double, parallel(str, lambda x: x + 1))
    >>> asyncio.run(flow(5))
    ['10', 11]
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from conduit.core.sync import run_sync
from conduit.errors import ValidationError

__all__ = ["Pipeline", "Step", "call_step", "map_parallel", "parallel", "pipeline"]

Step = Callable[[Any], Any]
"""A step: a function of one argument, plain or async."""


def _name(step: Step) -> str:
    return getattr(step, "__name__", None) or type(step).__name__


def _check_steps(kind: str, steps: Sequence[Step]) -> None:
    if not steps:
        raise ValidationError(f"{kind} needs at least one step")
    for step in steps:
        if not callable(step):
            raise ValidationError(f"{kind} steps must be functions, not {type(step).__name__}")


async def call_step(step: Step, value: Any) -> Any:
    """Call a plain or async step and return its result.

    Example:
        >>> import asyncio
        >>> asyncio.run(call_step(len, "abc"))
        3
    """
    result = step(value)
    if inspect.isawaitable(result):
        result = await result
    return result


async def _bounded(calls: Sequence[Callable[[], Awaitable[Any]]], limit: int | None) -> list[Any]:
    if limit is not None and limit < 1:
        raise ValidationError(f"concurrency must be at least 1, or None, not {limit}")
    gate = asyncio.Semaphore(limit) if limit is not None else None

    async def run(call: Callable[[], Awaitable[Any]]) -> Any:
        if gate is None:
            return await call()
        async with gate:
            return await call()

    tasks = [asyncio.ensure_future(run(call)) for call in calls]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        # On the first failure (or if we are cancelled) stop the others and wait for them.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class Pipeline:
    """Steps run one after another, each on the previous one's result. Call it (or
    `await pipeline.run(x)`); `run_sync` for synchronous code. A pipeline is a step too.

    Example:
        >>> p = pipeline(str.strip, str.upper)
        >>> p
        Pipeline(strip, upper)
        >>> p.run_sync("  hi ")
        'HI'
    """

    def __init__(self, steps: Sequence[Step]) -> None:
        _check_steps("pipeline", steps)
        self.steps = tuple(steps)
        self.__name__ = "pipeline"

    async def run(self, value: Any) -> Any:
        """Run every step in order and return the last result."""
        for step in self.steps:
            value = await call_step(step, value)
        return value

    async def __call__(self, value: Any) -> Any:
        return await self.run(value)

    def run_sync(self, value: Any) -> Any:
        """`run` for synchronous code."""
        return run_sync(self.run(value))

    def __repr__(self) -> str:
        return f"Pipeline({', '.join(_name(s) for s in self.steps)})"


def pipeline(*steps: Step) -> Pipeline:
    """Chain steps: the result of each is the input of the next.

    Example:
        >>> import asyncio
        >>> asyncio.run(pipeline(lambda x: x + 1, lambda x: x * 10)(1))
        20
    """
    return Pipeline(steps)


def parallel(*steps: Step, concurrency: int | None = None) -> Step:
    """A step that runs every step on the same input concurrently (at most `concurrency`
    at a time) and returns their results as a list, in the order given.

    Example:
        >>> import asyncio
        >>> asyncio.run(parallel(len, str.upper)("abc"))
        [3, 'ABC']
    """
    _check_steps("parallel", steps)

    async def fan_out(value: Any) -> list[Any]:
        return await _bounded([_bind(step, value) for step in steps], concurrency)

    fan_out.__name__ = f"parallel({', '.join(_name(s) for s in steps)})"
    return fan_out


def _bind(step: Step, value: Any) -> Callable[[], Awaitable[Any]]:
    return lambda: call_step(step, value)


async def map_parallel(
    step: Step, items: Iterable[Any], *, concurrency: int | None = 8
) -> list[Any]:
    """Run `step` on each item, at most `concurrency` at a time; results in input order.

    Example:
        >>> import asyncio
        >>> async def square(x):
        ...     return x * x
        >>> asyncio.run(map_parallel(square, [1, 2, 3], concurrency=2))
        [1, 4, 9]
    """
    _check_steps("map_parallel", [step])
    return await _bounded([_bind(step, item) for item in items], concurrency)
