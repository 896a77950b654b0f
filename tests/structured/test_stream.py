"""Streaming partial objects."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from conduit.providers.fake import FunctionModel
from conduit.schema import ChatOptions, Message, StreamEvent, TextDelta
from conduit.structured import StructuredOutputError, with_structured_output
from tests.structured.models import Address, Employee, Person


def _pieces(*answers: list[str]) -> FunctionModel:
    """A model that streams each answer (a list of pieces) on successive calls."""
    queue = list(answers)

    async def stream(messages: list[Message], options: ChatOptions) -> AsyncIterator[str]:
        for piece in queue.pop(0):
            yield piece

    return FunctionModel(lambda m, o: "", stream_fn=stream)


async def test_fields_fill_as_they_arrive() -> None:
    model = _pieces(
        ["Here: ", '{"name": "Bo", "addr', 'ess": {"city": "Os', 'lo"}, "skills": ["a", ', '"b"]}']
    )
    s = with_structured_output(model, Employee)
    snapshots = [x async for x in s.stream("?")]
    assert snapshots[0].name == "Bo"
    assert snapshots[0].address is None
    assert isinstance(snapshots[1].address, Address)
    assert snapshots[1].address.city == "Os"
    assert snapshots[2].address.city == "Oslo"
    assert snapshots[3].skills == ["a", "b"]
    final = snapshots[-1]
    assert isinstance(final, Employee)
    assert final == Employee.model_validate(
        {"name": "Bo", "address": {"city": "Oslo"}, "skills": ["a", "b"]}
    )
    assert model.calls[0].stream
    assert model.calls[0].options.response_format is not None


async def test_lists_stream_item_by_item() -> None:
    model = _pieces(['{"items": [{"name": "A", "born": 1}', ', {"name": "B"', ', "born": 2}]}'])
    snapshots = [x async for x in with_structured_output(model, list[Person]).stream("?")]
    assert [len(s) for s in snapshots] == [1, 2, 2, 2]
    assert snapshots[1][1].born is None
    assert snapshots[-1] == [Person(name="A", born=1), Person(name="B", born=2)]


async def test_invalid_stream_is_retried_then_fails() -> None:
    good = ['{"name": "Ada", "born": 1815}']
    model = _pieces(['{"name": "Ada"}'], good)
    out = [x async for x in with_structured_output(model, Person).stream("?")]
    assert out[-1] == Person(name="Ada", born=1815)
    assert "Field required" in model.calls[1].messages[-1].text

    never = _pieces(["no"], ["still no"])
    s = with_structured_output(never, Person, max_retries=1)
    with pytest.raises(StructuredOutputError) as info:
        _ = [x async for x in s.stream("?")]
    assert [a.text for a in info.value.attempts] == ["no", "still no"]


async def test_a_stream_without_done_is_taken_as_it_came() -> None:
    class NoDone(FunctionModel):
        async def _stream(
            self, messages: list[Message], options: ChatOptions
        ) -> AsyncIterator[StreamEvent]:
            yield TextDelta(text='{"name": "A", ')
            yield TextDelta(text='"born": 3}')

    s = with_structured_output(NoDone(lambda m, o: ""), Person)
    assert [x async for x in s.stream("?")][-1] == Person(name="A", born=3)


def test_stream_sync() -> None:
    model = _pieces(['{"name": "A", "born": 3}'])
    assert list(with_structured_output(model, Person).stream_sync("?"))[-1].born == 3
