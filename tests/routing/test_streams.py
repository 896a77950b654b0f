"""Streams through a router: failed over before their first event, never after."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

import pytest

from conduit.errors import ConduitError, ServerError
from conduit.providers.fake import FunctionModel
from conduit.routing import Deployment, Router
from conduit.schema import ChatOptions, Done, Message, Prices, StreamEvent, TextDelta
from conduit.storage import Bucket, MemoryBuckets, MemoryRouterState
from tests.routing.support import NO_WAIT, dep


async def collect(events: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in events]


def text(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def streaming(name: str, *pieces: str | BaseException) -> Deployment:
    """A deployment whose stream yields `pieces` in order (raising the exceptions)."""

    async def stream_fn(messages: list[Message], options: ChatOptions) -> AsyncIterator[str]:
        for piece in pieces:
            if isinstance(piece, BaseException):
                raise piece
            yield piece

    return Deployment(FunctionModel(lambda m, o: name, stream_fn=stream_fn, name=name), id=name)


async def test_a_stream_that_fails_before_its_first_event_is_failed_over() -> None:
    bad, good = dep("bad", [ServerError("down")]), dep("good")
    router = Router({"g": [bad, good]}, strategy="round-robin", retry=NO_WAIT)
    events = await collect(router.model("g").stream("hi"))
    assert text(events) == "good"
    done = events[-1]
    assert isinstance(done, Done)
    assert done.response.metadata["route"]["deployment"] == "good"
    assert done.response.metadata["route"]["tries"] == 2


class Silent(FunctionModel):
    """A model whose stream ends without a single event."""

    async def _stream(
        self, messages: list[Message], options: ChatOptions
    ) -> AsyncIterator[StreamEvent]:
        return
        yield


async def test_an_empty_stream_is_a_failed_try() -> None:
    empty = Deployment(Silent(lambda m, o: "x", name="empty"), id="empty")
    router = Router({"g": [empty, dep("good")]}, strategy="round-robin", retry=NO_WAIT)
    assert text(await collect(router.model("g").stream("hi"))) == "good"


async def test_a_stream_that_fails_after_its_first_event_is_not_retried() -> None:
    state = MemoryRouterState()
    broken = streaming("broken", "Hel", ServerError("cut off"))
    good = dep("good")
    router = Router(
        {"g": [broken, good]},
        strategy="round-robin",
        retry=NO_WAIT,
        allowed_fails=0,
        state=state,
    )
    seen: list[StreamEvent] = []

    async def read() -> None:
        async for event in router.model("g").stream("hi"):
            seen.append(event)

    with pytest.raises(ServerError, match="cut off"):
        await read()
    assert text(seen) == "Hel"
    assert len(good.chat_model.calls) == 0  # type: ignore[attr-defined]
    assert await state.cooling(["broken"]) == [True]  # it still counts against it


async def test_fallbacks_apply_to_streams_before_their_first_event() -> None:
    router = Router(
        {"a": [dep("a", [ServerError("down")])], "b": [dep("b")]},
        retry=0,
        fallbacks={"a": ["b"]},
    )
    events = await collect(router.model("a").stream("hi"))
    assert text(events) == "b"
    assert events[-1].response.metadata["route"]["requested"] == "a"  # type: ignore[union-attr]


async def test_a_streams_cost_and_tokens_are_settled_at_done() -> None:
    store = MemoryBuckets(clock=lambda: 0.0)
    deployment = dep("a", prices=Prices(input=2.0, output=4.0), tpm=1000)
    router = Router({"g": [deployment]}, buckets=store)
    events = await collect(router.model("g").stream("x" * 400))  # estimated: 100 tokens
    done = events[-1]
    assert isinstance(done, Done)
    usage = done.response.usage
    assert done.response.cost == pytest.approx(Prices(input=2.0, output=4.0).cost(usage))
    tokens = Bucket("route:a:tokens", 1000 / 60, 1000)
    assert store.level(tokens) == pytest.approx(1000 - usage.total_tokens)


async def test_a_stream_is_in_flight_until_it_ends_or_is_closed() -> None:
    router = Router({"g": [dep("a"), dep("b")]}, strategy="least-busy")
    model = router.model("g")
    stream = model.stream("one two three")
    assert isinstance(stream, AsyncGenerator)
    first = await anext(stream)
    assert isinstance(first, TextDelta)
    assert router._stats.in_flight == {"a": 1}
    answer = await model.chat("meanwhile")
    assert answer.metadata["route"]["deployment"] == "b"  # "a" is busy streaming
    await stream.aclose()  # closed early
    assert router._stats.in_flight == {"a": 0, "b": 0}


async def test_a_stream_without_done_is_an_error() -> None:
    async def no_done(messages: list[Message], options: ChatOptions) -> AsyncIterator[StreamEvent]:
        yield TextDelta(text="x")

    class Truncated(FunctionModel):
        async def _stream(
            self, messages: list[Message], options: ChatOptions
        ) -> AsyncIterator[StreamEvent]:
            async for event in no_done(messages, options):
                yield event

    router = Router({"g": [Deployment(Truncated(lambda m, o: "x"), id="t")]})
    with pytest.raises(ConduitError, match="without a Done event"):
        await collect(router.model("g").stream("hi"))


async def test_cancelling_a_stream_mid_way_releases_it() -> None:
    gate, reading = asyncio.Event(), asyncio.Event()

    async def stream_fn(messages: list[Message], options: ChatOptions) -> AsyncIterator[str]:
        yield "first"
        reading.set()
        await gate.wait()
        yield "never"

    slow = Deployment(FunctionModel(lambda m, o: "x", stream_fn=stream_fn), id="slow")
    router = Router({"g": [slow]})

    async def consume() -> None:
        async for _ in router.model("g").stream("hi"):
            pass

    task = asyncio.create_task(consume())
    await reading.wait()
    assert router._stats.in_flight == {"slow": 1}
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert router._stats.in_flight == {"slow": 0}
