"""RAG: load, split, embed, store, retrieve and answer with sources — offline by default.

- Documents and loaders: `Document`; `load_file`, `load_directory` (text, Markdown,
  HTML, PDF).
- Splitters: `CharacterSplitter`, `RecursiveSplitter`, `SentenceSplitter`,
  `MarkdownSplitter`, `TokenSplitter`.
- Embedding: `BatchEmbedder` (batches, bounded concurrency, optional cache); the default
  embedder is `local/all-minilm-l6-v2` (numpy, no network).
- Stores (`conduit.rag.stores`): `MemoryVectorStore` (default), `SQLiteVectorStore`,
  `FaissVectorStore`, `QdrantVectorStore`, `ChromaVectorStore`, `PgVectorStore`;
  `open_store(spec)`.
- `Retriever` (top-k, threshold, filters, MMR, hybrid BM25) and `RagChain` (answers
  with numbered citations, streaming); `index_path` / `index_documents` to fill a store.

Heavy parts (numpy, backends) load on first use: importing this package is light.

Example:
    >>> import asyncio
    >>> from conduit.providers.fake import FunctionModel
    >>> from conduit.rag import Document, MemoryVectorStore, RagChain, Retriever
    >>> async def main():
    ...     retriever = Retriever(MemoryVectorStore(), "fake/hash", k=1)
    ...     await retriever.add_documents([Document("The sky is blue.", {"source": "sky"})])
    ...     chain = RagChain(retriever, FunctionModel(lambda m, o: "Blue [1]."))
    ...     answer = await chain.ask("What colour is the sky?")
    ...     return answer.cited[0].source
    >>> asyncio.run(main())
    'sky'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conduit.rag.chain import RagAnswer, RagChain, Source
    from conduit.rag.documents import Document, MetadataFilter
    from conduit.rag.embedding import BatchEmbedder
    from conduit.rag.indexing import IndexReport, index_documents, index_path
    from conduit.rag.loaders import load_directory, load_file
    from conduit.rag.retriever import Retriever
    from conduit.rag.splitters import (
        CharacterSplitter,
        MarkdownSplitter,
        RecursiveSplitter,
        SentenceSplitter,
        Splitter,
        TokenSplitter,
    )
    from conduit.rag.stores import (
        ChromaVectorStore,
        FaissVectorStore,
        MemoryVectorStore,
        PgVectorStore,
        QdrantVectorStore,
        SQLiteVectorStore,
        VectorStore,
        open_store,
    )

__all__ = [
    "BatchEmbedder",
    "CharacterSplitter",
    "ChromaVectorStore",
    "Document",
    "FaissVectorStore",
    "IndexReport",
    "MarkdownSplitter",
    "MemoryVectorStore",
    "MetadataFilter",
    "PgVectorStore",
    "QdrantVectorStore",
    "RagAnswer",
    "RagChain",
    "RecursiveSplitter",
    "Retriever",
    "SQLiteVectorStore",
    "SentenceSplitter",
    "Source",
    "Splitter",
    "TokenSplitter",
    "VectorStore",
    "index_documents",
    "index_path",
    "load_directory",
    "load_file",
    "open_store",
]

_LAZY = {
    "BatchEmbedder": "conduit.rag.embedding",
    "CharacterSplitter": "conduit.rag.splitters",
    "ChromaVectorStore": "conduit.rag.stores",
    "Document": "conduit.rag.documents",
    "FaissVectorStore": "conduit.rag.stores",
    "IndexReport": "conduit.rag.indexing",
    "MarkdownSplitter": "conduit.rag.splitters",
    "MemoryVectorStore": "conduit.rag.stores",
    "MetadataFilter": "conduit.rag.documents",
    "PgVectorStore": "conduit.rag.stores",
    "QdrantVectorStore": "conduit.rag.stores",
    "RagAnswer": "conduit.rag.chain",
    "RagChain": "conduit.rag.chain",
    "RecursiveSplitter": "conduit.rag.splitters",
    "Retriever": "conduit.rag.retriever",
    "SQLiteVectorStore": "conduit.rag.stores",
    "SentenceSplitter": "conduit.rag.splitters",
    "Source": "conduit.rag.chain",
    "Splitter": "conduit.rag.splitters",
    "TokenSplitter": "conduit.rag.splitters",
    "VectorStore": "conduit.rag.stores",
    "index_documents": "conduit.rag.indexing",
    "index_path": "conduit.rag.indexing",
    "load_directory": "conduit.rag.loaders",
    "load_file": "conduit.rag.loaders",
    "open_store": "conduit.rag.stores",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return list(__all__)
