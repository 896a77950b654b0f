"""`MemoryVectorStore`: exact search in numpy, in this process; the default store.

Saved to and loaded from a `.npz` file (vectors plus documents as JSON), so a small
index can be built once and shipped.

Example:
    >>> import asyncio
    >>> async def main():
    ...     store = MemoryVectorStore()
    ...     await store.add([Document("cat", id="c"), Document("car", id="r")],
    ...                     [[1.0, 0.0], [0.0, 1.0]])
    ...     hits = await store.search_with_score([0.9, 0.1], k=1)
    ...     return [(d.id, round(s, 2)) for d, s in hits]
    >>> asyncio.run(main())
    [('c', 0.99)]
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conduit.errors import StorageError
from conduit.rag.documents import Document, MetadataFilter, matches, normalize_filter
from conduit.rag.stores.base import check_batch, check_k, require

__all__ = ["MemoryVectorStore"]


class MemoryVectorStore:
    """Documents and unit vectors in memory; brute-force cosine search with numpy.

    Example:
        >>> import asyncio
        >>> asyncio.run(MemoryVectorStore().count())
        0
    """

    def __init__(self) -> None:
        require("numpy", "rag", "the in-memory vector store")
        self._docs: dict[str, Document] = {}
        self._vectors: dict[str, list[float]] = {}
        self.dimensions: int | None = None
        self._matrix: Any = None
        self._ids: list[str] = []
        self._columns: dict[str, tuple[Any, Any]] = {}

    def _column(self, key: str) -> tuple[Any, Any]:
        """Metadata values at `key` (row order) and which of them are booleans, cached
        until the next write, so a filter is a few numpy comparisons, not a Python loop."""
        if key not in self._columns:
            import numpy as np

            values = np.empty(len(self._ids), dtype=object)
            values[:] = [self._docs[i].metadata.get(key) for i in self._ids]
            is_bool = np.fromiter((isinstance(v, bool) for v in values), bool, len(values))
            self._columns[key] = (values, is_bool)
        return self._columns[key]

    def _rows(self, rule: dict[str, list[Any]]) -> Any:
        import numpy as np

        keep = np.ones(len(self._ids), dtype=bool)
        for key, allowed in rule.items():
            values, is_bool = self._column(key)
            hit = np.zeros(len(self._ids), dtype=bool)
            for value in allowed:
                # JSON-like equality: True is not 1
                hit |= (values == value) & (is_bool == isinstance(value, bool))
            keep &= hit
        return np.flatnonzero(keep)

    def _index(self) -> tuple[list[str], Any]:
        if self._matrix is None:
            self._columns = {}
            from conduit.rag.stores._exact import normalize

            self._ids = list(self._docs)
            self._matrix = normalize([self._vectors[i] for i in self._ids] or [[0.0]])
            if not self._ids:
                self._matrix = self._matrix[:0]
        return self._ids, self._matrix

    async def add(
        self, documents: Sequence[Document], vectors: Sequence[Sequence[float]]
    ) -> list[str]:
        """Store or replace documents with their vectors."""
        dim = check_batch(documents, vectors, self.dimensions)
        if documents:
            self.dimensions = dim
        for doc, vector in zip(documents, vectors, strict=True):
            self._docs[doc.id] = doc
            self._vectors[doc.id] = [float(x) for x in vector]
        self._matrix = None
        return [doc.id for doc in documents]

    async def search_with_score(
        self, vector: Sequence[float], k: int = 4, *, where: MetadataFilter | None = None
    ) -> list[tuple[Document, float]]:
        """The `k` closest documents passing `where`, with cosine similarity."""
        check_k(k, vector, self.dimensions)
        from conduit.rag.stores._exact import top_k

        ids, matrix = self._index()
        rule = normalize_filter(where)
        if rule:
            rows = self._rows(rule).tolist()
            hits = top_k(matrix[rows], vector, k)
            return [(self._docs[ids[rows[n]]], score) for n, score in hits]
        return [(self._docs[ids[n]], score) for n, score in top_k(matrix, vector, k)]

    async def search(
        self, vector: Sequence[float], k: int = 4, *, where: MetadataFilter | None = None
    ) -> list[Document]:
        """The `k` closest documents passing `where`."""
        return [doc for doc, _ in await self.search_with_score(vector, k, where=where)]

    async def get(self, ids: Sequence[str]) -> list[Document]:
        """Stored documents among `ids`, in order."""
        return [self._docs[i] for i in ids if i in self._docs]

    async def delete(self, ids: Sequence[str]) -> int:
        """Remove by id; how many were stored."""
        removed = 0
        for i in set(ids):
            if self._docs.pop(i, None) is not None:
                del self._vectors[i]
                removed += 1
        if removed:
            self._matrix = None
        return removed

    async def documents(self, *, where: MetadataFilter | None = None) -> list[Document]:
        """Every document passing `where`, in insertion order."""
        rule = normalize_filter(where)
        return [d for d in self._docs.values() if matches(d.metadata, rule)]

    async def count(self) -> int:
        """How many documents are stored."""
        return len(self._docs)

    async def aclose(self) -> None:
        """Nothing to release."""

    def save(self, path: str | Path) -> None:
        """Write the store to a `.npz` file (vectors as float32).

        Example:
            >>> import asyncio, pathlib, tempfile
            >>> path = pathlib.Path(tempfile.mkdtemp()) / "index.npz"
            >>> store = MemoryVectorStore()
            >>> _ = asyncio.run(store.add([Document("x", id="1")], [[1.0, 2.0]]))
            >>> store.save(path)
            >>> asyncio.run(MemoryVectorStore.load(path).get(["1"]))[0].text
            'x'
        """
        import numpy as np

        ids = list(self._docs)
        docs = [
            {"id": i, "text": self._docs[i].text, "metadata": self._docs[i].metadata} for i in ids
        ]
        vectors = np.asarray([self._vectors[i] for i in ids], dtype=np.float32)
        with open(path, "wb") as handle:
            np.savez(handle, vectors=vectors, documents=np.array(json.dumps(docs)))

    @classmethod
    def load(cls, path: str | Path) -> MemoryVectorStore:
        """A store read back from `save`'s file."""
        import numpy as np

        try:
            with np.load(path, allow_pickle=False) as data:
                docs = json.loads(str(data["documents"]))
                vectors = data["vectors"].tolist()
        except (OSError, ValueError, KeyError) as exc:
            raise StorageError(f"{path} is not a saved MemoryVectorStore ({exc})") from None
        store = cls()
        for raw, vector in zip(docs, vectors, strict=True):
            doc = Document(raw["text"], raw["metadata"], id=raw["id"])
            store._docs[doc.id] = doc
            store._vectors[doc.id] = vector
            store.dimensions = len(vector)
        return store
