"""The fakes: `MockModel`, `FunctionModel`, `HashEmbedder` behave like real models."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from typing import Any

import pytest

from conduit.core import ChatModel, Embedder
from conduit.errors import ConduitError, NotFoundError, RateLimitError, ValidationError
from conduit.providers.fake import (
    FunctionModel,
    HashEmbedder,
    MockCall,
    MockModel,
    fake_chat_model,
    to_response,
)
from conduit.schema import (
    ChatOptions,
    Done,
    FunctionCall,
    Message,
    Response,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
    system,
    user,
)


class _AsyncioRecordingSleeps:
    """`asyncio` as the fakes see it, with `sleep` recording the delay asked for instead
    of waiting it out: the delays are checked exactly, whatever the machine's speed."""

    def __init__(self, asked: list[float]) -> None:
        self.asked = asked

    async def sleep(self, delay: float, result: Any = None) -> Any:
        self.asked.append(delay)
        return await asyncio.sleep(0, result)

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


def _record_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    asked: list[float] = []
    monkeypatch.setattr("conduit.providers.fake.asyncio", _AsyncioRecordingSleeps(asked))
    return asked


ADD = ToolCall(id="call_1", function=FunctionCall.from_raw("add", '{"a": 1, "b": 2}'))
NOW = ToolCall(id="call_2", function=FunctionCall.from_raw("now", "{}"))


async def _events(model: ChatModel, messages: Any = "hi", **kw: Any) -> list[StreamEvent]:
    return [e async for e in model.stream(messages, **kw)]


class TestMockModel:
    async def test_replies_in_order(self) -> None:
        m = MockModel(["first", "second", "third"])
        assert [(await m.chat("q")).text for _ in range(3)] == ["first", "second", "third"]

    async def test_a_single_string_is_one_reply(self) -> None:
        m = MockModel("only")
        assert (await m.chat("q")).text == "only"
        with pytest.raises(ConduitError):
            await m.chat("q")

    async def test_default_reply(self) -> None:
        assert (await MockModel().chat("q")).text == "ok"

    async def test_text_reply_shape(self) -> None:
        r = await MockModel(["Hello there"]).chat([system("s"), user("a question")])
        assert r.content == [TextBlock(text="Hello there")]
        assert r.stop_reason == "end_turn"
        assert (r.model, r.provider) == ("mock", "fake")
        assert r.usage.input_tokens > 0
        assert r.usage.output_tokens == math.ceil(len("Hello there") / 4)
        assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens

    async def test_empty_text_reply(self) -> None:
        r = await MockModel([""]).chat("q")
        assert r.content == []
        assert r.usage.output_tokens == 0
        assert r.to_message().role == "assistant"

    async def test_response_reply_is_returned_as_a_copy(self) -> None:
        scripted = Response(id="r9", content=[TextBlock(text="x")], stop_reason="max_tokens")
        answered = await MockModel([scripted]).chat("q")
        assert answered == scripted
        assert answered is not scripted  # each call its own answer: its cost may be filled

    async def test_exceptions_are_raised_in_turn(self) -> None:
        m = MockModel([RateLimitError("slow down", retry_after=1.0), "ok"])
        with pytest.raises(RateLimitError, match="slow down"):
            await m.chat("q")
        assert (await m.chat("q")).text == "ok"
        assert len(m.calls) == 2  # the failed call was recorded too

    async def test_any_exception_type(self) -> None:
        with pytest.raises(KeyError):
            await MockModel([KeyError("k")]).chat("q")
        with pytest.raises(asyncio.CancelledError):
            await MockModel([asyncio.CancelledError()]).chat("q")

    async def test_running_out_is_a_clear_error(self) -> None:
        m = MockModel(["a", "b"])
        await m.chat("q")
        await m.chat("q")
        with pytest.raises(ConduitError) as info:
            await m.chat("q")
        text = str(info.value)
        assert "ran out of replies after 2 call(s)" in text
        assert "repeat_last=True" in text

    async def test_no_replies_at_all(self) -> None:
        with pytest.raises(ConduitError, match="ran out of replies after 0"):
            await MockModel([]).chat("q")
        with pytest.raises(ConduitError, match="ran out of replies after 0"):
            await MockModel([], repeat_last=True).chat("q")

    async def test_repeat_last(self) -> None:
        m = MockModel(["a", "b"], repeat_last=True)
        assert [(await m.chat("q")).text for _ in range(4)] == ["a", "b", "b", "b"]

    async def test_records_calls(self) -> None:
        m = MockModel(["a", "b"])
        await m.chat([system("Be brief."), user("one")], ChatOptions(temperature=0.2))
        await _events(m, "two", max_tokens=7)
        assert m.calls == [
            MockCall([system("Be brief."), user("one")], ChatOptions(temperature=0.2), False),
            MockCall([user("two")], ChatOptions(max_tokens=7), True),
        ]
        assert m.calls[1].stream is True
        assert m.calls[0].messages[-1].text == "one"

    async def test_delay(self, monkeypatch: pytest.MonkeyPatch) -> None:
        asked = _record_sleeps(monkeypatch)
        m = MockModel(["a b c"], delay=0.05, repeat_last=True)
        await m.chat("q")
        assert asked == [0.05]
        asked.clear()
        events = await _events(m)
        # the delay also paces the stream, before each event
        assert asked == [0.05] * len(events)

    async def test_delayed_calls_run_concurrently(self) -> None:
        # Overlap, not speed: every call has started before the first one finishes (a
        # delay that blocked the loop would finish each call before the next starts).
        m = MockModel(["x"], delay=0.2, repeat_last=True)
        started = 0
        started_when_done: list[int] = []

        async def one() -> Response:
            nonlocal started
            started += 1
            response = await m.chat("q")
            started_when_done.append(started)
            return response

        results = await asyncio.gather(*(one() for _ in range(10)))
        assert [r.text for r in results] == ["x"] * 10
        assert started_when_done[0] == 10

    async def test_text_stream(self) -> None:
        events = await _events(MockModel(["Hello big world"]))
        assert events[:3] == [
            TextDelta(text="Hello"),
            TextDelta(text=" big"),
            TextDelta(text=" world"),
        ]
        assert isinstance(events[3], UsageEvent)
        done = events[-1]
        assert isinstance(done, Done)
        assert done.response.text == "Hello big world"

    async def test_stream_raises_scripted_exception(self) -> None:
        m = MockModel([RateLimitError("later")])
        with pytest.raises(RateLimitError):
            await _events(m)


class TestToolCallReplies:
    async def test_one_tool_call(self) -> None:
        r = await MockModel([ADD]).chat("add 1 and 2")
        assert r.stop_reason == "tool_use"
        assert r.tool_calls == [ADD]
        assert r.text == ""
        assert r.usage.output_tokens > 0

    async def test_several_tool_calls(self) -> None:
        r = await MockModel([[ADD, NOW]]).chat("q")
        assert r.tool_calls == [ADD, NOW]
        assert r.stop_reason == "tool_use"

    async def test_tool_calls_then_text(self) -> None:
        m = MockModel([ADD, "The answer is 3."])
        first = await m.chat("q")
        second = await m.chat(
            ["q", first.to_message(), {"role": "tool", "content": "3", "tool_call_id": "call_1"}]
        )
        assert first.tool_calls == [ADD]
        assert second.text == "The answer is 3."
        assert [msg.role for msg in m.calls[1].messages] == ["user", "assistant", "tool"]

    async def test_streamed_as_deltas_then_done_with_complete_calls(self) -> None:
        events = await _events(MockModel([[ADD, NOW]]))
        deltas = [e for e in events if isinstance(e, ToolCallDelta)]
        assert deltas[0] == ToolCallDelta(index=0, id="call_1", name="add")
        assert "".join(d.arguments for d in deltas if d.index == 0) == '{"a": 1, "b": 2}'
        assert {d.index for d in deltas} == {0, 1}
        assert not any(isinstance(e, TextDelta) for e in events)
        done = events[-1]
        assert isinstance(done, Done)
        assert done.response.tool_calls == [ADD, NOW]
        assert done.response.stop_reason == "tool_use"
        assert done.response.tool_calls[0].arguments == {"a": 1, "b": 2}

    @pytest.mark.parametrize("bad", [42, {"id": "x"}, [], ["text", ADD], RateLimitError])
    async def test_bad_scripted_replies(self, bad: Any) -> None:
        with pytest.raises(ValidationError, match="a fake reply must be"):
            await MockModel([bad]).chat("q")

    def test_to_response_directly(self) -> None:
        r = to_response((ADD,), model="m")  # a tuple of calls works too
        assert r.tool_calls == [ADD]
        assert r.usage.input_tokens == 0  # no messages given


class TestFunctionModel:
    async def test_sync_fn(self) -> None:
        m = FunctionModel(lambda msgs, opts: msgs[-1].text.upper())
        assert (await m.chat("hello")).text == "HELLO"
        assert m.model_info.ref == "fake/function"

    async def test_async_fn(self) -> None:
        async def fn(messages: list[Message], options: ChatOptions) -> str:
            await asyncio.sleep(0)
            return f"t={options.temperature}"

        m = FunctionModel(fn, name="custom")
        assert (await m.chat("q", temperature=0.5)).text == "t=0.5"
        assert (await m.chat("q", temperature=0.5)).model == "custom"

    async def test_fn_sees_validated_messages_and_options(self) -> None:
        seen: list[tuple[list[Message], ChatOptions]] = []

        def fn(messages: list[Message], options: ChatOptions) -> str:
            seen.append((messages, options))
            return "ok"

        await FunctionModel(fn).chat([{"role": "user", "content": "d"}], stop="X")
        assert seen == [([user("d")], ChatOptions(stop=["X"]))]

    async def test_fn_may_return_tool_calls_responses_or_raise(self) -> None:
        def fn(messages: list[Message], options: ChatOptions) -> Any:
            text = messages[-1].text
            if text == "tool":
                return ADD
            if text == "response":
                return Response(id="given")
            raise RateLimitError("from fn")

        m = FunctionModel(fn)
        assert (await m.chat("tool")).tool_calls == [ADD]
        assert (await m.chat("response")).id == "given"
        with pytest.raises(RateLimitError, match="from fn"):
            await m.chat("other")
        # a returned exception is raised too
        with pytest.raises(KeyError):
            await FunctionModel(lambda m, o: KeyError("returned")).chat("q")

    async def test_stream_without_stream_fn_replays_fn(self) -> None:
        m = FunctionModel(lambda msgs, opts: "one two")
        events = await _events(m)
        assert [e.text for e in events if isinstance(e, TextDelta)] == ["one", " two"]
        assert isinstance(events[-1], Done)
        assert events[-1].response.text == "one two"
        assert m.calls[0].stream is True

    async def test_stream_fn_yielding_strings(self) -> None:
        async def pieces(messages: list[Message], options: ChatOptions) -> AsyncIterator[str]:
            for p in ["Hel", "lo", "!"]:
                yield p

        m = FunctionModel(lambda msgs, opts: "unused", stream_fn=pieces, name="s")
        events = await _events(m)
        assert events[:3] == [TextDelta(text="Hel"), TextDelta(text="lo"), TextDelta(text="!")]
        done = events[-1]
        assert isinstance(done, Done)
        assert done.response.text == "Hello!"
        assert done.response.model == "s"
        assert done.response.provider == "fake"
        assert done.response.stop_reason == "end_turn"
        assert len(m.calls) == 1
        assert m.calls[0].stream is True

    async def test_stream_fn_yielding_events(self) -> None:
        async def events_fn(
            messages: list[Message], options: ChatOptions
        ) -> AsyncIterator[str | StreamEvent]:
            yield "Let me add. "
            yield ToolCallDelta(index=0, id="call_1", name="add")
            yield ToolCallDelta(index=0, arguments='{"a": 1,')
            yield ToolCallDelta(index=0, arguments=' "b": 2}')
            yield UsageEvent(usage=Usage(input_tokens=4, output_tokens=9))

        events = await _events(FunctionModel(lambda m, o: "", stream_fn=events_fn))
        assert len(events) == 6
        done = events[-1]
        assert isinstance(done, Done)
        r = done.response
        assert r.text == "Let me add. "
        assert r.tool_calls == [ADD]
        assert r.stop_reason == "tool_use"
        assert r.usage == Usage(input_tokens=4, output_tokens=9)

    async def test_stream_fn_may_end_with_its_own_done(self) -> None:
        final = Response(id="mine", content=[TextBlock(text="whole")])

        async def events_fn(
            messages: list[Message], options: ChatOptions
        ) -> AsyncIterator[str | StreamEvent]:
            yield "whole"
            yield Done(response=final)
            yield "never sent"

        events = await _events(FunctionModel(lambda m, o: "", stream_fn=events_fn))
        assert events == [TextDelta(text="whole"), Done(response=final)]

    async def test_stream_fn_bad_item(self) -> None:
        async def bad(messages: list[Message], options: ChatOptions) -> AsyncIterator[Any]:
            yield 42

        with pytest.raises(ValidationError, match="stream_fn must yield str or stream events"):
            await _events(FunctionModel(lambda m, o: "", stream_fn=bad))

    async def test_stream_fn_is_closed_when_the_consumer_stops(self) -> None:
        closed = asyncio.Event()

        async def endless(messages: list[Message], options: ChatOptions) -> AsyncIterator[str]:
            try:
                while True:
                    yield "x"
            finally:
                closed.set()

        stream = FunctionModel(lambda m, o: "", stream_fn=endless).stream("q")
        assert await anext(stream) == TextDelta(text="x")
        await stream.aclose()  # type: ignore[attr-defined]
        assert closed.is_set()

    async def test_stream_fn_may_return_any_async_iterator(self) -> None:
        class Pieces:
            def __init__(self) -> None:
                self.left = ["a", "b"]

            def __aiter__(self) -> Pieces:
                return self

            async def __anext__(self) -> str:
                if not self.left:
                    raise StopAsyncIteration
                return self.left.pop(0)

        events = await _events(FunctionModel(lambda m, o: "", stream_fn=lambda m, o: Pieces()))
        assert isinstance(events[-1], Done)
        assert events[-1].response.text == "ab"

    async def test_stream_fn_delay(self, monkeypatch: pytest.MonkeyPatch) -> None:
        async def pieces(messages: list[Message], options: ChatOptions) -> AsyncIterator[str]:
            yield "a"
            yield "b"

        asked = _record_sleeps(monkeypatch)
        await _events(FunctionModel(lambda m, o: "", stream_fn=pieces, delay=0.05))
        assert asked == [0.05, 0.05]  # before each piece

    def test_is_a_chat_model(self) -> None:
        assert isinstance(FunctionModel(lambda m, o: ""), ChatModel)
        assert FunctionModel(lambda m, o: "").model_info.capabilities.vision


class TestFakeChatModel:
    async def test_echo(self) -> None:
        m = fake_chat_model("echo")
        assert (await m.chat("ping")).text == "ping"
        assert m.model_info.ref == "fake/echo"

    def test_unknown_name(self) -> None:
        with pytest.raises(NotFoundError, match="unknown fake model 'nope'; try 'fake/echo'"):
            fake_chat_model("nope")


class TestHashEmbedder:
    async def test_deterministic(self) -> None:
        a = await HashEmbedder().embed(["hello", "world"])
        b = await HashEmbedder().embed(["hello", "world"])
        assert a == b
        assert a[0] != a[1]
        # a text's vector does not depend on its neighbours
        assert (await HashEmbedder().embed("world"))[0] == a[1]

    @pytest.mark.parametrize("dims", [1, 4, 8, 9, 32, 100])
    async def test_dimensions_and_unit_norm(self, dims: int) -> None:
        e = await HashEmbedder(dimensions=dims).embed(["a", "", "long text " * 50])
        for vec in e.vectors:
            assert len(vec) == dims
            assert math.isclose(math.fsum(v * v for v in vec), 1.0, rel_tol=1e-9)

    async def test_default_dimensions_and_metadata(self) -> None:
        emb = HashEmbedder()
        e = await emb.embed("a")
        assert len(e[0]) == 32
        assert e.model == "hash"
        assert emb.model_info.ref == "fake/hash"
        assert HashEmbedder("other").model_info.name == "other"

    async def test_usage_counts_input_tokens(self) -> None:
        e = await HashEmbedder().embed(["abcd", "abcdefgh"])
        assert e.usage.input_tokens == 3
        assert e.usage.output_tokens == 0

    def test_dimensions_must_be_positive(self) -> None:
        with pytest.raises(ValidationError, match="dimensions must be at least 1"):
            HashEmbedder(dimensions=0)

    def test_is_an_embedder(self) -> None:
        assert isinstance(HashEmbedder(), Embedder)
