"""A small checkpointed graph, run in a subprocess by the kill-and-resume test.

`python -m tests.flow.graph_app DB RUN_ID LOG MARKER` runs the graph with SQLite
checkpoints in DB; the `work` node appends to LOG each time it really runs, and on its
second run writes MARKER and hangs, so the test can SIGKILL the process mid-node.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from pydantic import BaseModel

from conduit.flow import END, Graph
from conduit.storage.checkpoints_sqlite import SQLiteCheckpointStore

ROUNDS = 3


class Job(BaseModel):
    n: int = 0
    log: list[str] = []


def build(log: Path, marker: Path | None = None, hang_at: int | None = None) -> Graph[Job]:
    graph = Graph(Job, name="job")

    def note(name: str, path: Path = log) -> None:
        with path.open("a") as f:
            f.write(name + "\n")

    @graph.node
    async def prepare(job: Job) -> None:
        note("prepare")
        job.log.append("prepare")

    @graph.node
    async def work(job: Job) -> None:
        note("work")
        job.n += 1
        if hang_at is not None and job.n == hang_at and marker is not None:
            note("hanging", marker)
            await asyncio.sleep(3600)
        job.log.append(f"work {job.n}")

    @graph.node
    def finish(job: Job) -> Job:
        note("finish")
        return job.model_copy(update={"log": [*job.log, "finish"]})

    graph.add_edge(prepare, work)
    graph.add_conditional_edge(work, lambda job: finish if job.n >= ROUNDS else work)
    graph.add_edge(finish, END)
    return graph


async def main(db: str, run_id: str, log: str, marker: str) -> None:
    store = SQLiteCheckpointStore(db)
    try:
        await build(Path(log), Path(marker), hang_at=2).run(Job(), run_id=run_id, checkpoints=store)
    finally:
        await store.aclose()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
