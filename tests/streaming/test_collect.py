"""Collecting, watching and printing streams."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest

from conduit.providers.fake import FunctionModel, MockModel
from conduit.schema import (
    FunctionCall,
    Response,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolCall,
    Usage,
    events_from_response,
)
from conduit.streaming import (
    iterate_sync,
    print_stream,
    print_stream_sync,
    stream_to_response,
    stream_to_response_sync,
    stream_with_callbacks,
)

CALLS = [
    ToolCall(id="c1", function=FunctionCall.from_arguments("add", {"a": 1, "b": 2})),
    ToolCall(id="c2", function=FunctionCall.from_arguments("mul", {"a": 3, "b": 4})),
]
SCRIPTED = [
    "The quick brown fox jumps over the lazy dog.",
    CALLS,
    Response(
        id="r-9",
        content=[TextBlock(text="Let me add that.")],
        tool_calls=CALLS[:1],
        stop_reason="tool_use",
        usage=Usage(input_tokens=11, output_tokens=5),
    ),
]


@pytest.mark.parametrize("reply", SCRIPTED, ids=["text", "tool-calls", "text-and-call"])
async def test_collected_stream_equals_the_non_streamed_answer(reply: object) -> None:
    chat_model = MockModel([reply])
    stream_model = MockModel([reply])
    whole = await chat_model.chat("hi")
    collected = await stream_to_response(stream_model.stream("hi"))
    assert collected == whole


@pytest.mark.parametrize("reply", SCRIPTED, ids=["text", "tool-calls", "text-and-call"])
async def test_deltas_without_done_assemble_to_the_same_answer(reply: object) -> None:
    whole = await MockModel([reply]).chat("hi")

    async def deltas_only() -> AsyncIterator[StreamEvent]:
        for event in events_from_response(whole):
            if event.type != "done":
                yield event

    collected = await stream_to_response(deltas_only())
    assert collected.text == whole.text
    assert collected.tool_calls == whole.tool_calls
    assert collected.usage == whole.usage
    assert collected.stop_reason == whole.stop_reason


async def test_function_model_stream_fn_collects_to_its_pieces() -> None:
    pieces = ["Hel", "lo", ", ", "world"]

    async def stream_fn(messages: object, options: object) -> AsyncIterator[str]:
        for piece in pieces:
            yield piece

    model = FunctionModel(lambda m, o: "".join(pieces), stream_fn=stream_fn)
    assert (await stream_to_response(model.stream("hi"))).text == "".join(pieces)


async def test_callbacks_plain_and_async_see_every_part() -> None:
    reply = SCRIPTED[2]
    seen: dict[str, list[object]] = {"event": [], "text": [], "call": [], "usage": [], "done": []}

    async def on_call(call: ToolCall) -> None:
        seen["call"].append(call)

    response = await stream_with_callbacks(
        MockModel([reply]).stream("hi"),
        on_event=seen["event"].append,
        on_text=seen["text"].append,
        on_tool_call=on_call,
        on_usage=seen["usage"].append,
        on_done=seen["done"].append,
    )
    assert "".join(str(t) for t in seen["text"]) == response.text
    assert seen["call"] == response.tool_calls
    assert seen["usage"] == [response.usage]
    assert seen["done"] == [response]
    assert [e.type for e in seen["event"]][-1] == "done"  # type: ignore[attr-defined]


async def test_a_failing_callback_closes_the_stream() -> None:
    closed = []

    async def events() -> AsyncIterator[StreamEvent]:
        try:
            for word in ["a", "b", "c"]:
                yield TextDelta(text=word)
        finally:
            closed.append(True)

    def boom(text: str) -> None:
        raise RuntimeError(f"callback failed on {text}")

    with pytest.raises(RuntimeError, match="callback failed on a"):
        await stream_with_callbacks(events(), on_text=boom)
    assert closed == [True]


async def test_print_stream_writes_the_text_as_it_arrives() -> None:
    out = io.StringIO()
    writes: list[str] = []

    class Recorder(io.StringIO):
        def write(self, text: str) -> int:
            writes.append(text)
            return out.write(text)

    response = await print_stream(MockModel(["one two three"]).stream("hi"), file=Recorder())
    assert out.getvalue() == response.text + "\n"
    assert writes[:-1] == [response.text[:3], response.text[3:7], response.text[7:]]


async def test_print_stream_defaults_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    response = await print_stream(MockModel(["to stdout"]).stream("hi"), end="!")
    assert capsys.readouterr().out == response.text + "!"


def test_sync_twins_agree_with_async() -> None:
    reply = SCRIPTED[2]
    whole = MockModel([reply]).chat_sync("hi")
    collected = stream_to_response_sync(MockModel([reply]).stream("hi"))
    assert collected == whole
    out = io.StringIO()
    printed = print_stream_sync(MockModel([reply]).stream("hi"), file=out)
    assert out.getvalue() == printed.text + "\n"
    assert printed == collected


def test_iterate_sync_yields_the_async_events() -> None:
    model = MockModel(["a b c"], repeat_last=True)
    sync_events = list(iterate_sync(model.stream("hi")))
    replay = list(events_from_response(sync_events[-1].response))  # type: ignore[union-attr]
    assert sync_events == replay
