"""tee: one stream to several consumers, with a bounded buffer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from conduit.errors import ValidationError
from conduit.providers.fake import MockModel
from conduit.streaming import stream_to_response, tee


class Source:
    """An async source that counts how many items were pulled and whether it was closed."""

    def __init__(self, items: list[int], fail_at: int | None = None) -> None:
        self.items = items
        self.fail_at = fail_at
        self.pulled = 0
        self.closed = False

    async def gen(self) -> AsyncIterator[int]:
        try:
            for i, item in enumerate(self.items):
                if i == self.fail_at:
                    raise RuntimeError(f"source failed at {i}")
                self.pulled += 1
                yield item
        finally:
            self.closed = True


async def _all(events: AsyncIterator[int]) -> list[int]:
    return [x async for x in events]


async def _settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


async def test_every_consumer_gets_every_item_in_order() -> None:
    source = Source(list(range(200)))
    outputs = await asyncio.gather(*map(_all, tee(source.gen(), 3, max_buffer=8)))
    assert outputs == [source.items] * 3
    assert source.pulled == len(source.items)  # read once, not once per consumer
    assert source.closed


async def test_a_model_stream_collected_twice_gives_the_same_answer() -> None:
    a, b = tee(MockModel(["one two three"]).stream("hi"))
    first, second = await asyncio.gather(stream_to_response(a), stream_to_response(b))
    assert first == second == await MockModel(["one two three"]).chat("hi")


async def test_a_fast_consumer_waits_for_a_slow_one_at_max_buffer() -> None:
    source = Source(list(range(100)))
    fast, slow = tee(source.gen(), max_buffer=5)
    fast_task = asyncio.ensure_future(_all(fast))
    await _settle()
    assert not fast_task.done()
    assert source.pulled == 5  # backpressure: never more than max_buffer ahead
    slow_items = await _all(slow)
    assert await fast_task == slow_items == source.items


async def test_unbounded_buffer_allows_reading_one_consumer_after_another() -> None:
    source = Source(list(range(30)))
    a, b = tee(source.gen(), max_buffer=None)
    assert await _all(a) == source.items
    assert await _all(b) == source.items


async def test_closing_a_consumer_releases_the_others_and_the_last_closes_the_source() -> None:
    source = Source(list(range(100)))
    a, b = tee(source.gen(), max_buffer=2)
    await b.aclose()  # never read: must not hold `a` back
    assert not source.closed
    first = [await anext(a) for _ in range(10)]
    assert first == source.items[:10]
    await a.aclose()
    assert source.closed
    with pytest.raises(StopAsyncIteration):
        await anext(a)


async def test_a_source_error_reaches_each_consumer_after_the_items_before_it() -> None:
    source = Source(list(range(10)), fail_at=4)

    async def until_error(events: AsyncIterator[int]) -> tuple[list[int], str]:
        got: list[int] = []
        try:
            async for x in events:
                got.append(x)
        except RuntimeError as exc:
            return got, str(exc)
        return got, ""

    results = await asyncio.gather(*map(until_error, tee(source.gen(), 2)))
    assert results == [(source.items[:4], "source failed at 4")] * 2


async def test_a_cancelled_reader_does_not_block_the_others() -> None:
    gate = asyncio.Event()

    async def slow_source() -> AsyncIterator[int]:
        yield 0
        await gate.wait()
        yield 1

    a, b = tee(slow_source(), max_buffer=None)
    assert await anext(a) == 0
    reader = asyncio.ensure_future(anext(a))  # pulls item 1 and waits on the gate
    await _settle()
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    gate.set()
    assert await _all(b) == [0, 1]


@pytest.mark.parametrize(("n", "max_buffer"), [(0, 4), (2, 0)])
def test_invalid_arguments_are_refused(n: int, max_buffer: int) -> None:
    with pytest.raises(ValidationError):
        tee(Source([1]).gen(), n, max_buffer=max_buffer)


async def test_cancelling_the_last_reader_mid_read_closes_the_source() -> None:
    closed = []
    never = asyncio.Event()

    async def stuck() -> AsyncIterator[int]:
        try:
            yield 0
            await never.wait()
            yield 1
        finally:
            closed.append(True)

    (only,) = tee(stuck(), 1)
    assert await anext(only) == 0
    reader = asyncio.ensure_future(anext(only))
    await _settle()
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert closed == [True]
    with pytest.raises(StopAsyncIteration):
        await anext(only)
