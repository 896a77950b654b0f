"""Offline end to end: index a folder of Markdown with the local embedder, ask the local
model, and the right source comes back first. Asserts retrieval, not answer wisdom."""

from __future__ import annotations

from pathlib import Path

import pytest

from conduit.rag.chain import RagAnswer, RagChain
from conduit.rag.indexing import index_path
from conduit.rag.retriever import Retriever
from conduit.rag.stores.sqlite import SQLiteVectorStore
from conduit.storage import MemoryCache

DOCS = {
    "volcanoes.md": "# Volcanoes\n\nA volcano erupts when magma rises through the crust. "
    "Lava flows and ash clouds follow an eruption.\n\n## Famous ones\n\nMount Etna in "
    "Sicily is one of the most active volcanoes in the world.",
    "baking.md": "# Baking bread\n\nKnead the dough, let it rise for an hour, then bake "
    "the loaf at 220 degrees until the crust is brown.",
    "python.md": "# Python lists\n\nA list holds items in order. Append adds an item to "
    "the end; sort orders the items in place.",
    "tides.md": "# Ocean tides\n\nThe moon's gravity pulls the oceans, which causes high "
    "and low tides twice a day.",
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    root.mkdir()
    for name, text in DOCS.items():
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Which volcano in Sicily is very active?", "volcanoes.md"),
        ("How long should dough rise before baking?", "baking.md"),
        ("How do I add an item to the end of a list?", "python.md"),
        ("What causes the tides?", "tides.md"),
    ],
)
async def test_the_right_source_comes_back_first(
    folder: Path, tmp_path: Path, question: str, expected: str
) -> None:
    store = SQLiteVectorStore(tmp_path / "rag.sqlite3")
    progress: list[tuple[int, int]] = []
    report = await index_path(
        folder, store, cache=MemoryCache(), on_progress=lambda d, t: progress.append((d, t))
    )
    assert report.files == 4
    assert report.chunks >= 4
    assert progress[-1] == (report.chunks,) * 2
    retriever = Retriever(store)  # the default, offline local/all-minilm-l6-v2
    hits = await retriever.retrieve(question)
    assert Path(hits[0][0].metadata["source"]).name == expected
    await store.aclose()


async def test_local_model_answers_with_the_sources(folder: Path) -> None:
    from conduit.rag.stores.memory import MemoryVectorStore

    store = MemoryVectorStore()
    await index_path(folder, store)
    chain = RagChain(Retriever(store, k=2))  # the default local model, no network
    events = [e async for e in chain.stream("What causes the tides?", max_tokens=24)]
    answer = events[-1]
    assert isinstance(answer, RagAnswer)
    assert Path(answer.sources[0].source or "").name == "tides.md"
    assert answer.text.strip()
    assert answer.usage.output_tokens > 0
