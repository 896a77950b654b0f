"""Graph workflows: nodes over a typed state, fixed and conditional edges, bounded loops,
and a checkpoint after each node so a failed or killed run resumes where it stopped.

The state is a Pydantic model. A node is a function (plain or async) that takes the
state and returns the new state, or `None` after changing it in place. After a node,
its edge picks the next: `add_edge(a, b)` always goes to `b`; `add_conditional_edge(a,
router)` calls `router(state)` (plain or async), which names the next node (its name or
its function) or `END`. The first node added is the entry unless `set_entry` says
otherwise. `max_steps` bounds the nodes one run executes, so loops end
(`MaxIterationsError`). The graph is checked before it runs: unknown nodes, a node
without an outgoing edge, no entry are `ValidationError`s that say what to fix.

With a checkpoint store (`checkpoints=`: a store, or a URL or path for `checkpoint_store`;
or a `run_id` alone, which uses the SQLite file `flow.sqlite3` in the user data folder),
the run saves the state as
JSON and the next node before the first node and after each one, each save one
transaction; `resume(run_id)` continues from the newest checkpoint (the node that was
running when the process died runs again, so nodes with side effects should tolerate a
repeat).

Example:
    >>> import asyncio
    >>> from pydantic import BaseModel
    >>> class Count(BaseModel):
    ...     n: int = 0
    >>> graph = Graph(Count)
    >>> @graph.node
    ... def inc(state):
    ...     state.n += 1
    >>> graph.add_conditional_edge("inc", lambda s: END if s.n >= 3 else "inc")
    >>> asyncio.run(graph.run(Count())).state.n
    3
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from conduit.core.sync import run_sync
from conduit.errors import StorageError, ValidationError
from conduit.flow.checkpoints import CheckpointSource
from conduit.flow.mermaid import mermaid_flowchart
from conduit.flow.pipelines import call_step
from conduit.storage.checkpoints import Checkpoint

__all__ = ["END", "Graph", "GraphResult", "NodeFunction", "Router"]

S = TypeVar("S", bound=BaseModel)

END = "__end__"
"""Where a run ends: the target of the last edge (`add_edge("review", END)`)."""

NodeFunction = Callable[[Any], Any]
"""A node: `fn(state) -> new state | None`, plain or async."""
Router = Callable[[Any], Any]
"""A conditional edge: `router(state) -> next node name | node function | END`, plain or async."""


@dataclass(slots=True)
class GraphResult(Generic[S]):
    """The end of a run: the final `state`, the `run_id` (when checkpointed), the total
    `steps` (nodes run, before a resume included) and the `path` this call ran.

    Example:
        >>> from pydantic import BaseModel
        >>> class S(BaseModel):
        ...     x: int = 0
        >>> GraphResult(S(), None, 0).steps
        0
    """

    state: S
    run_id: str | None
    steps: int
    path: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Conditional:
    router: Router
    targets: tuple[str, ...] | None


class Graph(Generic[S]):
    """A workflow over a state of type `state_type` (a Pydantic model).

    Example:
        >>> from pydantic import BaseModel
        >>> class Doc(BaseModel):
        ...     text: str = ""
        >>> g = Graph(Doc, name="writer")
        >>> @g.node
        ... def draft(doc):
        ...     return Doc(text="draft")
        >>> g.add_edge(draft, END)
        >>> g.run_sync(Doc()).state.text
        'draft'
    """

    def __init__(
        self,
        state_type: type[S],
        *,
        name: str | None = None,
        max_steps: int = 100,
        checkpoints: CheckpointSource | None = None,
    ) -> None:
        if not (isinstance(state_type, type) and issubclass(state_type, BaseModel)):
            raise ValidationError(f"Graph state must be a Pydantic model class, not {state_type!r}")
        if max_steps < 1:
            raise ValidationError(f"max_steps must be at least 1, not {max_steps}")
        self.state_type = state_type
        self.name = name or state_type.__name__
        self.max_steps = max_steps
        self.checkpoints = checkpoints
        self.entry: str | None = None
        self.nodes: dict[str, NodeFunction] = {}
        self.edges: dict[str, str | _Conditional] = {}

    # -- building -------------------------------------------------------------------

    @overload
    def node(self, fn: NodeFunction, *, name: str | None = None) -> NodeFunction: ...
    @overload
    def node(
        self, fn: None = None, *, name: str | None = None
    ) -> Callable[[NodeFunction], NodeFunction]: ...
    def node(
        self, fn: NodeFunction | None = None, *, name: str | None = None
    ) -> NodeFunction | Callable[[NodeFunction], NodeFunction]:
        """Add a node (also a decorator: `@graph.node` or `@graph.node(name="x")`); its
        name is `name` or the function's name. Returns the function unchanged."""

        def add(function: NodeFunction) -> NodeFunction:
            if not callable(function):
                raise ValidationError(f"a node must be a function, not {type(function).__name__}")
            key = name or getattr(function, "__name__", "")
            if not key or key == "<lambda>":
                raise ValidationError("name a lambda or unnamed callable: node(fn, name=...)")
            if key == END or key in self.nodes:
                raise ValidationError(f"graph {self.name!r} already has a node named {key!r}")
            self.nodes[key] = function
            if self.entry is None:
                self.entry = key
            return function

        return add if fn is None else add(fn)

    def _ref(self, node: str | NodeFunction, *, end_ok: bool = False) -> str:
        if isinstance(node, str):
            key = node
        else:
            found = [k for k, f in self.nodes.items() if f is node]
            if not found:
                raise ValidationError(
                    f"{getattr(node, '__name__', node)!r} is not a node of graph "
                    f"{self.name!r}; add it with graph.node() first"
                )
            key = found[0]
        if key == END and end_ok:
            return key
        if key not in self.nodes:
            known = ", ".join(sorted(self.nodes)) or "none yet"
            raise ValidationError(
                f"graph {self.name!r} has no node {key!r} (nodes: {known}); "
                "add it with graph.node() first"
            )
        return key

    def _check_free(self, source: str) -> None:
        if source in self.edges:
            raise ValidationError(
                f"node {source!r} already has an outgoing edge; use one add_conditional_edge "
                "to choose between several targets"
            )

    def add_edge(self, source: str | NodeFunction, target: str | NodeFunction) -> None:
        """After `source`, always run `target` (or end the run, with `END`)."""
        key = self._ref(source)
        self._check_free(key)
        self.edges[key] = self._ref(target, end_ok=True)

    def add_conditional_edge(
        self,
        source: str | NodeFunction,
        router: Router,
        targets: Sequence[str | NodeFunction] | None = None,
    ) -> None:
        """After `source`, run the node `router(state)` names (or end, with `END`).
        `targets` lists the nodes it may name: checked at run time, drawn by `mermaid()`."""
        key = self._ref(source)
        self._check_free(key)
        if not callable(router):
            raise ValidationError(f"a router must be a function, not {type(router).__name__}")
        allowed = tuple(self._ref(t, end_ok=True) for t in targets) if targets else None
        self.edges[key] = _Conditional(router, allowed)

    def set_entry(self, node: str | NodeFunction) -> None:
        """Start runs at `node` (default: the first node added)."""
        self.entry = self._ref(node)

    def validate(self) -> None:
        """Check the graph is runnable: an entry, and an outgoing edge on every node.

        Example:
            >>> from pydantic import BaseModel
            >>> class S(BaseModel):
            ...     pass
            >>> Graph(S).validate()
            Traceback (most recent call last):
            ...
            conduit.errors.ValidationError: graph 'S' has no nodes; add one with graph.node() ...
        """
        if self.entry is None:
            raise ValidationError(f"graph {self.name!r} has no nodes; add one with graph.node()")
        missing = [n for n in self.nodes if n not in self.edges]
        if missing:
            raise ValidationError(
                f"node(s) {', '.join(map(repr, missing))} of graph {self.name!r} have no "
                "outgoing edge; add add_edge(node, next) or add_edge(node, END)"
            )

    def mermaid(self) -> str:
        """The graph as a Mermaid flowchart (conditional edges dashed).

        Example:
            >>> from pydantic import BaseModel
            >>> class S(BaseModel):
            ...     pass
            >>> g = Graph(S)
            >>> g.add_edge(g.node(lambda s: None, name="only"), END)
            >>> print(g.mermaid())
            flowchart TD
                __start__([start]) --> only
                only --> __end__([end])
        """
        self.validate()
        assert self.entry is not None
        flow: dict[str, tuple[str, ...] | str | None] = {}
        for source, edge in self.edges.items():
            if isinstance(edge, str):
                flow[source] = edge
            else:
                flow[source] = edge.targets
        labels = {}
        for source, edge in self.edges.items():
            if isinstance(edge, _Conditional):
                label = getattr(edge.router, "__name__", "")
                # `<lambda>` is not valid Mermaid text: name such routers generically
                labels[source] = label if label.isidentifier() else "route"
        return mermaid_flowchart(list(self.nodes), self.entry, flow, labels, END)

    # -- running --------------------------------------------------------------------

    async def run(
        self,
        state: S | dict[str, Any],
        *,
        run_id: str | None = None,
        checkpoints: CheckpointSource | None = None,
        max_steps: int | None = None,
    ) -> GraphResult[S]:
        """Run from the entry node until `END`; returns the final state.

        The state given is copied, not changed. Checkpoints go to `checkpoints` (a store,
        or a URL or path opened for this run), else the graph's, else, when `run_id` is
        given, the default SQLite file; a `run_id` already used is refused (resume it).
        """
        from conduit.flow._runner import start_run

        self.validate()
        return await start_run(self, self._state(state), run_id, checkpoints, max_steps)

    async def resume(
        self,
        run_id: str,
        *,
        checkpoints: CheckpointSource | None = None,
        max_steps: int | None = None,
    ) -> GraphResult[S]:
        """Continue a checkpointed run from its newest checkpoint (a finished run just
        returns its final state)."""
        from conduit.flow._runner import resume_run

        self.validate()
        return await resume_run(self, run_id, checkpoints, max_steps)

    def run_sync(
        self,
        state: S | dict[str, Any],
        *,
        run_id: str | None = None,
        checkpoints: CheckpointSource | None = None,
        max_steps: int | None = None,
    ) -> GraphResult[S]:
        """`run` for synchronous code."""
        return run_sync(
            self.run(state, run_id=run_id, checkpoints=checkpoints, max_steps=max_steps)
        )

    def resume_sync(
        self,
        run_id: str,
        *,
        checkpoints: CheckpointSource | None = None,
        max_steps: int | None = None,
    ) -> GraphResult[S]:
        """`resume` for synchronous code."""
        return run_sync(self.resume(run_id, checkpoints=checkpoints, max_steps=max_steps))

    # -- helpers for the runner -------------------------------------------------------

    def _state(self, value: Any) -> S:
        if isinstance(value, self.state_type):
            # Nodes may change the state in place: leave the caller's object as it was.
            return value.model_copy(deep=True)
        try:
            return self.state_type.model_validate(value)
        except PydanticValidationError as exc:
            raise ValidationError(f"graph {self.name!r}: invalid state: {exc}") from None

    def _load(self, text: str, run_id: str) -> S:
        try:
            return self.state_type.model_validate_json(text)
        except PydanticValidationError as exc:
            raise StorageError(
                f"run {run_id!r}: the checkpointed state does not fit {self.state_type.__name__}"
                f" (was the state model changed?): {exc}"
            ) from None

    async def _step(self, node: str, state: S) -> tuple[S, str]:
        """Run one node and pick the next; returns (new state, next node or END)."""
        result = await call_step(self.nodes[node], state)
        if result is not None:
            if not isinstance(result, self.state_type):
                raise ValidationError(
                    f"node {node!r} returned {type(result).__name__}; return the "
                    f"{self.state_type.__name__} state, or None after changing it in place"
                )
            state = result
        edge = self.edges[node]
        if isinstance(edge, str):
            return state, edge
        chosen = await call_step(edge.router, state)
        if callable(chosen) and not isinstance(chosen, str):
            chosen = self._ref(chosen)
        if not isinstance(chosen, str) or (chosen != END and chosen not in self.nodes):
            raise ValidationError(
                f"the router after node {node!r} chose {chosen!r}, which is not a node of "
                f"graph {self.name!r} nor END"
            )
        if edge.targets is not None and chosen not in edge.targets:
            raise ValidationError(
                f"the router after node {node!r} chose {chosen!r}, not one of its targets "
                f"{list(edge.targets)}"
            )
        return state, chosen

    def _checkpoint(
        self, run_id: str, step: int, node: str | None, state: S, last: str | None
    ) -> Checkpoint:
        return Checkpoint(run_id, step, node, state.model_dump_json(), last, self.name)

    def _new_run_id(self) -> str:
        return uuid.uuid4().hex

    def __repr__(self) -> str:
        return f"Graph({self.state_type.__name__}, nodes={list(self.nodes)})"
