"""`Conduit` pipelines: prompt + model (+ parser), once or as a batch, with history."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import BaseModel

from conduit.batch import BatchItemError, Conduit
from conduit.errors import RateLimitError, ValidationError
from conduit.memory import message_store
from conduit.providers.fake import FunctionModel, MockModel
from conduit.schema import ChatOptions, Message, Response, TextBlock, Usage


class City(BaseModel):
    name: str
    country: str


def test_run_renders_the_prompt_and_returns_the_response() -> None:
    model = MockModel(["Paris"])
    pipe = Conduit("Capital of {{ country }}?", model, system="Be brief.", temperature=0)
    answer = pipe.run({"country": "France"})
    assert isinstance(answer, Response)
    assert answer.text == "Paris"
    call = model.calls[0]
    assert [m.role for m in call.messages] == ["system", "user"]
    assert call.messages[-1].text == "Capital of France?"
    assert call.options.temperature == 0


def test_a_batch_fails_some_items_and_keeps_the_rest_in_order() -> None:
    def reply(messages: list[Message], options: ChatOptions) -> str:
        word = messages[-1].text
        if word == "bad":
            raise RateLimitError("slow down", provider="fake", status_code=429, retry_after=0)
        return word.upper()

    pipe = Conduit("{{ w }}", FunctionModel(reply))
    result = pipe.run_batch([{"w": "a"}, {"w": "bad"}, {"w": "c"}], retries=1, concurrency=2)
    assert [getattr(r, "text", None) for r in result] == ["A", None, "C"]
    error = result[1]
    assert isinstance(error, BatchItemError)
    assert error.request == {"model": "fake/function", "variables": {"w": "bad"}, "options": {}}
    assert (error.code, error.category, error.retries, error.status_code) == (
        "rate_limit",
        "retry",
        1,
        429,
    )


def test_a_parser_returns_objects_and_counts_usage() -> None:
    def reply(messages: list[Message], options: ChatOptions) -> Response:
        name = messages[-1].text.split()[-1]
        return Response(
            content=[TextBlock(text=f'{{"name": "{name}", "country": "FR"}}')],
            usage=Usage(input_tokens=10, output_tokens=5),
        )

    pipe = Conduit("City {{ n }}", FunctionModel(reply), City)
    single = pipe.run({"n": "Lyon"})
    assert single == City(name="Lyon", country="FR")
    result = pipe.run_batch([{"n": "Paris"}, {"n": "Nice"}])
    assert result.succeeded == [City(name="Paris", country="FR"), City(name="Nice", country="FR")]
    assert (result.input_tokens, result.output_tokens) == (20, 10)


def test_resume_of_parsed_results(tmp_path: Path) -> None:
    journal = tmp_path / "cities.jsonl"
    model = MockModel(['{"name": "Oslo", "country": "NO"}'])
    pipe = Conduit("{{ n }}", model, City)
    pipe.run_batch([{"n": "x"}], results_file=journal)
    again = pipe.run_batch([{"n": "x"}], results_file=journal, resume=True)
    assert again.succeeded == [City(name="Oslo", country="NO")]
    assert len(model.calls) == 1


def test_history_is_read_and_saved() -> None:
    async def main() -> None:
        store = message_store(":memory:")
        model = FunctionModel(lambda messages, options: f"{len(messages)} messages")
        pipe = Conduit("{{ q }}", model, history=store)
        first = await pipe.run_async({"q": "hi"}, save=True)
        assert first.text == "1 messages"
        assert pipe.conversation_id is not None
        second = await pipe.run_async({"q": "again"}, include_history=True, save=True)
        assert second.text == "3 messages"
        saved = await store.messages(pipe.conversation_id)
        assert [m.text for m in saved] == ["hi", "1 messages", "again", "3 messages"]
        parsed = Conduit(
            "{{ q }}", MockModel(['{"name": "Rome", "country": "IT"}']), City, history=store
        )
        await parsed.run_async({"q": "city"}, save=True)
        assert parsed.conversation_id is not None
        kept = await store.messages(parsed.conversation_id)
        assert '"Rome"' in kept[-1].text
        await store.aclose()

    asyncio.run(main())


def test_history_flags_need_a_store() -> None:
    pipe = Conduit("{{ q }}", MockModel())
    with pytest.raises(ValidationError, match="history store"):
        pipe.run({"q": "x"}, save=True)
    with pytest.raises(ValidationError, match="history store"):
        pipe.run({"q": "x"}, include_history=True)


def test_summary_verbosity_prints_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    Conduit("{{ q }}", MockModel(["ok"])).run({"q": "x"}, verbosity="summary")
    assert "fake/mock" in capsys.readouterr().err


def test_a_model_can_be_named_by_string() -> None:
    pipe = Conduit("{{ q }}", "fake/echo")
    assert pipe.run({"q": "echo me"}).text == "echo me"
    assert "fake/echo" in repr(pipe)
