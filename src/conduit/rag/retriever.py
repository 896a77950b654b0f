"""`Retriever`: the documents for a question — top-k by vector similarity, with a score
threshold, metadata filters, MMR diversity, or hybrid BM25 + vector search fused by
reciprocal rank.

Example:
    >>> import asyncio
    >>> from conduit.providers.fake import HashEmbedder
    >>> from conduit.rag.stores.memory import MemoryVectorStore
    >>> async def main():
    ...     retriever = Retriever(MemoryVectorStore(), HashEmbedder(dimensions=16), k=1)
    ...     await retriever.add_documents([Document("apples"), Document("pears")])
    ...     return [d.text for d, _ in await retriever.retrieve("apples")]
    >>> asyncio.run(main())
    ['apples']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conduit.core.protocols import Embedder
from conduit.core.sync import run_sync
from conduit.errors import ValidationError
from conduit.rag.documents import Document, MetadataFilter, normalize_filter
from conduit.rag.embedding import resolve_embedder
from conduit.rag.stores.base import VectorStore

__all__ = ["Retriever", "mmr_select"]


def mmr_select(
    query: Sequence[float], candidates: Sequence[Sequence[float]], k: int, diversity: float
) -> list[int]:
    """Maximal marginal relevance (Carbonell & Goldstein, SIGIR 1998): pick `k` of the
    candidates, each maximising `(1 - diversity) * sim(query, d) - diversity *
    max sim(d, picked)`. `diversity` 0 is plain similarity order.

    Example:
        >>> mmr_select([1, 0], [[1, 0], [0.99, 0.01], [0.7, 0.7]], 2, diversity=0.7)
        [0, 2]
    """
    import numpy as np

    from conduit.rag.stores._exact import normalize

    if not candidates:
        return []
    cands = normalize(candidates)
    relevance = cands @ normalize(query)[0]
    picked: list[int] = []
    best_sim = np.full(len(cands), -np.inf)
    for _ in range(min(k, len(cands))):
        penalty = np.where(np.isfinite(best_sim), best_sim, 0.0)
        score = (1 - diversity) * relevance - diversity * penalty
        score[picked] = -np.inf
        choice = int(np.argmax(score))
        picked.append(choice)
        best_sim = np.maximum(best_sim, cands @ cands[choice])
    return picked


class Retriever:
    """Finds the documents for a query in `store`, embedding with `embedder` (default:
    the offline `local/all-minilm-l6-v2`).

    - `k`: how many documents; `score_threshold`: drop vector hits below this cosine.
    - `where`: a metadata filter applied to every query (a per-call `where` is added).
    - `mmr=True`: diversify with maximal marginal relevance over `fetch_k` candidates
      (`diversity` 0…1); candidates are re-embedded, so use a cached embedder.
    - `hybrid=True`: fuse BM25 keyword ranking with the vector ranking (reciprocal rank
      fusion, `rrf_k`); scores are then fusion scores, not cosines.

    Example:
        >>> from conduit.rag.stores.memory import MemoryVectorStore
        >>> Retriever(MemoryVectorStore(), "fake/hash", k=2).k
        2
    """

    def __init__(
        self,
        store: VectorStore,
        embedder: str | Embedder | None = None,
        *,
        k: int = 4,
        score_threshold: float | None = None,
        where: MetadataFilter | None = None,
        mmr: bool = False,
        fetch_k: int = 20,
        diversity: float = 0.5,
        hybrid: bool = False,
        rrf_k: int = 60,
    ) -> None:
        if k < 1 or fetch_k < 1:
            raise ValidationError("k and fetch_k must be at least 1")
        if not 0.0 <= diversity <= 1.0:
            raise ValidationError(f"diversity must be between 0 and 1, not {diversity}")
        self.store = store
        self.embedder = resolve_embedder(embedder)
        self.k = k
        self.score_threshold = score_threshold
        self.where = dict(normalize_filter(where))
        self.mmr = mmr
        self.fetch_k = max(fetch_k, k)
        self.diversity = diversity
        self.hybrid = hybrid
        self.rrf_k = rrf_k
        self._bm25: tuple[Any, Any, list[Document]] | None = None

    async def add_documents(self, documents: Sequence[Document]) -> list[str]:
        """Embed `documents` and add them to the store; their ids."""
        if not documents:
            return []
        vectors = await self.embedder.embed([d.text for d in documents])
        self._bm25 = None
        return await self.store.add(documents, vectors.vectors)

    def _merged(self, where: MetadataFilter | None) -> dict[str, Any] | None:
        merged: dict[str, Any] = {**self.where, **normalize_filter(where)}
        return merged or None

    async def retrieve(
        self, query: str, *, k: int | None = None, where: MetadataFilter | None = None
    ) -> list[tuple[Document, float]]:
        """The documents for `query` with their scores, best first."""
        if not query.strip():
            raise ValidationError("retrieve() needs a non-empty query")
        want = k or self.k
        rule = self._merged(where)
        qvec = (await self.embedder.embed(query)).vectors[0]
        fetch = max(self.fetch_k, want) if (self.mmr or self.hybrid) else want
        hits = await self.store.search_with_score(qvec, fetch, where=rule)
        if self.score_threshold is not None:
            hits = [(d, s) for d, s in hits if s >= self.score_threshold]
        if self.hybrid:
            hits = await self._fuse(query, hits, fetch, rule)
        if self.mmr and len(hits) > 1:
            vectors = (await self.embedder.embed([d.text for d, _ in hits])).vectors
            order = mmr_select(qvec, vectors, want, self.diversity)
            hits = [hits[i] for i in order]
        return hits[:want]

    async def _fuse(
        self,
        query: str,
        hits: list[tuple[Document, float]],
        fetch: int,
        rule: dict[str, Any] | None,
    ) -> list[tuple[Document, float]]:
        from conduit.rag.bm25 import BM25, reciprocal_rank_fusion

        key = (await self.store.count(), repr(sorted((rule or {}).items())))
        if self._bm25 is None or self._bm25[0] != key:
            corpus = await self.store.documents(where=rule)
            self._bm25 = (key, BM25([d.text for d in corpus]), corpus)
        _, index, corpus = self._bm25
        keyword = [corpus[i] for i, _ in index.top(query, fetch)]
        by_id = {d.id: d for d in keyword} | {d.id: d for d, _ in hits}
        fused = reciprocal_rank_fusion(
            [[d.id for d, _ in hits], [d.id for d in keyword]], k=self.rrf_k
        )
        return [(by_id[str(doc_id)], score) for doc_id, score in fused]

    def retrieve_sync(
        self, query: str, *, k: int | None = None, where: MetadataFilter | None = None
    ) -> list[tuple[Document, float]]:
        """`retrieve` for synchronous code."""
        return run_sync(self.retrieve(query, k=k, where=where))
