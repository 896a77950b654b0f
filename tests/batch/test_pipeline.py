"""`Pipeline`s: prompt + model (+ parser), once or as a batch, with history."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import BaseModel

from conduit.batch import BatchItemError, Pipeline
from conduit.errors import RateLimitError, ValidationError
from conduit.memory import message_store
from conduit.providers.fake import FunctionModel, MockModel
from conduit.schema import ChatOptions, Message, Response, TextBlock, Usage


class City(BaseModel):
    name: str
    country: str


def test_run_renders_the_prompt_and_returns_the_response() -> None:
    model = MockModel(["Paris"])
    pipe = Pipeline("Capital of {{ country }}?", model, system="Be brief.", temperature=0)
    answer = pipe.run_sync({"country": "France"})
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

    pipe = Pipeline("{{ w }}", FunctionModel(reply))
    result = pipe.run_batch_sync(
        [{"w": "a"}, {"w": "bad"}, {"w": "c"}], max_retries=1, concurrency=2
    )
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

    pipe = Pipeline("City {{ n }}", FunctionModel(reply), City)
    single = pipe.run_sync({"n": "Lyon"})
    assert single == City(name="Lyon", country="FR")
    result = pipe.run_batch_sync([{"n": "Paris"}, {"n": "Nice"}])
    assert result.succeeded == [City(name="Paris", country="FR"), City(name="Nice", country="FR")]
    assert (result.input_tokens, result.output_tokens) == (20, 10)


def test_resume_of_parsed_results(tmp_path: Path) -> None:
    journal = tmp_path / "cities.jsonl"
    model = MockModel(['{"name": "Oslo", "country": "NO"}'])
    pipe = Pipeline("{{ n }}", model, City)
    pipe.run_batch_sync([{"n": "x"}], results_file=journal)
    again = pipe.run_batch_sync([{"n": "x"}], results_file=journal, resume=True)
    assert again.succeeded == [City(name="Oslo", country="NO")]
    assert len(model.calls) == 1


def test_history_is_read_and_saved() -> None:
    async def main() -> None:
        store = message_store(":memory:")
        model = FunctionModel(lambda messages, options: f"{len(messages)} messages")
        pipe = Pipeline("{{ q }}", model, history=store)
        first = await pipe.run({"q": "hi"}, save=True)
        assert first.text == "1 messages"
        assert pipe.conversation_id is not None
        second = await pipe.run({"q": "again"}, include_history=True, save=True)
        assert second.text == "3 messages"
        saved = await store.messages(pipe.conversation_id)
        assert [m.text for m in saved] == ["hi", "1 messages", "again", "3 messages"]
        parsed = Pipeline(
            "{{ q }}", MockModel(['{"name": "Rome", "country": "IT"}']), City, history=store
        )
        await parsed.run({"q": "city"}, save=True)
        assert parsed.conversation_id is not None
        kept = await store.messages(parsed.conversation_id)
        assert '"Rome"' in kept[-1].text
        await store.aclose()

    asyncio.run(main())


def test_history_flags_need_a_store() -> None:
    pipe = Pipeline("{{ q }}", MockModel())
    with pytest.raises(ValidationError, match="history store"):
        pipe.run_sync({"q": "x"}, save=True)
    with pytest.raises(ValidationError, match="history store"):
        pipe.run_sync({"q": "x"}, include_history=True)


def test_summary_verbosity_prints_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    Pipeline("{{ q }}", MockModel(["ok"])).run_sync({"q": "x"}, verbosity="summary")
    assert "fake/mock" in capsys.readouterr().err


def test_a_model_can_be_named_by_string() -> None:
    pipe = Pipeline("{{ q }}", "fake/echo")
    assert pipe.run_sync({"q": "echo me"}).text == "echo me"
    assert "fake/echo" in repr(pipe)


def test_plain_names_are_async_and_sync_is_the_twin() -> None:
    import inspect

    assert inspect.iscoroutinefunction(Pipeline.run)
    assert inspect.iscoroutinefunction(Pipeline.run_batch)
    assert not inspect.iscoroutinefunction(Pipeline.run_sync)
    assert not inspect.iscoroutinefunction(Pipeline.run_batch_sync)
    import conduit

    assert conduit.Pipeline is Pipeline
    assert not hasattr(conduit, "Conduit")


def test_every_call_is_recorded_in_the_ledger(tmp_path: Path) -> None:
    from conduit.odometer import SQLiteEventStore

    def reply(messages: list[Message], options: ChatOptions) -> Response:
        return Response(
            content=[TextBlock(text="ok")], usage=Usage(input_tokens=4, output_tokens=1)
        )

    async def main() -> list[tuple[str, int, int]]:
        store = SQLiteEventStore(tmp_path / "usage.sqlite3")
        pipe = Pipeline("{{ q }}", FunctionModel(reply), ledger=store)
        await pipe.run({"q": "one"})
        await pipe.run_batch([{"q": "two"}, {"q": "three"}])
        events = await store.events()
        await store.aclose()
        return [(e.model, e.input_tokens, e.status) for e in events]

    assert asyncio.run(main()) == [("function", 4, 200)] * 3


def test_the_default_ledger_is_the_one_conduit_usage_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conduit.odometer import stats_sync

    monkeypatch.setenv("CONDUIT_DATA_DIR", str(tmp_path))
    with Pipeline("{{ q }}", "fake/echo") as pipe:
        pipe.run_batch_sync([{"q": "a"}, {"q": "b"}])
    assert stats_sync().total().events == 2
    with Pipeline("{{ q }}", "fake/echo", ledger=False) as quiet:
        quiet.run_sync({"q": "c"})
    assert stats_sync().total().events == 2


def test_a_timeout_bounds_each_call_and_is_retried() -> None:
    from conduit import RetryPolicy, Timeout

    calls: list[str] = []

    async def stuck(messages: list[Message], options: ChatOptions) -> str:
        calls.append(messages[-1].text)
        if len(calls) == 1:
            await asyncio.Event().wait()  # the first call never answers
        return "late but fine"

    pipe = Pipeline("{{ q }}", FunctionModel(stuck), timeout=Timeout(total=0.05), ledger=False)
    policy = RetryPolicy(max_retries=1, initial_delay=0)
    result = pipe.run_batch_sync([{"q": "x"}], max_retries=policy)
    assert [r.text for r in result.succeeded] == ["late but fine"]
    assert calls == ["x", "x"]


@pytest.mark.parametrize(
    ("options", "message"),
    [({"timeout": -1}, "timeout"), ({"timeout": True}, "timeout"), ({"ledger": 3}, "ledger")],
)
def test_bad_settings_are_refused_before_anything_runs(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Pipeline("{{ q }}", MockModel(), **options)  # type: ignore[call-overload]
