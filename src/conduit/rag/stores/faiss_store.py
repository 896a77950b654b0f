"""`FaissVectorStore`: FAISS (`faiss-cpu`) exact inner-product search on unit vectors.

Needs `pip install "conduit[faiss]"`. Documents live beside the index in memory; with
`path` (a folder) the store loads what is there and writes `index.faiss` and
`documents.json` on `save()` and `aclose()`. Filters become a FAISS `IDSelectorBatch`,
so a filtered search is still exact over the matching documents.

Example:
    >>> import asyncio
    >>> async def main():
    ...     store = FaissVectorStore()
    ...     await store.add([Document("a", id="a"), Document("b", id="b")], [[1, 0], [0, 1]])
    ...     return [d.id for d in await store.search([0.1, 0.9], k=1)]
    >>> asyncio.run(main())
    ['b']
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conduit.errors import StorageError
from conduit.rag.documents import Document, MetadataFilter, matches, normalize_filter
from conduit.rag.stores.base import check_batch, check_k, require

__all__ = ["FaissVectorStore"]


class FaissVectorStore:
    """Vectors in a FAISS `IndexIDMap2(IndexFlatIP)`; cosine scores as elsewhere.

    Example:
        >>> FaissVectorStore().dimensions is None
        True
    """

    def __init__(self, path: str | Path | None = None) -> None:
        require("faiss", "faiss", "the FAISS vector store")
        require("numpy", "faiss", "the FAISS vector store")
        self.path = Path(path) if path is not None else None
        self.dimensions: int | None = None
        self._index: Any = None
        self._docs: dict[int, Document] = {}
        self._keys: dict[str, int] = {}
        self._next = 0
        if self.path is not None and (self.path / "index.faiss").is_file():
            self._load(self.path)

    def _load(self, folder: Path) -> None:
        import faiss

        try:
            self._index = faiss.read_index(str(folder / "index.faiss"))
            raw = json.loads((folder / "documents.json").read_text(encoding="utf-8"))
        except (OSError, RuntimeError, ValueError) as exc:
            raise StorageError(f"{folder} holds no readable FAISS store ({exc})") from None
        self.dimensions = int(self._index.d)
        for key, item in raw["documents"].items():
            doc = Document(item["text"], item["metadata"], id=item["id"])
            self._docs[int(key)] = doc
            self._keys[doc.id] = int(key)
        self._next = int(raw["next"])

    def _make_index(self, dim: int) -> Any:
        import faiss

        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    async def add(
        self, documents: Sequence[Document], vectors: Sequence[Sequence[float]]
    ) -> list[str]:
        """Store or replace documents with their vectors."""
        import numpy as np

        from conduit.rag.stores._exact import normalize

        dim = check_batch(documents, vectors, self.dimensions)
        if not documents:
            return []
        if self._index is None:
            self._index = self._make_index(dim)
            self.dimensions = dim
        # the last of repeated ids wins, as in the other stores
        latest = {doc.id: n for n, doc in enumerate(documents)}
        await self.delete(list(latest))
        keys = []
        for doc_id, n in latest.items():
            key = self._next
            self._next += 1
            self._keys[doc_id] = key
            self._docs[key] = documents[n]
            keys.append(key)
        rows = normalize([vectors[n] for n in latest.values()])
        self._index.add_with_ids(rows, np.asarray(keys, dtype=np.int64))
        return [doc.id for doc in documents]

    async def search_with_score(
        self, vector: Sequence[float], k: int = 4, *, where: MetadataFilter | None = None
    ) -> list[tuple[Document, float]]:
        """The `k` closest documents passing `where`, with cosine similarity."""
        import faiss
        import numpy as np

        from conduit.rag.stores._exact import normalize

        check_k(k, vector, self.dimensions)
        if self._index is None or not self._docs:
            return []
        rule = normalize_filter(where)
        params = None
        if rule:
            allowed = [key for key, doc in self._docs.items() if matches(doc.metadata, rule)]
            if not allowed:
                return []
            selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg,unused-ignore]
        limit = min(k, len(self._docs))
        scores, keys = self._index.search(normalize(vector), limit, params=params)
        return [
            (self._docs[int(key)], float(score))
            for score, key in zip(scores[0], keys[0], strict=True)
            if key >= 0
        ]

    async def search(
        self, vector: Sequence[float], k: int = 4, *, where: MetadataFilter | None = None
    ) -> list[Document]:
        """The `k` closest documents passing `where`."""
        return [doc for doc, _ in await self.search_with_score(vector, k, where=where)]

    async def get(self, ids: Sequence[str]) -> list[Document]:
        """Stored documents among `ids`, in order."""
        return [self._docs[self._keys[i]] for i in ids if i in self._keys]

    async def delete(self, ids: Sequence[str]) -> int:
        """Remove by id; how many were stored."""
        import numpy as np

        keys = [self._keys.pop(i) for i in set(ids) if i in self._keys]
        for key in keys:
            del self._docs[key]
        if keys:
            self._index.remove_ids(np.asarray(keys, dtype=np.int64))
        return len(keys)

    async def documents(self, *, where: MetadataFilter | None = None) -> list[Document]:
        """Every document passing `where`, in insertion order."""
        rule = normalize_filter(where)
        return [d for _, d in sorted(self._docs.items()) if matches(d.metadata, rule)]

    async def count(self) -> int:
        """How many documents are stored."""
        return len(self._docs)

    def _save_blocking(self, folder: Path) -> None:
        import faiss

        folder.mkdir(parents=True, exist_ok=True)
        if self._index is None:
            return
        faiss.write_index(self._index, str(folder / "index.faiss"))
        raw = {
            "next": self._next,
            "documents": {
                str(key): {"id": d.id, "text": d.text, "metadata": d.metadata}
                for key, d in self._docs.items()
            },
        }
        (folder / "documents.json").write_text(json.dumps(raw), encoding="utf-8")

    async def save(self, path: str | Path | None = None) -> None:
        """Write the index and documents to `path` (default: the store's folder)."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise StorageError("this FAISS store has no folder; pass save(path)")
        await asyncio.to_thread(self._save_blocking, target)

    async def aclose(self) -> None:
        """Save to the store's folder, if it has one."""
        if self.path is not None:
            await self.save()
