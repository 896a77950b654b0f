"""Executing a `Graph`: the step loop, checkpoints, and resume.

Example:
    >>> import asyncio
    >>> from pydantic import BaseModel
    >>> from conduit.flow.graph import END, Graph
    >>> from conduit.storage.checkpoints import MemoryCheckpointStore
    >>> class S(BaseModel):
    ...     n: int = 0
    >>> g = Graph(S)
    >>> g.add_edge(g.node(lambda s: S(n=s.n + 1), name="inc"), END)
    >>> store = MemoryCheckpointStore()
    >>> asyncio.run(start_run(g, S(), "r1", store, None)).state.n
    1
    >>> [(c.step, c.node) for c in asyncio.run(store.history("r1"))]
    [(0, 'inc'), (1, None)]
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from conduit.errors import MaxIterationsError, ValidationError
from conduit.flow.checkpoints import CheckpointSource, checkpoint_store
from conduit.storage.checkpoints import CheckpointStore

if TYPE_CHECKING:
    from conduit.flow.graph import Graph, GraphResult

__all__ = ["resume_run", "start_run"]

S = TypeVar("S", bound=BaseModel)


def _store(
    graph: Graph[S], given: CheckpointSource | None, run_id: str | None
) -> tuple[CheckpointStore | None, bool]:
    """The store to use and whether this run opened it (and so closes it)."""
    source = given if given is not None else graph.checkpoints
    if source is None:
        return (checkpoint_store(), True) if run_id is not None else (None, False)
    if isinstance(source, str | os.PathLike):
        return checkpoint_store(source), True
    return source, False


async def start_run(
    graph: Graph[S],
    state: S,
    run_id: str | None,
    given: CheckpointSource | None,
    max_steps: int | None,
) -> GraphResult[S]:
    store, owned = _store(graph, given, run_id)
    assert graph.entry is not None  # validated
    try:
        if store is not None:
            run_id = run_id or graph._new_run_id()
            if await store.latest(run_id) is not None:
                raise ValidationError(
                    f"run {run_id!r} already has checkpoints; continue it with "
                    "graph.resume(run_id), or start a new run with another run_id"
                )
            await store.save(graph._checkpoint(run_id, 0, graph.entry, state, None))
        return await _loop(graph, state, graph.entry, 0, run_id, store, max_steps)
    finally:
        if owned and store is not None:
            await store.aclose()


async def resume_run(
    graph: Graph[S], run_id: str, given: CheckpointSource | None, max_steps: int | None
) -> GraphResult[S]:
    store, owned = _store(graph, given, run_id)
    assert store is not None  # a run_id always gives a store
    try:
        checkpoint = await store.latest(run_id)
        if checkpoint is None:
            raise ValidationError(
                f"no checkpoints for run {run_id!r} in {store!r}; check the run id and store"
            )
        if checkpoint.graph and checkpoint.graph != graph.name:
            raise ValidationError(
                f"run {run_id!r} belongs to graph {checkpoint.graph!r}, not {graph.name!r}"
            )
        if checkpoint.node is not None and checkpoint.node not in graph.nodes:
            raise ValidationError(
                f"run {run_id!r} stopped before node {checkpoint.node!r}, which graph "
                f"{graph.name!r} no longer has"
            )
        state = graph._load(checkpoint.state, run_id)
        from conduit.flow.graph import GraphResult

        if checkpoint.node is None:
            return GraphResult(state, run_id, checkpoint.step, [])
        return await _loop(graph, state, checkpoint.node, checkpoint.step, run_id, store, max_steps)
    finally:
        if owned:
            await store.aclose()


async def _loop(
    graph: Graph[S],
    state: S,
    node: str,
    step: int,
    run_id: str | None,
    store: CheckpointStore | None,
    max_steps: int | None,
) -> GraphResult[S]:
    from conduit.flow.graph import END, GraphResult

    limit = max_steps if max_steps is not None else graph.max_steps
    path: list[str] = []
    current: str = node
    while True:
        if step >= limit:
            raise MaxIterationsError(
                f"graph {graph.name!r} ran {step} steps without reaching END (max_steps="
                f"{limit}); check the loop's exit condition or raise max_steps"
            )
        state, following = await graph._step(current, state)
        step += 1
        path.append(current)
        nxt = None if following == END else following
        if store is not None and run_id is not None:
            await store.save(graph._checkpoint(run_id, step, nxt, state, current))
        if nxt is None:
            return GraphResult(state, run_id, step, path)
        current = nxt
