"""First-event and idle timeouts on any stream."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator

import pytest

from conduit.errors import ConduitError, TimeoutError, ValidationError
from conduit.providers.fake import MockModel
from conduit.streaming import stream_to_response, with_timeouts
from tests.support.timing import loop_clock


def _source(delays: list[float], closed: list[bool]) -> AsyncIterator[int]:
    async def gen() -> AsyncIterator[int]:
        try:
            for i, delay in enumerate(delays):
                await asyncio.sleep(delay)
                yield i
        finally:
            closed.append(True)

    return gen()


async def test_fast_stream_passes_through_unchanged() -> None:
    expected = [e async for e in MockModel(["a b c"]).stream("hi")]
    got = [e async for e in with_timeouts(MockModel(["a b c"]).stream("hi"), first_event=5, idle=5)]
    assert got == expected


async def test_late_first_event_raises_timeout_and_closes_the_source() -> None:
    closed: list[bool] = []
    with pytest.raises(TimeoutError, match="first-event timeout") as info:
        async for _ in with_timeouts(_source([10.0], closed), first_event=0.02, idle=30):
            pass
    assert isinstance(info.value, ConduitError)
    assert closed == [True]


async def test_idle_gap_after_the_first_event_raises() -> None:
    # The gap is an hour on the loop's clock, skipped at once; the idle limit is far above
    # any pause of a busy machine, so the first two events always arrive in time.
    closed: list[bool] = []
    got: list[int] = []

    with loop_clock() as clock:

        async def source() -> AsyncIterator[int]:
            try:
                yield 0
                yield 1
                clock.skip(3600)
                await asyncio.sleep(3600)
                yield 2
            finally:
                closed.append(True)

        async def consume() -> None:
            async for item in with_timeouts(source(), first_event=30, idle=30):
                got.append(item)

        with pytest.raises(TimeoutError, match="idle timeout"):
            await consume()
    assert got == [0, 1]
    assert closed == [True]


async def test_idle_bounds_the_first_event_when_no_first_event_limit() -> None:
    with pytest.raises(TimeoutError, match="idle timeout"):
        await stream_to_response(with_timeouts(MockModel(["x"], delay=10).stream("hi"), idle=0.02))


async def test_consumer_time_between_events_is_not_counted() -> None:
    closed: list[bool] = []
    got = []
    with loop_clock() as clock:
        async for item in with_timeouts(_source([0, 0, 0], closed), idle=30):
            got.append(item)
            clock.skip(60)  # the consumer takes a minute per event, the source no time
            await asyncio.sleep(0)
    assert got == [0, 1, 2]


async def test_errors_from_the_source_propagate_unchanged() -> None:
    async def failing() -> AsyncIterator[int]:
        yield 1
        raise builtins.TimeoutError("the source's own timeout")

    with pytest.raises(builtins.TimeoutError, match="source's own") as info:
        async for _ in with_timeouts(failing(), idle=5):
            pass
    assert not isinstance(info.value, ConduitError)


@pytest.mark.parametrize("kwargs", [{"idle": 0}, {"first_event": -1.0}])
async def test_invalid_limits_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValidationError, match="positive number of seconds"):
        async for _ in with_timeouts(MockModel(["x"]).stream("hi"), **kwargs):
            pass
