"""Graph workflows: running, routing, bounds, validation, checkpoints, resume, Mermaid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from conduit.errors import MaxIterationsError, StorageError, ValidationError
from conduit.flow import (
    END,
    Graph,
    MemoryCheckpointStore,
    PostgresCheckpointStore,
    SQLiteCheckpointStore,
    checkpoint_store,
)
from conduit.providers.fake import FunctionModel
from conduit.schema import ChatOptions, Message
from conduit.storage.checkpoints import Checkpoint
from tests.support.postgres_server import postgres_server


class Essay(BaseModel):
    topic: str
    draft: str = ""
    reviews: int = 0
    approved: bool = False


def _writer(messages: list[Message], options: ChatOptions) -> str:
    prompt = messages[-1].text
    if prompt.startswith("review:"):
        # approve once the draft has been revised twice
        return "APPROVED" if prompt.count("(revised)") >= 2 else "needs work"
    if prompt.startswith("revise:"):
        return prompt.removeprefix("revise:").strip() + " (revised)"
    return f"An essay about {prompt}"


def essay_graph(model: FunctionModel, **kwargs: Any) -> Graph[Essay]:
    graph = Graph(Essay, name="essay", **kwargs)

    @graph.node
    async def write(essay: Essay) -> Essay:
        text = (await model.chat(essay.topic)).text
        return essay.model_copy(update={"draft": text})

    @graph.node
    async def review(essay: Essay) -> None:
        verdict = (await model.chat(f"review: {essay.draft}")).text
        essay.reviews += 1
        essay.approved = verdict == "APPROVED"

    @graph.node
    async def revise(essay: Essay) -> None:
        essay.draft = (await model.chat(f"revise: {essay.draft}")).text

    async def route(essay: Essay) -> str:
        return END if essay.approved else "revise"

    graph.add_edge(write, review)
    graph.add_conditional_edge(review, route, targets=[revise, END])
    graph.add_edge(revise, review)
    return graph


async def test_a_model_driven_graph_loops_until_approved() -> None:
    model = FunctionModel(_writer)
    result = await essay_graph(model).run(Essay(topic="rivers"))
    assert result.state.approved
    assert result.state.draft == "An essay about rivers (revised) (revised)"
    assert result.state.reviews == 3
    assert result.path == ["write", "review", "revise", "review", "revise", "review"]
    assert result.steps == len(result.path)
    assert result.run_id is None
    assert len(model.calls) == len(result.path)


async def test_state_may_be_given_as_a_dict_and_run_sync_agrees() -> None:
    graph = essay_graph(FunctionModel(_writer))
    from_dict = await graph.run({"topic": "tides"})
    assert from_dict.state == graph.run_sync(Essay(topic="tides")).state


async def test_max_steps_bounds_a_loop() -> None:
    graph = essay_graph(FunctionModel(lambda m, o: "needs work"), max_steps=5)
    with pytest.raises(MaxIterationsError, match="max_steps=5"):
        await graph.run(Essay(topic="x"))
    with pytest.raises(MaxIterationsError, match="max_steps=2"):
        await graph.run(Essay(topic="x"), max_steps=2)


async def test_every_step_is_checkpointed() -> None:
    store = MemoryCheckpointStore()
    graph = essay_graph(FunctionModel(_writer), checkpoints=store)
    result = await graph.run(Essay(topic="rain"), run_id="r1")
    history = await store.history("r1")
    assert [c.step for c in history] == list(range(len(result.path) + 1))
    assert [c.last_node for c in history] == [None, *result.path]
    assert [c.node for c in history] == [*result.path, None]
    assert {c.graph for c in history} == {"essay"}
    assert Essay.model_validate_json(history[-1].state) == result.state


async def test_a_failed_run_resumes_at_the_failed_node() -> None:
    store = MemoryCheckpointStore()
    failures = {"revise": 1}

    def flaky(messages: list[Message], options: ChatOptions) -> str:
        if messages[-1].text.startswith("revise:") and failures["revise"]:
            failures["revise"] -= 1
            raise RuntimeError("the model fell over")
        return _writer(messages, options)

    model = FunctionModel(flaky)
    graph = essay_graph(model)
    with pytest.raises(RuntimeError, match="fell over"):
        await graph.run(Essay(topic="snow"), run_id="r2", checkpoints=store)
    stopped = await store.latest("r2")
    assert stopped is not None
    assert stopped.node == "revise"
    calls_before = len(model.calls)

    result = await graph.resume("r2", checkpoints=store)
    clean = await essay_graph(FunctionModel(_writer)).run(Essay(topic="snow"))
    assert result.state == clean.state
    assert result.path == clean.path[clean.path.index("revise") :]
    assert result.steps == clean.steps
    # write and the first review did not run again
    assert len(model.calls) - calls_before == len(result.path)

    again = await graph.resume("r2", checkpoints=store)  # finished: nothing runs
    assert (again.state, again.path, again.steps) == (result.state, [], result.steps)


async def test_run_id_alone_uses_the_default_sqlite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONDUIT_DATA_DIR", str(tmp_path))
    graph = essay_graph(FunctionModel(_writer))
    result = await graph.run(Essay(topic="fog"), run_id="default-1")
    store = SQLiteCheckpointStore(tmp_path / "flow.sqlite3")
    try:
        latest = await store.latest("default-1")
        assert latest is not None
        assert latest.done
        assert Essay.model_validate_json(latest.state) == result.state
    finally:
        await store.aclose()
    assert (await graph.resume("default-1")).state == result.state
    with pytest.raises(ValidationError, match="already has checkpoints"):
        await graph.run(Essay(topic="fog"), run_id="default-1")


async def test_a_store_without_run_id_gets_a_fresh_run_id() -> None:
    store = MemoryCheckpointStore()
    graph = essay_graph(FunctionModel(_writer), checkpoints=store)
    first = await graph.run(Essay(topic="a"))
    second = await graph.run(Essay(topic="b"))
    assert first.run_id
    assert second.run_id
    assert first.run_id != second.run_id
    assert (await graph.resume(first.run_id)).state == first.state


async def test_resume_refuses_unknown_or_foreign_runs() -> None:
    store = MemoryCheckpointStore()
    graph = essay_graph(FunctionModel(_writer), checkpoints=store)
    with pytest.raises(ValidationError, match="no checkpoints for run 'nope'"):
        await graph.resume("nope")
    await store.save(Checkpoint("other", 0, "write", '{"topic": "x"}', graph="something-else"))
    with pytest.raises(ValidationError, match="belongs to graph 'something-else'"):
        await graph.resume("other")
    await store.save(Checkpoint("gone", 0, "removed", '{"topic": "x"}', graph="essay"))
    with pytest.raises(ValidationError, match="no longer has"):
        await graph.resume("gone")
    await store.save(
        Checkpoint("bad", 0, "write", '{"topic": 5, "reviews": "many"}', graph="essay")
    )
    with pytest.raises(StorageError, match="does not fit Essay"):
        await graph.resume("bad")


class Box(BaseModel):
    value: int = 0


def _graph() -> Graph[Box]:
    return Graph(Box)


def test_validation_errors_say_what_to_fix() -> None:
    with pytest.raises(ValidationError, match="has no nodes"):
        _graph().validate()
    with pytest.raises(ValidationError, match="Pydantic model class"):
        Graph(dict)  # type: ignore[type-var]
    with pytest.raises(ValidationError, match="max_steps"):
        Graph(Box, max_steps=0)

    g = _graph()
    g.node(lambda b: None, name="a")
    with pytest.raises(ValidationError, match=r"'a'.* no outgoing edge"):
        g.validate()
    with pytest.raises(ValidationError, match="has no node 'b'"):
        g.add_edge("a", "b")
    with pytest.raises(ValidationError, match="already has a node named 'a'"):
        g.node(lambda b: None, name="a")
    with pytest.raises(ValidationError, match="name a lambda"):
        g.node(lambda b: None)
    with pytest.raises(ValidationError, match="must be a function"):
        g.node(42)  # type: ignore[call-overload]
    with pytest.raises(ValidationError, match="is not a node"):
        g.add_edge(len, "a")
    with pytest.raises(ValidationError, match="router must be a function"):
        g.add_conditional_edge("a", "b")  # type: ignore[arg-type]
    g.add_edge("a", END)
    with pytest.raises(ValidationError, match="already has an outgoing edge"):
        g.add_edge("a", END)
    with pytest.raises(ValidationError, match="invalid state"):
        g.run_sync({"value": "not a number"})


async def test_bad_node_results_and_routes_are_errors() -> None:
    g = _graph()
    g.add_edge(g.node(lambda b: 42, name="wrong"), END)
    with pytest.raises(ValidationError, match="returned int"):
        await g.run(Box())

    g = _graph()
    g.node(lambda b: None, name="start")
    g.node(lambda b: None, name="other")
    g.add_conditional_edge("start", lambda b: "nowhere")
    g.add_edge("other", END)
    with pytest.raises(ValidationError, match="chose 'nowhere'"):
        await g.run(Box())

    g = _graph()
    g.node(lambda b: None, name="start")
    g.node(lambda b: None, name="other")
    g.add_conditional_edge("start", lambda b: "other", targets=[END])
    g.add_edge("other", END)
    with pytest.raises(ValidationError, match="not one of its targets"):
        await g.run(Box())


async def test_set_entry_and_decorator_with_name() -> None:
    g = _graph()

    @g.node(name="double")
    def twice(box: Box) -> Box:
        return Box(value=box.value * 2)

    @g.node
    def inc(box: Box) -> None:
        box.value += 1

    g.add_edge(inc, "double")
    g.add_edge("double", END)
    g.set_entry(inc)
    result = await g.run(Box(value=4))
    assert (result.state.value, result.path) == ((4 + 1) * 2, ["inc", "double"])
    assert repr(g) == "Graph(Box, nodes=['double', 'inc'])"


def test_mermaid_draws_every_edge() -> None:
    text = essay_graph(FunctionModel(_writer)).mermaid()
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0] == "flowchart TD"
    assert "__start__([start]) --> write" in lines
    assert "write --> review" in lines
    assert "review -. route .-> revise" in lines
    assert "review -. route .-> __end__([end])" in lines
    assert "revise --> review" in lines

    g = _graph()
    g.node(lambda b: None, name="a")
    g.add_conditional_edge("a", lambda b: END)
    assert g.mermaid().splitlines()[-1] == "    a -.-> a_route{{route}}"


async def test_run_copies_the_given_state() -> None:
    given = Essay(topic="copy")
    result = await essay_graph(FunctionModel(_writer)).run(given)
    assert given == Essay(topic="copy")
    assert result.state != given


async def test_checkpoints_may_be_a_path_or_url(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    graph = essay_graph(FunctionModel(_writer), checkpoints=str(path))
    first = await graph.run(Essay(topic="paths"), run_id="p1")
    assert (await graph.resume("p1")).state == first.state
    second = await graph.run(Essay(topic="url"), run_id="p2", checkpoints=f"sqlite:///{path}")
    store = checkpoint_store(path)
    try:
        assert {c.run_id for c in [*await store.history("p1"), *await store.history("p2")]} == {
            "p1",
            "p2",
        }
        latest = await store.latest("p2")
        assert latest is not None
        assert Essay.model_validate_json(latest.state) == second.state
    finally:
        await store.aclose()


async def test_checkpoints_in_postgres_resume_a_failed_run() -> None:
    url = await postgres_server().new_database()
    assert isinstance(checkpoint_store(url), PostgresCheckpointStore)
    failures = ["down"]

    def flaky(messages: list[Message], options: ChatOptions) -> str:
        if messages[-1].text.startswith("review:") and failures:
            raise RuntimeError(failures.pop())
        return _writer(messages, options)

    graph = essay_graph(FunctionModel(flaky), checkpoints=url)
    with pytest.raises(RuntimeError, match="down"):
        await graph.run(Essay(topic="pg"), run_id="pg-1")
    resumed = await graph.resume("pg-1")
    assert resumed.state == (await essay_graph(FunctionModel(_writer)).run(Essay(topic="pg"))).state
    assert resumed.path[0] == "review"


def test_checkpoint_store_names() -> None:
    assert isinstance(checkpoint_store(":memory:"), MemoryCheckpointStore)
    assert isinstance(checkpoint_store("postgres://h/db"), PostgresCheckpointStore)
    sqlite = checkpoint_store("sqlite:///some/where.sqlite3")
    assert isinstance(sqlite, SQLiteCheckpointStore)
    assert sqlite.path == "some/where.sqlite3"


def test_sync_resume_and_mermaid_with_two_ends() -> None:
    store = MemoryCheckpointStore()
    g = _graph()
    g.node(lambda b: Box(value=b.value + 1), name="inc")
    g.node(lambda b: None, name="other")
    g.add_conditional_edge("inc", lambda b: END if b.value > 1 else "other", ["other", END])
    g.add_edge("other", END)
    done = g.run_sync(Box(value=5), run_id="s1", checkpoints=store)
    assert g.resume_sync("s1", checkpoints=store).state == done.state
    ends = [line for line in g.mermaid().splitlines() if "__end__" in line]
    assert len(ends) == 2
    assert sum("__end__([end])" in line for line in ends) == 1  # the shape is declared once
