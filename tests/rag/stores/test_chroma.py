"""What only the Chroma store does: metadata Chroma cannot hold, its looser filters,
private in-memory collections, batches, and its errors. The shared behaviour is in
test_contract.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import chromadb
import pytest
from chromadb.config import Settings

from conduit.errors import StorageError, ValidationError
from conduit.rag.documents import Document
from conduit.rag.stores import open_store
from conduit.rag.stores.chroma import JSON_KEY, ChromaVectorStore, chroma_metadata, chroma_where


def raw_client(path: Path) -> Any:
    return chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False))


async def test_metadata_chroma_cannot_hold_round_trips() -> None:
    meta = {
        "tags": ["a", "b"],
        "nested": {"x": {"y": [1, None]}},
        "none": None,
        "bad key!": "kept",
        "huge": 2**70,
        "empty": "",
    }
    store = ChromaVectorStore()
    await store.add([Document("t", meta, id="m"), Document("", {}, id="e")], [[1, 0], [0, 1]])
    assert await store.get(["m", "e"]) == [Document("t", meta, id="m"), Document("", {}, id="e")]
    assert [d.id for d in await store.documents(where={"huge": 2**70})] == ["m"]
    assert await store.documents(where={"tags": "a"}) == []
    await store.aclose()


def test_only_filterable_scalars_are_copied_beside_the_json() -> None:
    stored = chroma_metadata({"n": 1, "f": 0.5, "b": True, "l": [1], "x y": 1, "big": 2**64})
    assert set(stored) == {JSON_KEY, "n", "f", "b"}
    assert chroma_where(None) is None
    assert chroma_where({"big": 2**60, "n": [1, True]}) == {
        "$or": [{"n": {"$eq": 1}}, {"n": {"$eq": True}}]
    }


async def test_a_filter_chroma_matches_too_loosely_is_rechecked() -> None:
    # Chroma's `$eq 1.5` also matches an integer 1: those are dropped in Python, and
    # the search asks Chroma for more until it has k true matches.
    store = ChromaVectorStore()
    near = [Document(f"n{i}", {"w": 1}, id=f"n{i}") for i in range(9)]
    far = Document("far", {"w": 1.5}, id="far")
    await store.add([*near, far], [[1.0, 0.01 * i] for i in range(9)] + [[0.0, 1.0]])
    hits = await store.search_with_score([1.0, 0.0], k=1, where={"w": 1.5})
    assert [d.id for d, _ in hits] == ["far"]
    assert hits[0][1] == pytest.approx(0.0, abs=1e-5)
    assert [d.id for d in await store.documents(where={"w": 1.5})] == ["far"]
    assert len(await store.search([1.0, 0.0], k=20, where={"w": 1})) == 9
    await store.aclose()


async def test_numbers_too_large_for_chroma_to_compare_are_filtered_in_python() -> None:
    store = ChromaVectorStore()
    docs = [Document("a", {"n": 2**60}, id="a"), Document("b", {"n": 2**60 + 1}, id="b")]
    await store.add(docs, [[1, 0], [1, 0.1]])
    assert [d.id for d in await store.search([1, 0], where={"n": 2**60 + 1})] == ["b"]
    assert [d.id for d in await store.documents(where={"n": [2**60]})] == ["a"]
    await store.aclose()


async def test_in_memory_stores_are_private_and_dropped_on_close() -> None:
    first, second = ChromaVectorStore(), ChromaVectorStore()
    await first.add([Document("a", id="a")], [[1.0, 0.0]])
    assert await second.count() == 0
    await first.aclose()
    await first.aclose()  # twice is fine
    with pytest.raises(StorageError, match="closed"):
        await first.count()
    assert await second.count() == 0
    await second.aclose()


async def test_repeated_ids_in_one_batch_keep_the_last_and_batches_are_split(
    tmp_path: Path,
) -> None:
    store = ChromaVectorStore(tmp_path / "c", batch_size=3)
    docs = [Document(f"d{i}", {"i": i}, id=f"d{i}") for i in range(8)]
    again = Document("d0 again", {"i": 100}, id="d0")
    ids = await store.add([*docs, again], [[1.0, float(i)] for i in range(8)] + [[0.0, 1.0]])
    assert ids == [*(d.id for d in docs), "d0"]
    assert await store.count() == 8
    assert await store.get(["d0", "d0"]) == [again, again]
    assert len(await store.documents()) == 8
    assert {d.id for d in await store.documents(where={"i": [1, 2, 3, 4, 5, 6, 7]})} == {
        f"d{i}" for i in range(1, 8)
    }
    assert await store.delete([f"d{i}" for i in range(8)] + ["d0"]) == 8
    assert await store.count() == 0
    await store.aclose()
    with pytest.raises(ValidationError, match="batch_size"):
        ChromaVectorStore(batch_size=0)


async def test_reads_records_written_by_other_chroma_code(tmp_path: Path) -> None:
    client = raw_client(tmp_path)
    raw = client.create_collection(
        "shared", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
    )
    raw.add(ids=["x"], embeddings=[[0.0, 2.0]], metadatas=[{"lang": "en"}])
    client.close()
    store = ChromaVectorStore(tmp_path, collection="shared")
    hits = await store.search_with_score([0.0, 1.0], where={"lang": "en"})
    assert hits == [(Document("", {"lang": "en"}, id="x"), pytest.approx(1.0, abs=1e-5))]
    assert store.dimensions == 2
    with pytest.raises(ValidationError, match="dimension"):
        await store.add([Document("y", id="y")], [[1.0, 0.0, 0.0]])
    await store.aclose()


async def test_refuses_a_collection_that_does_not_use_cosine(tmp_path: Path) -> None:
    client = raw_client(tmp_path)
    client.create_collection(
        "euclid", embedding_function=None, configuration={"hnsw": {"space": "l2"}}
    )
    client.close()
    store = ChromaVectorStore(tmp_path, collection="euclid")
    with pytest.raises(StorageError, match="'l2' distance"):
        await store.count()
    await store.aclose()


async def test_unreachable_server_and_bad_arguments(tmp_path: Path) -> None:
    store = ChromaVectorStore(host="127.0.0.1", port=1)
    with pytest.raises(StorageError, match=r"cannot open the Chroma server at 127\.0\.0\.1:1"):
        await store.search([1.0, 0.0])
    await store.aclose()
    with pytest.raises(ValidationError, match=r"a folder \(path\) or a server"):
        ChromaVectorStore(tmp_path, host="127.0.0.1")


async def test_chroma_errors_become_storage_errors(tmp_path: Path) -> None:
    store = ChromaVectorStore(collection="no spaces!")  # Chroma refuses the name
    with pytest.raises(StorageError, match="cannot open in-memory Chroma"):
        await store.count()
    await store.aclose()
    store = ChromaVectorStore(tmp_path)
    await store.add([Document("a", id="a")], [[1.0, 0.0]])
    assert await store.get([]) == []
    assert await store.delete([]) == 0
    client = raw_client(tmp_path)  # other code drops the collection under the store
    client.delete_collection("conduit")
    with pytest.raises(StorageError, match=f"the Chroma folder {tmp_path} failed"):
        await store.count()
    client.close()
    await store.aclose()


async def test_open_store_specs_for_chroma(tmp_path: Path) -> None:
    memory = open_store("chroma://")
    folder = open_store(f"chroma:///{tmp_path / 'c'}")
    server = open_store("chroma+http://127.0.0.1:1")
    secure = open_store("chroma+https://chroma.example")
    assert isinstance(memory, ChromaVectorStore)
    assert isinstance(folder, ChromaVectorStore)
    assert isinstance(server, ChromaVectorStore)
    assert isinstance(secure, ChromaVectorStore)
    assert (memory.path, memory.host) == (None, None)
    assert folder.path == tmp_path / "c"
    assert (server.host, server.port) == ("127.0.0.1", 1)
    assert (secure.host, secure.port) == ("chroma.example", 443)
    await folder.add([Document("a", id="a")], [[1.0]])
    assert (tmp_path / "c").is_dir()
    for store in [memory, folder, server, secure]:
        await store.aclose()
