"""Indexing: load files, split them, embed the chunks in batches, store them.

Example:
    >>> import asyncio, pathlib, tempfile
    >>> from conduit.providers.fake import HashEmbedder
    >>> from conduit.rag.stores.memory import MemoryVectorStore
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.md").write_text("# A\\nApples are red.")
    >>> store = MemoryVectorStore()
    >>> report = asyncio.run(index_path(folder, store, HashEmbedder(dimensions=8)))
    >>> report.files, report.chunks
    (1, 1)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from conduit.core.protocols import Embedder
from conduit.rag.documents import Document
from conduit.rag.embedding import BatchEmbedder
from conduit.rag.loaders import load_directory
from conduit.rag.splitters import MarkdownSplitter, RecursiveSplitter, Splitter
from conduit.rag.stores.base import VectorStore
from conduit.schema import Usage
from conduit.storage.cache import CacheBackend

__all__ = ["IndexReport", "index_documents", "index_path"]


@dataclass(slots=True)
class IndexReport:
    """What an indexing run did.

    Example:
        >>> IndexReport(files=2, chunks=5).chunks
        5
    """

    files: int = 0
    chunks: int = 0
    ids: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)


def _split(documents: Sequence[Document], splitter: Splitter | None) -> list[Document]:
    if splitter is not None:
        return splitter.split_documents(documents)
    # Markdown by its headers, everything else by paragraphs, lines and sentences
    markdown = MarkdownSplitter(chunk_size=1000, overlap=0)
    plain = RecursiveSplitter(chunk_size=1000, overlap=100)
    out: list[Document] = []
    for doc in documents:
        chooser = markdown if doc.metadata.get("type") == "markdown" else plain
        out.extend(chooser.split_documents([doc]))
    return out


async def index_documents(
    documents: Sequence[Document],
    store: VectorStore,
    embedder: str | Embedder | None = None,
    *,
    splitter: Splitter | None = None,
    batch_size: int = 64,
    concurrency: int = 2,
    cache: CacheBackend | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> IndexReport:
    """Split `documents` (default: Markdown by headers, the rest recursively), embed
    the chunks in batches and add them to `store`. `on_progress(done, total)` counts
    chunks embedded.

    Example:
        >>> import asyncio
        >>> from conduit.rag.stores.memory import MemoryVectorStore
        >>> asyncio.run(index_documents([], MemoryVectorStore(), "fake/hash")).chunks
        0
    """
    chunks = _split(documents, splitter)
    report = IndexReport(files=len({d.source for d in documents}), chunks=len(chunks))
    if not chunks:
        return report
    batched = BatchEmbedder(
        embedder,
        batch_size=batch_size,
        concurrency=concurrency,
        cache=cache,
        on_progress=on_progress,
    )
    vectors = await batched.embed([c.text for c in chunks])
    report.ids = await store.add(chunks, vectors.vectors)
    report.usage = vectors.usage
    return report


async def index_path(
    path: str | Path,
    store: VectorStore,
    embedder: str | Embedder | None = None,
    *,
    splitter: Splitter | None = None,
    batch_size: int = 64,
    cache: CacheBackend | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> IndexReport:
    """Load a file or folder (see `conduit.rag.loaders`) and `index_documents` it."""
    # File reads and PDF parsing happen in a worker thread: the event loop never blocks.
    documents = await asyncio.to_thread(load_directory, path)
    return await index_documents(
        documents,
        store,
        embedder,
        splitter=splitter,
        batch_size=batch_size,
        cache=cache,
        on_progress=on_progress,
    )
