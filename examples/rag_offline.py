"""Offline RAG: index a few Markdown notes with the local embedder, ask, show sources.

Run: python examples/rag_offline.py
Uses local/all-minilm-l6-v2 for embeddings (no network) and a FunctionModel as the
"model", so it runs in a second; drop the `model=` argument to answer with the local
SmolLM2 instead.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from conduit.providers.fake import FunctionModel
from conduit.rag import RagChain, Retriever, SQLiteVectorStore, index_path
from conduit.schema import ChatOptions, Message

NOTES = {
    "volcanoes.md": "# Volcanoes\n\nMount Etna in Sicily is one of the most active volcanoes.",
    "baking.md": "# Baking\n\nLet bread dough rise for an hour before baking it.",
    "tides.md": "# Tides\n\nThe moon's gravity pulls the oceans and causes the tides.",
}


def first_source_says(messages: list[Message], options: ChatOptions) -> str:
    # A stand-in model: quote the first context passage and cite it.
    prompt = messages[-1].text
    first = prompt.split("[1] ", 1)[1].split("\n\n[2]")[0].split("\n\nQuestion")[0]
    passage = first.strip().splitlines()[-1]
    return f"{passage} [1]"


async def main() -> None:
    folder = Path(tempfile.mkdtemp())
    for name, text in NOTES.items():
        (folder / name).write_text(text)
    store = SQLiteVectorStore(folder / "index.sqlite3")
    report = await index_path(folder, store)
    print(f"indexed {report.chunks} chunks from {report.files} files")

    chain = RagChain(Retriever(store, k=2), model=FunctionModel(first_source_says))
    for question in ["Which volcano is very active?", "What causes the tides?"]:
        answer = await chain.ask(question)
        print(f"\nQ: {question}\nA: {answer.text}")
        for source in answer.sources:
            print(f"  [{source.number}] {Path(source.source or '').name} ({source.score:.2f})")
    await store.aclose()


if __name__ == "__main__":
    asyncio.run(main())
