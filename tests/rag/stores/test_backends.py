"""What only some stores do: saving, reopening by spec, concurrent writers, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import conduit.rag
import conduit.rag.stores as stores
from conduit.errors import MissingDependencyError, StorageError, ValidationError
from conduit.rag.documents import Document
from conduit.rag.stores import open_store
from conduit.rag.stores.base import require
from conduit.rag.stores.faiss_store import FaissVectorStore
from conduit.rag.stores.memory import MemoryVectorStore
from conduit.rag.stores.pgvector import PgVectorStore, vector_literal
from conduit.rag.stores.qdrant import QdrantVectorStore
from conduit.rag.stores.sqlite import SQLiteVectorStore

DOC = Document("hello", {"lang": "en"}, id="h")


async def test_memory_store_saves_and_loads(tmp_path: Path) -> None:
    store = MemoryVectorStore()
    await store.add([DOC], [[0.0, 1.0]])
    store.save(tmp_path / "idx.npz")
    again = MemoryVectorStore.load(tmp_path / "idx.npz")
    assert await again.get(["h"]) == [DOC]
    assert [d for d, _ in await again.search_with_score([0.0, 2.0], where={"lang": "en"})] == [DOC]
    (tmp_path / "bad.npz").write_bytes(b"not numpy")
    with pytest.raises(StorageError, match="not a saved MemoryVectorStore"):
        MemoryVectorStore.load(tmp_path / "bad.npz")


async def test_sqlite_sees_writes_from_another_connection(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    reader, writer = SQLiteVectorStore(path), SQLiteVectorStore(path)
    await writer.add([DOC], [[1.0, 0.0]])
    assert [d.id for d in await reader.search([1.0, 0.0])] == ["h"]  # reader caches vectors
    await writer.add([Document("new", id="n")], [[0.0, 1.0]])
    assert [d.id for d in await reader.search([0.0, 1.0], k=1)] == ["n"]  # cache refreshed
    await reader.aclose()
    await reader.aclose()  # twice is fine
    with pytest.raises(StorageError, match="closed"):
        await reader.count()
    await writer.aclose()


def test_sqlite_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"x" * 4096)
    with pytest.raises(StorageError, match="not a usable SQLite vector store"):
        SQLiteVectorStore(path)


async def test_faiss_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no folder"):
        await FaissVectorStore().save()
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "index.faiss").write_bytes(b"garbage")
    with pytest.raises(StorageError, match="no readable FAISS store"):
        FaissVectorStore(folder)
    store = FaissVectorStore()
    await store.add([DOC], [[1.0, 0.0]])
    await store.save(tmp_path / "copy")
    assert await FaissVectorStore(tmp_path / "copy").get(["h"]) == [DOC]


async def test_pgvector_unreachable_server_is_a_storage_error() -> None:
    store = PgVectorStore("postgresql://postgres:secret@127.0.0.1:1/db")
    assert "secret" not in repr(store)
    with pytest.raises(StorageError, match="cannot reach PostgreSQL") as info:
        await store.count()
    assert "secret" not in str(info.value)
    assert vector_literal([1, 2]) == "[1.0,2.0]"


async def test_open_store_specs(tmp_path: Path) -> None:
    made = [
        open_store("memory"),
        open_store(str(tmp_path / "a.sqlite3")),
        open_store(f"sqlite:///{tmp_path / 'b.db'}"),
        open_store(f"faiss:///{tmp_path / 'f'}"),
        open_store(f"qdrant:///{tmp_path / 'q'}"),
        open_store("qdrant://"),
        open_store("postgresql://u@127.0.0.1/db"),
    ]
    names = [type(s).__name__ for s in made]
    assert names == [
        "MemoryVectorStore",
        "SQLiteVectorStore",
        "SQLiteVectorStore",
        "FaissVectorStore",
        "QdrantVectorStore",
        "QdrantVectorStore",
        "PgVectorStore",
    ]
    assert (tmp_path / "b.db").is_file()
    remote = open_store("qdrant+http://127.0.0.1:1", timeout=1, check_compatibility=False)
    assert isinstance(remote, QdrantVectorStore)
    for store in [*made, remote]:
        await store.aclose()
    with pytest.raises(ValidationError, match="unknown vector store"):
        open_store("redis://x")


def test_lazy_names_and_missing_extras() -> None:
    assert stores.SQLiteVectorStore is SQLiteVectorStore
    assert conduit.rag.ChromaVectorStore is stores.ChromaVectorStore
    assert stores.ChromaVectorStore.__module__ == "conduit.rag.stores.chroma"
    assert conduit.rag.Document is Document
    assert set(dir(conduit.rag)) == set(conduit.rag.__all__)
    assert set(dir(stores)) == set(stores.__all__)
    with pytest.raises(AttributeError):
        conduit.rag.nope  # noqa: B018
    with pytest.raises(AttributeError):
        stores.nope  # noqa: B018
    with pytest.raises(MissingDependencyError, match=r'pip install "conduit\[faiss\]"'):
        require("no_such_module_xyz", "faiss", "the FAISS vector store")
