"""Checkpoints of graph runs (`conduit.flow`): the protocol and the in-memory store.

A checkpoint is written after each node of a run: which node runs next (`None` once the
run has ended), the state as JSON, and the step count. Resuming a run reads its latest
checkpoint. Stores keep every checkpoint of a run, in order, until `delete`. The state
is opaque JSON text here; `conduit.flow` turns it into the graph's typed state.
`SQLiteCheckpointStore` (in `checkpoints_sqlite`) is the persistent default.

Example:
    >>> import asyncio
    >>> async def main():
    ...     store = MemoryCheckpointStore()
    ...     await store.save(Checkpoint("run-1", 1, "review", '{"n": 1}', last_node="draft"))
    ...     return (await store.latest("run-1")).node
    >>> asyncio.run(main())
    'review'
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["Checkpoint", "CheckpointStore", "MemoryCheckpointStore"]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A run's position after a step: `node` runs next (`None`: the run has ended),
    `state` is the state as JSON, `last_node` the node that just ran (`None` at the start).

    Example:
        >>> Checkpoint("r", 0, "start", "{}").done
        False
    """

    run_id: str
    step: int
    node: str | None
    state: str
    last_node: str | None = None
    graph: str = ""
    created_at: float = field(default_factory=time.time)

    @property
    def done(self) -> bool:
        """Whether the run had ended at this checkpoint."""
        return self.node is None


@runtime_checkable
class CheckpointStore(Protocol):
    """Where graph runs keep their checkpoints.

    Example:
        >>> isinstance(MemoryCheckpointStore(), CheckpointStore)
        True
    """

    async def save(self, checkpoint: Checkpoint) -> None:
        """Keep one checkpoint (one transaction); a run's step numbers are unique."""
        ...

    async def latest(self, run_id: str) -> Checkpoint | None:
        """The run's newest checkpoint, or `None` when the run has none."""
        ...

    async def history(self, run_id: str) -> list[Checkpoint]:
        """All the run's checkpoints, oldest first."""
        ...

    async def delete(self, run_id: str) -> None:
        """Forget the run."""
        ...

    async def aclose(self) -> None:
        """Release the store's resources."""
        ...


class MemoryCheckpointStore:
    """Checkpoints in a dict: for tests and runs that need no resume after a crash.

    Example:
        >>> MemoryCheckpointStore()
        MemoryCheckpointStore(runs=0)
    """

    def __init__(self) -> None:
        self._runs: dict[str, list[Checkpoint]] = {}

    async def save(self, checkpoint: Checkpoint) -> None:
        """Keep one checkpoint; a step already kept for the run is replaced."""
        kept = self._runs.setdefault(checkpoint.run_id, [])
        if not kept or kept[-1].step < checkpoint.step:  # the usual case: the next step
            kept.append(checkpoint)
            return
        kept[:] = [c for c in kept if c.step != checkpoint.step]
        kept.append(checkpoint)
        kept.sort(key=lambda c: c.step)

    async def latest(self, run_id: str) -> Checkpoint | None:
        """The run's newest checkpoint."""
        kept = self._runs.get(run_id)
        return kept[-1] if kept else None

    async def history(self, run_id: str) -> list[Checkpoint]:
        """The run's checkpoints, oldest first."""
        return list(self._runs.get(run_id, ()))

    async def delete(self, run_id: str) -> None:
        """Forget the run."""
        self._runs.pop(run_id, None)

    async def aclose(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"MemoryCheckpointStore(runs={len(self._runs)})"
