"""Flow: pipelines of plain functions, parallel fan-out/fan-in, and graph workflows.

- `pipeline(a, b, c)`: run steps (plain or async functions) one after another;
  `parallel(a, b, concurrency=...)` runs steps on the same input at once;
  `map_parallel(step, items, concurrency=...)` runs one step over many items.
- `Graph(State)`: nodes over a typed (Pydantic) state, fixed and conditional edges,
  `END`, a `max_steps` bound for loops, a checkpoint after every node (SQLite by default,
  stores in `conduit.storage`) so a failed run resumes with `graph.resume(run_id)`, and
  `graph.mermaid()` to draw it. `checkpoint_store(url)` opens a store from a path or a
  `postgresql://` URL; the store classes are re-exported from `conduit.storage`.

Example:
    >>> import asyncio
    >>> from pydantic import BaseModel
    >>> class Essay(BaseModel):
    ...     words: list[str] = []
    >>> graph = Graph(Essay, checkpoints=MemoryCheckpointStore())
    >>> @graph.node
    ... async def write(essay):
    ...     essay.words.append("word")
    >>> graph.add_conditional_edge(write, lambda e: END if len(e.words) == 2 else write)
    >>> result = asyncio.run(graph.run(Essay(), run_id="essay-1"))
    >>> result.state.words, result.steps
    (['word', 'word'], 2)
"""

from conduit.flow.checkpoints import CheckpointSource, checkpoint_store
from conduit.flow.graph import END, Graph, GraphResult, NodeFunction, Router
from conduit.flow.pipelines import Pipeline, Step, map_parallel, parallel, pipeline
from conduit.storage.checkpoints import Checkpoint, CheckpointStore, MemoryCheckpointStore
from conduit.storage.checkpoints_postgres import PostgresCheckpointStore
from conduit.storage.checkpoints_sqlite import SQLiteCheckpointStore

__all__ = [
    "Checkpoint",
    "CheckpointSource",
    "CheckpointStore",
    "END",
    "Graph",
    "GraphResult",
    "MemoryCheckpointStore",
    "NodeFunction",
    "Pipeline",
    "PostgresCheckpointStore",
    "Router",
    "SQLiteCheckpointStore",
    "Step",
    "checkpoint_store",
    "map_parallel",
    "parallel",
    "pipeline",
]
