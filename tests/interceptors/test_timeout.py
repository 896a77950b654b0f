"""Timeout: total per request, idle between stream events, nesting and restoring."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator

import pytest

from conduit.errors import TimeoutError, ValidationError
from conduit.interceptors import Context, Retry, TimeLimit, Timeout, with_interceptors
from conduit.providers.fake import FunctionModel, MockModel
from conduit.schema import ChatOptions, Done, Message, TextDelta
from tests.support.timing import loop_clock


def stream_model(gaps: list[float]) -> FunctionModel:
    """A model whose stream waits `gaps[i]` before piece i."""

    async def pieces(messages: list[Message], options: ChatOptions) -> AsyncIterator[str]:
        for i, gap in enumerate(gaps):
            await asyncio.sleep(gap)
            yield f"p{i} "

    return FunctionModel(lambda m, o: "", stream_fn=pieces)


async def test_total_timeout_on_chat() -> None:
    model = with_interceptors(MockModel(["late"], delay=5), [Timeout(total=0.02)])
    with pytest.raises(TimeoutError, match="total timeout") as info:
        await model.chat("hi")
    assert info.value.provider == "fake"


async def test_a_fast_answer_is_untouched() -> None:
    model = with_interceptors(MockModel(["quick"]), [Timeout(total=5)])
    assert (await model.chat("hi")).text == "quick"


async def test_stream_idle_timeout_fires_between_events() -> None:
    # The third gap is an hour on the loop's clock, skipped at once; the idle limit is far
    # above any pause of a busy machine, so the first two pieces always arrive in time.
    with loop_clock() as clock:

        async def pieces(messages: list[Message], options: ChatOptions) -> AsyncIterator[str]:
            yield "p0 "
            yield "p1 "
            clock.skip(3600)
            await asyncio.sleep(3600)
            yield "p2 "

        model = with_interceptors(
            FunctionModel(lambda m, o: "", stream_fn=pieces), [Timeout(read=30)]
        )
        received: list[str] = []

        async def read() -> None:
            async for event in model.stream("hi"):
                if isinstance(event, TextDelta):
                    received.append(event.text)

        with pytest.raises(TimeoutError, match="idle timeout"):
            await read()
    assert received == ["p0 ", "p1 "]


async def test_stream_idle_timeout_covers_the_first_event() -> None:
    model = with_interceptors(stream_model([5]), [Timeout(read=0.05)])
    with pytest.raises(TimeoutError, match="idle"):
        [e async for e in model.stream("hi")]


async def test_a_steady_stream_passes_the_idle_timeout() -> None:
    model = with_interceptors(stream_model([0.01] * 5), [Timeout(read=30)])
    events = [e async for e in model.stream("hi")]
    assert isinstance(events[-1], Done)
    assert events[-1].response.text == "p0 p1 p2 p3 p4 "


async def test_stream_total_timeout_spans_the_whole_stream() -> None:
    # 20 gaps of 0.02 s take at least 0.4 s: the total limit always fires first (the idle
    # limit is far above any pause of a busy machine).
    model = with_interceptors(stream_model([0.02] * 20), [Timeout(total=0.1, read=30)])
    with pytest.raises(TimeoutError, match="total timeout"):
        [e async for e in model.stream("hi")]


async def test_the_callers_own_time_between_events_is_not_counted() -> None:
    model = with_interceptors(stream_model([0, 0, 0]), [Timeout(read=30)])
    with loop_clock() as clock:
        async for _ in model.stream("hi"):
            clock.skip(60)  # slower than the idle limit, but it is our time
            await asyncio.sleep(0)


async def test_an_idle_timeout_is_retried_when_no_event_got_out() -> None:
    attempts = 0

    async def pieces(messages: list[Message], options: ChatOptions) -> AsyncIterator[str]:
        nonlocal attempts
        attempts += 1
        if attempts == 1:  # an hour of silence, skipped at once on the loop's clock
            clock.skip(3600)
            await asyncio.sleep(3600)
        yield "finally"

    model = with_interceptors(
        FunctionModel(lambda m, o: "", stream_fn=pieces),
        [Retry(initial_delay=0), Timeout(read=30)],
    )
    with loop_clock() as clock:
        events = [e async for e in model.stream("hi")]
    assert events[-1].response.text == "finally"  # type: ignore[union-attr]
    assert attempts == 2


async def test_nested_limits_take_the_tighter_and_restore_the_outer() -> None:
    seen: list[tuple[float | None, float | None]] = []

    class Peek:
        def enter(self, ctx: Context) -> None:
            seen.append((ctx.deadline, ctx.idle_timeout))

        def leave(self, ctx: Context) -> None:
            seen.append((ctx.deadline, ctx.idle_timeout))

    outer, inner = Timeout(100, read=1), Timeout(1000, read=0.5)
    model = with_interceptors(MockModel(["x"]), [outer, Peek(), inner, Peek()])
    await model.chat("hi")
    first, second, third, fourth = seen
    assert second[0] == first[0]  # 1000 s is looser than 100 s: the outer deadline stays
    assert second[1] == 0.5  # the tighter idle limit wins
    assert third == second
    assert fourth == first  # the inner one restored what it found


async def test_a_timeout_error_raised_by_the_model_is_not_ours() -> None:
    async def raises(messages: list[Message], options: ChatOptions) -> str:
        raise builtins.TimeoutError("the model's own")

    model = with_interceptors(FunctionModel(raises), [Timeout(total=5)])
    with pytest.raises(builtins.TimeoutError, match="the model's own"):
        await model.chat("hi")


def test_settings() -> None:
    for bad in (0, -1, float("nan"), float("inf"), True, "5"):
        with pytest.raises(ValidationError, match=r"timeout\.read"):
            Timeout(read=bad)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="timeout"):
            Timeout.of(bad)  # type: ignore[arg-type]
    assert repr(Timeout(30, read=5)) == "Timeout(total=30, connect=10.0, read=5)"
    assert repr(TimeLimit(Timeout(30, read=5))) == "TimeLimit(total=30, read=5)"
    assert Timeout.of(None) is None
    assert Timeout.of(2) == Timeout(total=2.0)


async def test_a_number_in_the_list_is_not_an_interceptor() -> None:
    with pytest.raises(ValidationError, match="not an interceptor"):
        with_interceptors(MockModel(["x"]), [30])


async def test_the_timeout_value_is_the_interceptor() -> None:
    model = with_interceptors(MockModel(["late"], delay=5), [Timeout(total=0.02)])
    assert isinstance(model.interceptors[0], TimeLimit)
    with pytest.raises(TimeoutError):
        await model.chat("hi")
