"""Retriever: top-k, threshold, filters, MMR and hybrid BM25 fusion."""

from __future__ import annotations

import pytest

from conduit.errors import ValidationError
from conduit.rag.bm25 import BM25, reciprocal_rank_fusion
from conduit.rag.documents import Document
from conduit.rag.retriever import Retriever, mmr_select
from conduit.rag.stores.memory import MemoryVectorStore
from tests.rag.support import WordEmbedder

DOCS = [
    Document("cat cat pet", {"topic": "pets"}, id="cat"),
    Document("cat pet dog", {"topic": "pets"}, id="catdog"),
    Document("cat cat pet", {"topic": "pets", "copy": True}, id="catcopy"),
    Document("car engine wheel", {"topic": "cars"}, id="car"),
    Document("blue sky", {"topic": "weather"}, id="sky"),
    Document("zebra crossing xylophone", {"topic": "misc"}, id="rare"),
]


async def retriever(**options: object) -> Retriever:
    r = Retriever(MemoryVectorStore(), WordEmbedder(), **options)  # type: ignore[arg-type]
    assert await r.add_documents(DOCS) == [d.id for d in DOCS]
    return r


async def test_top_k_closest_first() -> None:
    r = await retriever(k=2)
    hits = await r.retrieve("a car with an engine")
    assert next(d.id for d, _ in hits) == "car"
    assert len(hits) == 2
    assert hits[0][1] >= hits[1][1]
    assert len(await r.retrieve("car", k=5)) == 5


async def test_score_threshold_drops_weak_hits() -> None:
    r = await retriever(k=6, score_threshold=0.5)
    hits = await r.retrieve("engine wheel")
    assert [d.id for d, _ in hits] == ["car"]
    assert all(score >= 0.5 for _, score in hits)


async def test_filters_from_the_retriever_and_the_call_combine() -> None:
    r = await retriever(k=6, where={"topic": "pets"})
    assert {d.id for d, _ in await r.retrieve("cat")} == {"cat", "catdog", "catcopy"}
    hits = await r.retrieve("cat", where={"copy": True})
    assert [d.id for d, _ in hits] == ["catcopy"]


async def test_mmr_skips_near_duplicates() -> None:
    plain = await retriever(k=2)
    assert {d.id for d, _ in await plain.retrieve("cat pet")} == {"cat", "catcopy"}
    diverse = await retriever(k=2, mmr=True, diversity=0.45)
    ids = [d.id for d, _ in await diverse.retrieve("cat pet")]
    assert ids[0] in {"cat", "catcopy"}
    assert ids[1] == "catdog"


async def test_hybrid_finds_words_the_embedder_does_not_know() -> None:
    vector_only = await retriever(k=2)
    assert "rare" not in [d.id for d, _ in await vector_only.retrieve("xylophone")]
    hybrid = await retriever(k=2, hybrid=True)
    hits = await hybrid.retrieve("xylophone")
    assert hits[0][0].id == "rare"
    # fused scores follow reciprocal rank fusion
    # vector rank 6 (all vector scores tie at 0), keyword rank 1
    assert hits[0][1] == pytest.approx(1 / 66 + 1 / 61)
    # the keyword index follows the store
    await hybrid.add_documents([Document("xylophone xylophone lesson", id="new")])
    assert next(d.id for d, _ in await hybrid.retrieve("xylophone lesson")) == "new"


def test_sync_twin_agrees() -> None:
    import asyncio

    r = asyncio.run(retriever(k=1))
    assert [d.id for d, _ in r.retrieve_sync("blue sky")] == ["sky"]


async def test_bad_settings_and_queries_are_refused() -> None:
    with pytest.raises(ValidationError):
        Retriever(MemoryVectorStore(), WordEmbedder(), k=0)
    with pytest.raises(ValidationError):
        Retriever(MemoryVectorStore(), WordEmbedder(), diversity=2)
    r = await retriever()
    with pytest.raises(ValidationError, match="non-empty"):
        await r.retrieve("  ")
    assert await r.add_documents([]) == []


def test_bm25_and_fusion() -> None:
    index = BM25(["apple apple pie", "apple", "banana split"])
    scores = index.scores("apple pie")
    assert scores[0] > scores[1] > scores[2] == 0
    assert index.top("cherry", 3) == []
    assert BM25([]).top("x", 2) == []
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "b"]], k=1)
    assert [key for key, _ in fused] == ["c", "b", "a"]
    assert fused[0][1] == pytest.approx(1 / 4 + 1 / 2)


def test_mmr_select_edges() -> None:
    assert mmr_select([1.0, 0.0], [], 3, 0.5) == []
    assert mmr_select([1.0, 0.0], [[0.0, 1.0], [1.0, 0.0]], 5, 0.0) == [1, 0]
