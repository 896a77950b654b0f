"""Replaying a `Response` as stream events, and assembling events back."""

from __future__ import annotations

from hypothesis import given, settings

from conduit.schema import (
    Done,
    FunctionCall,
    ImageBlock,
    Response,
    ResponseAssembler,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
    events_from_response,
)
from conduit.schema.assemble import _split_words
from tests.schema import strategies as s

CALLS = [
    ToolCall(id="c1", function=FunctionCall.from_raw("add", '{"a": 1, "b": 2}')),
    ToolCall(id="c2", function=FunctionCall.from_raw("now", "")),
]


def test_text_is_replayed_word_by_word_then_done() -> None:
    r = Response(content=[TextBlock(text="Hi there, you")], usage=Usage(input_tokens=2))
    events = list(events_from_response(r))
    assert events == [
        TextDelta(text="Hi"),
        TextDelta(text=" there,"),
        TextDelta(text=" you"),
        UsageEvent(usage=Usage(input_tokens=2)),
        Done(response=r),
    ]


def test_chunk_all_sends_one_text_delta() -> None:
    r = Response(content=[TextBlock(text="Hi there")])
    assert list(events_from_response(r, chunk="all")) == [
        TextDelta(text="Hi there"),
        Done(response=r),
    ]


def test_no_text_no_usage_only_done() -> None:
    r = Response(content=[ImageBlock(url="u")])
    assert list(events_from_response(r)) == [Done(response=r)]


def test_tool_calls_are_replayed_as_deltas() -> None:
    r = Response(tool_calls=CALLS, stop_reason="tool_use")
    events = list(events_from_response(r))
    assert events == [
        ToolCallDelta(index=0, id="c1", name="add"),
        ToolCallDelta(index=0, arguments='{"a": 1, "b": 2}'),
        ToolCallDelta(index=1, id="c2", name="now"),
        ToolCallDelta(index=1, arguments=""),
        Done(response=r),
    ]


@settings(max_examples=200, deadline=None)
@given(s.text)
def test_word_split_loses_nothing(text: str) -> None:
    pieces = list(_split_words(text))
    assert "".join(pieces) == text
    assert all(pieces)


class TestResponseAssembler:
    def test_text_usage_and_metadata(self) -> None:
        a = ResponseAssembler(model="m", provider="p", id="r1")
        for piece in ["Hel", "lo"]:
            a.add(TextDelta(text=piece))
        assert a.text == "Hello"
        a.add(UsageEvent(usage=Usage(input_tokens=3, output_tokens=2)))
        r = a.response(duration=0.5)
        assert r == Response(
            id="r1",
            model="m",
            provider="p",
            content=[TextBlock(text="Hello")],
            stop_reason="end_turn",
            usage=Usage(input_tokens=3, output_tokens=2),
            duration=0.5,
        )

    def test_tool_call_fragments_are_joined_by_index(self) -> None:
        a = ResponseAssembler()
        a.add(ToolCallDelta(index=1, id="c2", name="mul"))
        a.add(ToolCallDelta(index=0, id="c1", name="add"))
        a.add(ToolCallDelta(index=0, arguments='{"a"'))
        a.add(ToolCallDelta(index=1, arguments='{"x": 2}'))
        a.add(ToolCallDelta(index=0, arguments=": 1}"))
        r = a.response()
        assert r.stop_reason == "tool_use"
        assert [(c.id, c.name, c.arguments) for c in r.tool_calls] == [
            ("c1", "add", {"a": 1}),
            ("c2", "mul", {"x": 2}),
        ]
        assert r.content == []

    def test_missing_ids_get_placeholders_and_bad_json_is_kept(self) -> None:
        a = ResponseAssembler()
        a.add(ToolCallDelta(index=0, name="f", arguments="{oops"))
        (call,) = a.response().tool_calls
        assert call.id == "call_0"
        assert call.function.invalid_arguments is True
        assert call.function.raw_arguments == "{oops"

    def test_explicit_stop_reason_wins(self) -> None:
        a = ResponseAssembler()
        a.add(TextDelta(text="cut"))
        assert a.response(stop_reason="max_tokens").stop_reason == "max_tokens"

    def test_done_response_is_returned_as_is(self) -> None:
        final = Response(id="final", content=[TextBlock(text="whole")])
        a = ResponseAssembler()
        a.add(TextDelta(text="partial"))
        a.add(Done(response=final))
        assert a.final is final
        assert a.response() is final

    def test_empty_stream(self) -> None:
        r = ResponseAssembler().response()
        assert r.text == ""
        assert r.stop_reason == "end_turn"
        assert r.usage == Usage()

    @settings(max_examples=150, deadline=None)
    @given(s.responses)
    def test_replay_then_assemble_without_done_gives_the_same_answer(
        self, response: Response
    ) -> None:
        a = ResponseAssembler(model=response.model, provider=response.provider, id=response.id)
        for event in events_from_response(response):
            if not isinstance(event, Done):
                a.add(event)
        got = a.response(stop_reason=response.stop_reason, duration=response.duration)
        assert got.text == response.text
        assert got.tool_calls == response.tool_calls
        if response.usage.total_tokens:
            assert got.usage == response.usage
        assert (got.id, got.model, got.provider) == (response.id, response.model, response.provider)
