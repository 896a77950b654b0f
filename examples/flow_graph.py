"""A graph workflow, offline: a writer/reviewer loop over a typed state, checkpointed to
SQLite after every node, that fails half-way and resumes where it stopped.

`FunctionModel` plays the model, so the example needs no network and no key.

    python examples/flow_graph.py
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from pydantic import BaseModel

from conduit import FunctionModel, Message
from conduit.flow import END, Graph, map_parallel
from conduit.schema import ChatOptions
from conduit.storage.checkpoints_sqlite import SQLiteCheckpointStore


class Article(BaseModel):
    topic: str
    outline: list[str] = []
    sections: list[str] = []
    reviews: int = 0
    approved: bool = False


outage = {"left": 1}  # the model fails once, on the first review


def model_reply(messages: list[Message], options: ChatOptions) -> str:
    prompt = messages[-1].text
    if prompt.startswith("review"):
        if outage["left"]:
            outage["left"] -= 1
            raise ConnectionError("the model is unreachable")
        return "APPROVED" if "polished" in prompt else "polish it"
    if prompt.startswith("polish"):
        return prompt.removeprefix("polish ") + " (polished)"
    if prompt.startswith("outline"):
        return "history; today; future"
    return f"A paragraph on {prompt}."


model = FunctionModel(model_reply)
graph = Graph(Article, name="article", max_steps=10)


async def ask(prompt: str) -> str:
    return (await model.chat(prompt)).text


@graph.node
async def outline(article: Article) -> None:
    article.outline = (await ask(f"outline {article.topic}")).split("; ")


@graph.node
async def write(article: Article) -> None:
    # fan out: one model call per section, at most two at a time, in outline order
    article.sections = await map_parallel(ask, article.outline, concurrency=2)


@graph.node
async def review(article: Article) -> None:
    article.reviews += 1
    article.approved = await ask(f"review {' '.join(article.sections)}") == "APPROVED"


@graph.node
async def polish(article: Article) -> None:
    article.sections = [await ask(f"polish {s}") for s in article.sections]


graph.add_edge(outline, write)
graph.add_edge(write, review)


def verdict(article: Article) -> str:
    return END if article.approved else "polish"


graph.add_conditional_edge(review, verdict, targets=[polish, END])
graph.add_edge(polish, review)


async def main(folder: Path) -> None:
    store = SQLiteCheckpointStore(folder / "flow.sqlite3")
    try:
        try:
            await graph.run(Article(topic="rivers"), run_id="article-1", checkpoints=store)
        except ConnectionError as exc:
            stopped = await store.latest("article-1")
            print(f"run failed ({exc}); it will resume at {stopped.node if stopped else None!r}")
        calls = len(model.calls)
        result = await graph.resume("article-1", checkpoints=store)
        print("resumed path:", result.path, f"({len(model.calls) - calls} model calls)")
        print("sections:", result.state.sections)
        print("reviews:", result.state.reviews, "approved:", result.state.approved)
    finally:
        await store.aclose()
    print()
    print(graph.mermaid())


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(Path(tmp)))
