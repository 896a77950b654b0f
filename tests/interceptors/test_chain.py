"""The chain itself: order of enter/leave/error, early termination, handled errors, retries
of the rest of the chain, streams, and the model-shaped wrapper."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from conduit import ChatModel
from conduit.errors import BadRequestError, ConduitError, ServerError, ValidationError
from conduit.interceptors import (
    Context,
    InterceptedModel,
    Interceptor,
    with_interceptors,
)
from conduit.providers.fake import FunctionModel, MockModel
from conduit.schema import (
    ChatOptions,
    Done,
    Message,
    Response,
    StreamEvent,
    TextBlock,
    TextDelta,
)


class Recorder(Interceptor):
    """Appends `name.hook` to a shared log; optionally async hooks."""

    def __init__(self, name: str, log: list[str], *, use_async: bool = False) -> None:
        self.name = name
        self.log = log
        self.use_async = use_async

    def _note(self, hook: str) -> Any:
        self.log.append(f"{self.name}.{hook}")
        if self.use_async:
            return asyncio.sleep(0)
        return None

    def enter(self, ctx: Context) -> Any:
        return self._note("enter")

    def leave(self, ctx: Context) -> Any:
        return self._note("leave")

    def error(self, ctx: Context) -> Any:
        return self._note("error")


def answer(text: str) -> Response:
    return Response(id="r", content=[TextBlock(text=text)], stop_reason="end_turn")


def chain(log: list[str], *extra: object, replies: Any = ("ok",)) -> InterceptedModel:
    base = [Recorder("a", log), Recorder("b", log, use_async=True), *extra]
    return with_interceptors(MockModel(list(replies)), [*base, Recorder("c", log)])


async def test_enter_in_order_then_leave_in_reverse() -> None:
    log: list[str] = []
    response = await chain(log).chat("hi")
    assert response.text == "ok"
    assert log == ["a.enter", "b.enter", "c.enter", "c.leave", "b.leave", "a.leave"]


async def test_model_error_runs_error_hooks_in_reverse() -> None:
    log: list[str] = []
    model = chain(log, replies=[ServerError("down")])
    with pytest.raises(ServerError, match="down"):
        await model.chat("hi")
    assert log == ["a.enter", "b.enter", "c.enter", "c.error", "b.error", "a.error"]


async def test_error_in_enter_reaches_only_those_entered() -> None:
    log: list[str] = []

    class Broken:
        def enter(self, ctx: Context) -> None:
            raise BadRequestError("bad")

        def error(self, ctx: Context) -> None:  # pragma: no cover - never entered
            log.append("broken.error")

    upstream = MockModel(["ok"])
    model = with_interceptors(upstream, [Recorder("a", log), Broken(), Recorder("c", log)])
    with pytest.raises(BadRequestError):
        await model.chat("hi")
    assert log == ["a.enter", "a.error"]
    assert upstream.calls == []


async def test_error_in_leave_switches_outer_ones_to_error() -> None:
    log: list[str] = []

    class FailsOnLeave:
        def leave(self, ctx: Context) -> None:
            raise ValueError("leave failed")

    model = with_interceptors(
        MockModel(["ok"]), [Recorder("a", log), FailsOnLeave(), Recorder("c", log)]
    )
    with pytest.raises(ValueError, match="leave failed"):
        await model.chat("hi")
    assert log == ["a.enter", "c.enter", "c.leave", "a.error"]


async def test_early_termination_skips_the_rest_and_the_model() -> None:
    log: list[str] = []

    class Short:
        def enter(self, ctx: Context) -> None:
            log.append("short.enter")
            ctx.terminate(answer("from the interceptor"))

        def leave(self, ctx: Context) -> None:
            log.append("short.leave")

    upstream = MockModel(["model"])
    model = with_interceptors(upstream, [Recorder("a", log), Short(), Recorder("c", log)])
    response = await model.chat("hi")
    assert response.text == "from the interceptor"
    assert upstream.calls == []
    assert log == ["a.enter", "short.enter", "short.leave", "a.leave"]


async def test_terminating_without_a_response_is_an_error() -> None:
    class Stop:
        def enter(self, ctx: Context) -> None:
            ctx.terminate()

    with pytest.raises(ConduitError, match="without a response"):
        await with_interceptors(MockModel(), [Stop()]).chat("hi")


async def test_an_error_cleared_by_one_interceptor() -> None:
    log: list[str] = []

    class Fallback:
        def error(self, ctx: Context) -> None:
            log.append(f"fallback.error({type(ctx.error).__name__})")
            ctx.error = None
            ctx.response = answer("fallback")

    model = with_interceptors(
        MockModel([ServerError("down")]),
        [Recorder("a", log), Fallback(), Recorder("c", log)],
    )
    response = await model.chat("hi")
    assert response.text == "fallback"
    # inner ones saw the error; once handled, the outer ones leave normally
    assert log == ["a.enter", "c.enter", "c.error", "fallback.error(ServerError)", "a.leave"]


async def test_clearing_an_error_without_a_response_is_an_error() -> None:
    class Swallow:
        def error(self, ctx: Context) -> None:
            ctx.error = None

    model = with_interceptors(MockModel([ServerError("down")]), [Swallow()])
    with pytest.raises(ConduitError, match="cleared an error"):
        await model.chat("hi")


async def test_an_error_hook_that_raises_replaces_the_error() -> None:
    class Translate:
        def error(self, ctx: Context) -> None:
            raise BadRequestError("translated") from ctx.error

    model = with_interceptors(MockModel([ServerError("down")]), [Translate()])
    with pytest.raises(BadRequestError, match="translated") as info:
        await model.chat("hi")
    assert isinstance(info.value.__cause__, ServerError)


async def test_retry_reruns_only_what_comes_after() -> None:
    log: list[str] = []

    class Again:
        def __init__(self) -> None:
            self.tries = 0

        def error(self, ctx: Context) -> None:
            self.tries += 1
            if self.tries < 3:
                ctx.retry()

    upstream = MockModel([ServerError("1"), ServerError("2"), "third time"])
    model = with_interceptors(upstream, [Recorder("a", log), Again(), Recorder("c", log)])
    response = await model.chat("hi")
    assert response.text == "third time"
    assert len(upstream.calls) == 3
    assert log == [
        "a.enter",
        "c.enter",
        "c.error",
        "c.enter",
        "c.error",
        "c.enter",
        "c.leave",
        "a.leave",
    ]


async def test_retry_then_raise_cancels_the_retry() -> None:
    class Confused:
        def error(self, ctx: Context) -> None:
            ctx.retry()
            raise BadRequestError("changed my mind")

    upstream = MockModel([ServerError("down"), "never"])
    with pytest.raises(BadRequestError):
        await with_interceptors(upstream, [Confused()]).chat("hi")
    assert len(upstream.calls) == 1


async def test_metadata_reaches_the_response_without_touching_the_original() -> None:
    original = answer("shared")

    class Tag:
        def enter(self, ctx: Context) -> None:
            ctx.metadata["tag"] = 1

    model = with_interceptors(MockModel([original, original]), [Tag()])
    first = await model.chat("hi")
    assert first.metadata == {"tag": 1}
    assert original.metadata == {}
    inner = MockModel([original])
    plain = await with_interceptors(inner, [Recorder("x", [])]).chat("hi")
    assert plain.metadata == {}  # nothing added: the model's own answer, as it came


async def test_enter_may_change_messages_and_options() -> None:
    seen: list[tuple[list[Message], ChatOptions]] = []

    def reply(messages: list[Message], options: ChatOptions) -> str:
        seen.append((messages, options))
        return "ok"

    class Rewrite:
        def enter(self, ctx: Context) -> None:
            ctx.messages = [*ctx.messages, Message(role="user", content="and more")]
            ctx.options = ctx.options.merged(temperature=0.5)

    await with_interceptors(FunctionModel(reply), [Rewrite()]).chat("hi")
    messages, options = seen[0]
    assert [m.text for m in messages] == ["hi", "and more"]
    assert options.temperature == 0.5


async def test_cancellation_runs_error_hooks_and_cannot_be_cleared() -> None:
    log: list[str] = []

    class TriesToSwallow:
        def error(self, ctx: Context) -> None:
            log.append(type(ctx.error).__name__)
            ctx.error = None
            ctx.response = answer("nope")
            ctx.retry()

    model = with_interceptors(MockModel(["slow"], delay=10), [TriesToSwallow()])
    task = asyncio.create_task(model.chat("hi"))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log == ["CancelledError"]


# -- streams ----------------------------------------------------------------------------


async def collect(events: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in events]


async def test_stream_passes_the_chain_and_leaves_before_done() -> None:
    log: list[str] = []

    class SeeDone:
        def leave(self, ctx: Context) -> None:
            log.append(f"leave saw {ctx.response.text if ctx.response else None}")
            ctx.metadata["seen"] = True

    model = with_interceptors(MockModel(["one two three"]), [Recorder("a", log), SeeDone()])
    events = []
    async for event in model.stream("hi"):
        events.append(event)
        log.append(f"event {event.type}")
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["one", " two", " three"]
    done = events[-1]
    assert isinstance(done, Done)
    assert done.response.metadata == {"seen": True}
    assert log[:2] == ["a.enter", "event text_delta"]
    assert log[-4:] == ["event usage", "leave saw one two three", "a.leave", "event done"]


async def test_stream_without_metadata_passes_done_through() -> None:
    events = await collect(with_interceptors(MockModel(["hi"]), [Recorder("a", [])]).stream("x"))
    assert isinstance(events[-1], Done)
    assert events[-1].response.metadata == {}


async def test_stream_terminated_early_is_replayed_as_events() -> None:
    class Short:
        def enter(self, ctx: Context) -> None:
            ctx.terminate(answer("replayed as a stream"))

    upstream = MockModel()
    events = await collect(with_interceptors(upstream, [Short()]).stream("hi"))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "replayed as a stream"
    assert isinstance(events[-1], Done)
    assert upstream.calls == []


async def test_stream_error_before_the_first_event_can_be_retried() -> None:
    log: list[str] = []

    class Again:
        def error(self, ctx: Context) -> None:
            log.append(f"error streaming={ctx.streaming}")
            ctx.retry()

    upstream = MockModel([ServerError("not yet"), "now"])
    events = await collect(with_interceptors(upstream, [Again()]).stream("hi"))
    assert isinstance(events[-1], Done)
    assert events[-1].response.text == "now"
    assert log == ["error streaming=False"]


async def test_stream_error_after_events_reaches_error_hooks_and_the_caller() -> None:
    log: list[str] = []

    async def pieces(messages: list[Message], options: ChatOptions) -> AsyncIterator[str]:
        yield "partial"
        raise ServerError("cut off")

    class TooLate:
        def error(self, ctx: Context) -> None:
            log.append(f"error streaming={ctx.streaming}")
            with pytest.raises(ConduitError, match="too late"):
                ctx.retry()

    model = with_interceptors(FunctionModel(lambda m, o: "", stream_fn=pieces), [TooLate()])
    received: list[StreamEvent] = []

    async def read() -> None:
        async for event in model.stream("hi"):
            received.append(event)

    with pytest.raises(ServerError, match="cut off"):
        await read()
    assert [e.type for e in received] == ["text_delta"]
    assert log == ["error streaming=True"]


async def test_stream_error_cleared_mid_stream_ends_with_the_given_response() -> None:
    async def pieces(messages: list[Message], options: ChatOptions) -> AsyncIterator[str]:
        yield "partial"
        raise ServerError("cut off")

    class Recover:
        def error(self, ctx: Context) -> None:
            ctx.error = None
            ctx.response = answer("partial (recovered)")

    model = with_interceptors(FunctionModel(lambda m, o: "", stream_fn=pieces), [Recover()])
    events = await collect(model.stream("hi"))
    assert [e.type for e in events] == ["text_delta", "done"]
    assert events[-1].response.text == "partial (recovered)"  # type: ignore[union-attr]


async def test_closing_a_stream_early_runs_error_hooks_and_closes_the_model_stream() -> None:
    log: list[str] = []
    closed: list[bool] = []

    async def endless(messages: list[Message], options: ChatOptions) -> AsyncIterator[str]:
        try:
            while True:
                yield "more "
                await asyncio.sleep(0)
        finally:
            closed.append(True)

    class Watch:
        def leave(self, ctx: Context) -> None:  # pragma: no cover - never completes
            log.append("leave")

        def error(self, ctx: Context) -> None:
            log.append(type(ctx.error).__name__)
            ctx.error = None  # cannot be cleared: the stream is closed regardless

    model = with_interceptors(FunctionModel(lambda m, o: "", stream_fn=endless), [Watch()])
    stream = model.stream("hi")
    async for _ in stream:
        break
    await stream.aclose()  # type: ignore[attr-defined]
    assert log == ["GeneratorExit"]
    assert closed == [True]


async def test_a_stream_that_ends_without_done_is_an_error() -> None:
    class NoDone(MockModel):
        async def _stream(
            self, messages: list[Message], options: ChatOptions
        ) -> AsyncIterator[StreamEvent]:
            yield TextDelta(text="a")

    class EmptyStream(MockModel):
        async def _stream(
            self, messages: list[Message], options: ChatOptions
        ) -> AsyncIterator[StreamEvent]:
            return
            yield  # pragma: no cover

    for model in (NoDone(), EmptyStream()):
        with pytest.raises(ConduitError, match="without a Done"):
            await collect(with_interceptors(model, [Recorder("a", [])]).stream("hi"))


async def test_a_stream_not_iterated_runs_nothing() -> None:
    log: list[str] = []
    upstream = MockModel()
    stream = with_interceptors(upstream, [Recorder("a", log)]).stream("hi")
    del stream
    assert log == []
    assert upstream.calls == []


# -- the wrapper is a model --------------------------------------------------------------


def test_a_wrapped_model_is_a_chat_model() -> None:
    model = with_interceptors(MockModel(name="m"), [Recorder("a", [])])
    assert isinstance(model, ChatModel)
    assert model.model_info.ref == "fake/m"
    assert repr(model) == "InterceptedModel('fake/m', [Recorder])"


def test_sync_twins_pass_the_chain() -> None:
    log: list[str] = []
    model = with_interceptors(MockModel(["a", "b"]), [Recorder("x", log)])
    assert model.chat_sync("hi").text == "a"
    assert [e.type for e in model.stream_sync("hi")][-1] == "done"
    assert log == ["x.enter", "x.leave", "x.enter", "x.leave"]


async def test_wrapping_twice_makes_one_flat_chain() -> None:
    log: list[str] = []
    inner = with_interceptors(MockModel(), [Recorder("inner", log)])
    outer = with_interceptors(inner, [Recorder("outer", log)])
    assert outer.model is inner.model
    assert [i.name for i in outer.interceptors] == ["outer", "inner"]  # type: ignore[attr-defined]
    await outer.chat("hi")
    assert log == ["outer.enter", "inner.enter", "inner.leave", "outer.leave"]


async def test_aclose_closes_the_wrapped_model() -> None:
    closed: list[bool] = []

    class Closable(MockModel):
        async def aclose(self) -> None:
            closed.append(True)

    async with with_interceptors(Closable(), []) as model:
        await model.chat("hi")
    assert closed == [True]


async def test_aclose_of_a_model_without_one() -> None:
    class Bare:
        model_info = MockModel().model_info

        async def chat(self, *args: Any, **kwargs: Any) -> Response:
            return answer("bare")

        def stream(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover
            raise NotImplementedError

    model = with_interceptors(Bare(), [])
    assert (await model.chat("hi")).text == "bare"
    await model.aclose()


def test_not_an_interceptor() -> None:
    with pytest.raises(ValidationError, match="no enter, leave or error"):
        with_interceptors(MockModel(), [object()])

    class BadHook:
        enter = "not callable"

    with pytest.raises(ValidationError, match="not callable"):
        with_interceptors(MockModel(), [BadHook()])


def test_not_a_model() -> None:
    with pytest.raises(ValidationError, match="ChatModel"):
        with_interceptors("openai/gpt-4o", [])  # type: ignore[arg-type]


def test_interceptor_base_repr() -> None:
    class Mine(Interceptor):
        def enter(self, ctx: Context) -> None:
            pass

    assert repr(Mine()) == "Mine()"


# -- interceptor options never reach the model -------------------------------------------


async def test_the_cache_flag_never_reaches_the_model() -> None:
    seen: list[ChatOptions] = []

    def reply(messages: list[Message], options: ChatOptions) -> str:
        seen.append(options)
        return "ok"

    model = with_interceptors(FunctionModel(reply), [Recorder("a", [])])
    await model.chat("hi", extra={"cache": False, "logprobs": True})
    await collect(model.stream("hi", extra={"cache": False}))
    await model.chat("hi", extra={"logprobs": True})
    assert [o.extra for o in seen] == [{"logprobs": True}, {}, {"logprobs": True}]


async def test_the_cache_flag_never_reaches_the_wire() -> None:
    from conduit.providers.openai import OpenAIChatModel
    from conduit.transport import HTTPRequest, MockTransport, json_response

    def handler(request: HTTPRequest) -> Any:
        return json_response(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 0,
                "model": "gpt-4o-mini",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "hi"},
                        "finish_reason": "stop",
                    }
                ],
            }
        )

    transport = MockTransport(handler)
    openai = OpenAIChatModel("gpt-4o-mini", api_key="sk-test-000000000", transport=transport)
    model = with_interceptors(openai, [Recorder("a", [])])
    assert (await model.chat("hi", extra={"cache": False, "seed_extra": 1})).text == "hi"
    body = transport.requests[0].json()
    assert "cache" not in body
    assert body["seed_extra"] == 1
    await model.aclose()
