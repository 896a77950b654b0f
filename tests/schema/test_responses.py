"""Usage arithmetic, `Response` helpers and `Embeddings`."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from conduit.schema import (
    Embeddings,
    FunctionCall,
    ImageBlock,
    Message,
    Response,
    TextBlock,
    ToolCall,
    Usage,
)
from tests.schema import strategies as s

CALL = ToolCall(id="c1", function=FunctionCall.from_raw("add", '{"a": 1}'))


class TestUsage:
    def test_total_defaults_to_input_plus_output(self) -> None:
        assert Usage(input_tokens=10, output_tokens=5).total_tokens == 15
        assert Usage().total_tokens == 0

    def test_explicit_total_is_kept(self) -> None:
        # some providers count extra (reasoning, tool prompt) tokens in the total
        assert Usage(input_tokens=1, output_tokens=1, total_tokens=9).total_tokens == 9

    def test_addition_sums_every_field(self) -> None:
        a = Usage(input_tokens=1, output_tokens=2, cache_read_tokens=3, cache_creation_tokens=4)
        b = Usage(input_tokens=10, output_tokens=20, total_tokens=40, cache_read_tokens=30)
        total = a + b
        assert total == Usage(
            input_tokens=11,
            output_tokens=22,
            total_tokens=43,
            cache_read_tokens=33,
            cache_creation_tokens=4,
        )
        # the operands are untouched
        assert a.input_tokens == 1
        assert b.input_tokens == 10

    def test_sum_of_usages(self) -> None:
        usages = [Usage(input_tokens=i, output_tokens=1) for i in range(4)]
        assert sum(usages) == Usage(input_tokens=6, output_tokens=4)
        assert sum(usages, Usage()) == Usage(input_tokens=6, output_tokens=4)

    def test_adding_something_else_is_a_type_error(self) -> None:
        with pytest.raises(TypeError):
            Usage() + 1  # type: ignore[operator]
        with pytest.raises(TypeError):
            3 + Usage()  # only 0 (what sum() starts from) is accepted

    @settings(max_examples=100, deadline=None)
    @given(s.usages, s.usages, s.usages)
    def test_addition_is_associative_and_commutative(self, a: Usage, b: Usage, c: Usage) -> None:
        assert (a + b) + c == a + (b + c)
        assert a + b == b + a
        assert a + Usage() == a


class TestResponse:
    def test_text_joins_text_blocks(self) -> None:
        r = Response(
            content=[TextBlock(text="Hel"), ImageBlock(url="u"), TextBlock(text="lo")],
        )
        assert r.text == "Hello"
        assert r.extract_content() == "Hello"

    def test_tool_only_response_has_empty_text(self) -> None:
        r = Response(tool_calls=[CALL], stop_reason="tool_use")
        assert r.text == ""
        assert r.extract_content() == ""

    def test_defaults(self) -> None:
        r = Response()
        assert (r.id, r.model, r.provider, r.content, r.tool_calls) == ("", "", None, [], [])
        assert r.stop_reason is None
        assert r.usage == Usage()
        assert r.duration is None

    def test_to_message(self) -> None:
        r = Response(content=[TextBlock(text="Adding")], tool_calls=[CALL], stop_reason="tool_use")
        m = r.to_message()
        assert m == Message(role="assistant", content=[TextBlock(text="Adding")], tool_calls=[CALL])
        # the message does not share lists with the response
        m.tool_calls.clear()
        assert r.tool_calls == [CALL]

    def test_empty_response_becomes_an_empty_assistant_message(self) -> None:
        m = Response(stop_reason="max_tokens").to_message()
        assert m.role == "assistant"
        assert m.text == ""

    @settings(max_examples=100, deadline=None)
    @given(s.responses)
    def test_to_message_never_fails(self, response: Response) -> None:
        m = response.to_message()
        assert m.text == response.text
        assert m.tool_calls == response.tool_calls


def test_embeddings_sequence_behaviour() -> None:
    e = Embeddings(vectors=[[0.1, 0.2], [0.3, 0.4]], model="m")
    assert len(e) == 2
    assert e[1] == [0.3, 0.4]
    assert e[-1] == [0.3, 0.4]
    assert e.usage == Usage()
