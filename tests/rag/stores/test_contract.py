"""The behaviour every vector store shares, run against every backend."""

from __future__ import annotations

import math
from typing import Any

import pytest

from conduit.errors import ValidationError
from conduit.rag.documents import Document
from conduit.rag.stores import VectorStore
from tests.rag.stores.conftest import PERSISTENT, Opener

DOCS = [
    Document("red apple", {"kind": "fruit", "color": "red", "year": 2024, "ok": True}, id="d1"),
    Document("green pear", {"kind": "fruit", "color": "green", "year": 2025, "ok": 1}, id="d2"),
    Document("red car", {"kind": "car", "color": "red", "year": 2024, "w": 1.5}, id="d3"),
    Document("blue sky", {"kind": "nature", "nested": {"a": [1, 2]}}, id="d4"),
]
VECTORS = [
    [1.0, 0.0, 0.0, 0.0],
    [0.6, 0.8, 0.0, 0.0],
    [0.0, 0.0, 1.0, 0.0],
    [0.0, 0.0, 0.6, 0.8],
]


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


async def filled(open_store: Opener) -> VectorStore:
    store = await open_store()
    assert await store.add(DOCS, VECTORS) == ["d1", "d2", "d3", "d4"]
    return store


async def test_empty_store_finds_nothing(open_store: Opener) -> None:
    store = await open_store()
    assert await store.count() == 0
    assert await store.search([1.0, 0.0, 0.0, 0.0]) == []
    assert await store.get(["d1"]) == []
    assert await store.delete(["d1"]) == 0
    assert await store.documents() == []


async def test_search_orders_by_cosine_and_scores_match(open_store: Opener) -> None:
    store = await filled(open_store)
    query = [0.9, 0.3, 0.1, 0.0]
    hits = await store.search_with_score(query, k=4)
    expected = sorted(((cosine(query, v), d.id) for d, v in zip(DOCS, VECTORS, strict=True)),
                      reverse=True)  # fmt: skip
    assert [d.id for d, _ in hits] == [i for _, i in expected]
    for (_, score), (want, _) in zip(hits, expected, strict=True):
        assert score == pytest.approx(want, abs=1e-5)
    top = await store.search(query, k=2)
    assert [d.id for d in top] == [i for _, i in expected[:2]]


async def test_scale_of_a_vector_does_not_change_its_score(open_store: Opener) -> None:
    store = await filled(open_store)
    hits = await store.search_with_score([5.0, 0.0, 0.0, 0.0], k=1)
    assert hits[0][0].id == "d1"
    assert hits[0][1] == pytest.approx(1.0, abs=1e-5)


async def test_documents_round_trip_with_metadata(open_store: Opener) -> None:
    store = await filled(open_store)
    got = await store.get(["d4", "missing", "d1"])
    assert got == [DOCS[3], DOCS[0]]
    assert {d.id for d in await store.documents()} == {"d1", "d2", "d3", "d4"}
    assert await store.count() == 4


async def test_adding_an_existing_id_replaces_it(open_store: Opener) -> None:
    store = await filled(open_store)
    changed = Document("red apple, sliced", {"kind": "fruit"}, id="d1")
    await store.add([changed], [[0.0, 0.0, 0.0, 1.0]])
    assert await store.count() == 4
    assert await store.get(["d1"]) == [changed]
    hits = await store.search([0.0, 0.0, 0.0, 1.0], k=1)
    assert hits == [changed]


async def test_delete_removes_from_search(open_store: Opener) -> None:
    store = await filled(open_store)
    assert await store.delete(["d1", "d3", "nope"]) == 2
    assert await store.count() == 2
    found = await store.search([1.0, 0.0, 1.0, 0.0], k=4)
    assert {d.id for d in found} == {"d2", "d4"}
    assert await store.delete(["d2", "d4"]) == 2
    assert await store.search([1.0, 0.0, 0.0, 0.0], where={"kind": "fruit"}) == []
    assert await store.search([1.0, 0.0, 0.0, 0.0]) == []


@pytest.mark.parametrize(
    ("where", "ids"),
    [
        ({"kind": "fruit"}, {"d1", "d2"}),
        ({"color": ["red", "green"]}, {"d1", "d2", "d3"}),
        ({"color": "red", "kind": "car"}, {"d3"}),
        ({"year": 2024}, {"d1", "d3"}),
        ({"ok": True}, {"d1"}),
        ({"ok": 1}, {"d2"}),
        ({"w": 1.5}, {"d3"}),
        ({"kind": "nothing"}, set()),
        ({"missing": "x"}, set()),
    ],
)
async def test_metadata_filters(open_store: Opener, where: dict[str, Any], ids: set[str]) -> None:
    store = await filled(open_store)
    hits = await store.search_with_score([1.0, 1.0, 1.0, 1.0], k=10, where=where)
    assert {d.id for d, _ in hits} == ids
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert {d.id for d in await store.documents(where=where)} == ids


async def test_filter_keeps_k_closest_among_matches(open_store: Opener) -> None:
    store = await filled(open_store)
    hits = await store.search([1.0, 0.0, 0.0, 0.0], k=1, where={"kind": "car"})
    assert [d.id for d in hits] == ["d3"]


async def test_invalid_input_is_refused(open_store: Opener) -> None:
    store = await filled(open_store)
    with pytest.raises(ValidationError, match="dimension"):
        await store.add([Document("x", id="x")], [[1.0, 2.0]])
    with pytest.raises(ValidationError, match="one vector per document"):
        await store.add([Document("x", id="x")], [])
    with pytest.raises(ValidationError, match="dimension"):
        await store.search([1.0, 0.0])
    with pytest.raises(ValidationError, match="k must be"):
        await store.search([1.0, 0.0, 0.0, 0.0], k=0)
    with pytest.raises(ValidationError, match="filter"):
        await store.search([1.0, 0.0, 0.0, 0.0], where={"bad key!": 1})
    with pytest.raises(ValidationError, match="finite"):
        await store.add([Document("x", id="x")], [[math.nan, 0.0, 0.0, 0.0]])
    assert await store.add([], []) == []
    assert await store.count() == 4


@pytest.mark.parametrize("backend", sorted(PERSISTENT), indirect=True)
async def test_data_survives_a_restart(open_store: Opener) -> None:
    store = await filled(open_store)
    await store.delete(["d2"])
    await store.aclose()
    again = await open_store()
    assert await again.count() == 3
    assert await again.get(["d1", "d2"]) == [DOCS[0]]
    hits = await again.search_with_score([0.0, 0.0, 0.6, 0.8], k=1, where={"kind": "nature"})
    assert hits[0][0] == DOCS[3]
    assert hits[0][1] == pytest.approx(1.0, abs=1e-5)
    await again.add([Document("new", id="d5")], [[0.0, 1.0, 0.0, 0.0]])
    assert await again.count() == 4
