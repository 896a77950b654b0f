"""`Model` / `ModelAsync`: the framework face's model object over the core (see also
tests/framework for the framework's documented API, row by row)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import BaseModel

from conduit import Model, ModelAsync
from conduit.api import resolve_ref
from conduit.errors import NotFoundError, ValidationError
from conduit.odometer import Odometer
from conduit.providers.fake import MockModel
from conduit.schema import Done, Response, TextBlock, TextDelta, Usage, system, user


class Answer(BaseModel):
    value: int


def _response(text: str) -> Response:
    return Response(content=[TextBlock(text=text)], usage=Usage(input_tokens=3, output_tokens=2))


@pytest.mark.parametrize(
    "given", ["What is 2+2?", user("What is 2+2?"), [system("math"), user("What is 2+2?")]]
)
def test_query_takes_a_string_a_message_or_messages(given: object) -> None:
    upstream = MockModel(["4"])
    assert Model(upstream).query(given).text == "4"  # type: ignore[arg-type]
    assert upstream.calls[0].messages[-1].text == "What is 2+2?"


def test_options_reach_the_model() -> None:
    upstream = MockModel(["ok"])
    Model(upstream).query("hi", temperature=0.2, max_tokens=7, seed=3)
    options = upstream.calls[0].options
    assert (options.temperature, options.max_tokens, options.seed) == (0.2, 7, 3)


def test_cache_answers_repeats_unless_turned_off() -> None:
    upstream = MockModel(["first", "second", "third"])
    model = Model(upstream)
    assert model.query("same").text == "first"
    assert model.query("same").text == "first"
    assert model.query("same", cache=False).text == "second"
    assert len(upstream.calls) == 2


def test_response_model_gives_the_object_as_content_and_counts_usage() -> None:
    odometer = Odometer()
    model = Model(MockModel([_response('{"value": 4}')]), odometer=odometer)
    answer = model.query("2+2?", Answer)
    assert isinstance(answer, Response)
    assert answer.content == Answer(value=4)
    assert answer.usage.input_tokens == 3
    assert odometer.total().input_tokens == 3


def test_stream_sync_and_async() -> None:
    model = Model(MockModel(["one two", "four five"]), odometer=Odometer())
    events = list(model.query("hi", stream=True))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "one two"
    assert isinstance(events[-1], Done)
    assert model.stats().total().events == 1
    typed = list(model.stream_sync("again"))
    assert "".join(e.text for e in typed if isinstance(e, TextDelta)) == "four five"
    assert model.stats().total().events == 2

    async def collect() -> tuple[str, str]:
        aio = ModelAsync(MockModel(["three", "six"]), odometer=Odometer())
        stream = await aio.query_async("hi", stream=True)
        first = "".join([e.text async for e in stream if isinstance(e, TextDelta)])
        second = "".join([e.text async for e in aio.stream("more") if isinstance(e, TextDelta)])
        return first, second

    assert asyncio.run(collect()) == ("three", "six")


def test_plain_names_are_async_and_sync_is_the_twin() -> None:
    import inspect

    assert inspect.isasyncgenfunction(ModelAsync.stream)
    assert inspect.isasyncgenfunction(Model.stream)  # inherited: the async one
    assert not inspect.isasyncgenfunction(Model.stream_sync)
    assert not hasattr(ModelAsync, "stream_async")
    # The framework's documented pair keeps its names: query (sync) and query_async.
    assert inspect.iscoroutinefunction(ModelAsync.query_async)
    assert not inspect.iscoroutinefunction(Model.query)


def test_stats_count_this_model_only() -> None:
    shared = Odometer()
    a = Model(MockModel([_response("a")], name="a", repeat_last=True), odometer=shared)
    b = Model(MockModel([_response("b")], name="b"), odometer=shared)
    a.query("x")
    a.query("y")
    b.query("z")
    assert a.stats().total().events == 2
    assert a.stats().total().input_tokens == 6
    assert b.stats().total().events == 1
    assert "fake" in str(a.stats())


def test_verbose_summary(capsys: pytest.CaptureFixture[str]) -> None:
    Model(MockModel(["ok"])).query("hi", verbose="vv")
    assert "fake/mock" in capsys.readouterr().err


def test_models_and_validate_model() -> None:
    by_provider = Model.models()
    assert "gpt-4o" in by_provider["openai"]
    assert "smollm2-135m-instruct" in by_provider["local"]
    assert list(Model.models("anthropic")) == ["anthropic"]
    assert Model.validate_model("anthropic/claude-sonnet-4-5")
    assert not Model.validate_model("nobody/nothing")


def test_bare_names_resolve_through_the_catalog() -> None:
    assert resolve_ref("gpt-4o-mini") == "openai/gpt-4o-mini"
    assert Model("gpt-4o-mini").ref == "openai/gpt-4o-mini"
    with pytest.raises(NotFoundError, match="unknown model 'no-such-model-anywhere'"):
        resolve_ref("no-such-model-anywhere")
    with pytest.raises(NotFoundError, match="openai/gpt-4o-mini"):  # a close match
        Model("gpt-4o-mni")


def test_tokenize_counts_without_a_key_and_without_building_the_model() -> None:
    model = Model("openai/gpt-4o")  # no OPENAI_API_KEY in tests: nothing is built yet
    assert model.tokenize("hello world") == 2  # exact (tiktoken)
    assert Model("anthropic/claude-sonnet-4-5").tokenize("hi there") >= 1  # an estimate


def test_a_missing_key_shows_up_on_first_query_as_a_value() -> None:
    from conduit.errors import AuthenticationError

    model = Model("openai/gpt-4o")
    error = model.query("hi")
    assert isinstance(error, AuthenticationError)
    assert "OPENAI_API_KEY" in str(error)
    assert error.info.category == "fix_credentials"


def test_from_server_talks_to_an_openai_compatible_server() -> None:
    from tests.support.openai_server import REPLY, OpenAITestServer

    server = OpenAITestServer().start()
    try:
        with Model.from_server("local/default", url=server.base_url, api_key="sk-x") as model:
            assert isinstance(model, Model)
            assert model.query("hi").text == REPLY
            events = model.query("hi", stream=True, cache=False)
            assert "".join(e.text for e in events if isinstance(e, TextDelta)) == REPLY
    finally:
        server.stop()


def test_repr() -> None:
    assert repr(Model(MockModel())) == "Model('fake/mock')"
    assert repr(ModelAsync("fake/echo")) == "ModelAsync('fake/echo')"


def test_async_context_closes() -> None:
    async def main() -> str:
        async with ModelAsync(MockModel(["ok"])) as model:
            return (await model.query_async("hi")).text

    assert asyncio.run(main()) == "ok"


def _priced(text: str, cost: float) -> Response:
    return Response(
        content=[TextBlock(text=text)], usage=Usage(input_tokens=3, output_tokens=2), cost=cost
    )


def test_every_query_is_recorded_in_the_given_ledger_and_a_cache_hit_costs_nothing(
    tmp_path: Path,
) -> None:
    from conduit.errors import RateLimitError
    from conduit.odometer import SQLiteEventStore
    from conduit.providers.fake import FunctionModel

    async def main() -> list[tuple[str, float | None, int | None]]:
        store = SQLiteEventStore(tmp_path / "ledger.sqlite3")
        model = ModelAsync(MockModel([_priced("a", 0.25)], repeat_last=True), ledger=store)
        await model.query_async("same", cache=True)  # query_async's default is no cache
        await model.query_async("same", cache=True)  # from the cache: recorded at cost 0
        _ = [e async for e in model.stream("streamed", cache=False)]

        def fail(messages: list[object], options: object) -> str:
            raise RateLimitError("slow down", status_code=429)

        failing = ModelAsync(FunctionModel(fail), ledger=store)
        assert isinstance(await failing.query_async("hi"), RateLimitError)  # a value
        await model.aclose()
        events = await store.events()
        await store.aclose()
        return [(e.model, e.cost, e.status) for e in events]

    assert asyncio.run(main()) == [
        ("mock", 0.25, 200),
        ("mock", 0.0, 200),
        ("mock", 0.25, 200),
        ("function", None, 429),
    ]


def test_the_default_ledger_is_the_one_conduit_usage_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conduit.odometer import stats_sync

    monkeypatch.setenv("CONDUIT_DATA_DIR", str(tmp_path))
    with Model("fake/echo") as model:
        model.query("hi")
        list(model.stream_sync("there"))
    report = stats_sync(by=["provider", "model", "status"])
    assert [(r.key, r.events) for r in report.rows] == [(("fake", "echo", 200), 2)]
    with Model("fake/echo", ledger=False) as quiet:
        quiet.query("not recorded")
    assert stats_sync().total().events == 2
    other = tmp_path / "elsewhere.sqlite3"
    with Model("fake/echo", ledger=str(other)) as model:
        model.query("to a named ledger")
    assert asyncio.run(_count(other)) == 1


async def _count(path: Path) -> int:
    from conduit.odometer import SQLiteEventStore

    store = SQLiteEventStore(path)
    try:
        return await store.count()
    finally:
        await store.aclose()


def test_a_bad_ledger_is_refused() -> None:
    with pytest.raises(ValidationError, match="ledger must be"):
        Model(MockModel(), ledger=42)  # type: ignore[arg-type]


def test_two_thousand_queries_leave_the_session_odometer_bounded() -> None:
    from conduit.framework import session_odometer

    assert session_odometer().max_events == 10_000
    assert session_odometer().events.maxlen == 10_000
    odometer = Odometer(max_events=500)
    model = Model(MockModel(["ok"], repeat_last=True), odometer=odometer, ledger=False)
    for n in range(2_000):
        model.query(f"question {n}")
    assert len(odometer.events) == 500  # the latest 500 kept
    assert odometer.events[-1].model == "mock"
    assert odometer.total().events == 2_000  # the total stays exact
    assert model.stats().total().events == 500
