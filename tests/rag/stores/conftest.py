"""One factory per vector store backend; the contract suite runs against each."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from conduit.rag.stores import VectorStore
from tests.rag.stores.pgvector_server import pgvector_server

BACKENDS = [
    "memory",
    "sqlite",
    "faiss",
    "qdrant-memory",
    "qdrant-path",
    "chroma-memory",
    "chroma-path",
    "pgvector",
]
PERSISTENT = {"sqlite", "faiss", "qdrant-path", "chroma-path", "pgvector"}

Opener = Callable[[], Awaitable[VectorStore]]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def open_store(backend: str, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens the backend's store; a second call reopens the same data (a restart)."""
    opened: list[VectorStore] = []
    dsn = await pgvector_server().new_database() if backend == "pgvector" else ""
    memory_store: list[VectorStore] = []

    async def opener() -> VectorStore:
        store: VectorStore
        if backend == "memory":
            from conduit.rag.stores.memory import MemoryVectorStore

            if not memory_store:
                memory_store.append(MemoryVectorStore())
            store = memory_store[0]
        elif backend == "sqlite":
            from conduit.rag.stores.sqlite import SQLiteVectorStore

            store = SQLiteVectorStore(tmp_path / "store.sqlite3")
        elif backend == "faiss":
            from conduit.rag.stores.faiss_store import FaissVectorStore

            store = FaissVectorStore(tmp_path / "faiss")
        elif backend == "qdrant-memory":
            from conduit.rag.stores.qdrant import QdrantVectorStore

            store = QdrantVectorStore(":memory:")
        elif backend == "qdrant-path":
            from conduit.rag.stores.qdrant import QdrantVectorStore

            store = QdrantVectorStore(tmp_path / "qdrant")
        elif backend == "chroma-memory":
            from conduit.rag.stores.chroma import ChromaVectorStore

            store = ChromaVectorStore()
        elif backend == "chroma-path":
            from conduit.rag.stores.chroma import ChromaVectorStore

            store = ChromaVectorStore(tmp_path / "chroma")
        else:
            from conduit.rag.stores.pgvector import PgVectorStore

            store = PgVectorStore(dsn)
        opened.append(store)
        return store

    yield opener
    for store in opened:
        await store.aclose()
