"""`QdrantVectorStore`: Qdrant through `qdrant-client` — in-process local mode
(`":memory:"` or a folder) or a Qdrant server (`url=`), same code either way.

Needs `pip install "conduit[qdrant]"`. Our string ids become UUIDv5 point ids (Qdrant
takes only integers and UUIDs); the original id, text and metadata are the payload.
Filters become a Qdrant `Filter` on `metadata.<key>`. The distance is cosine.

Example:
    >>> import asyncio
    >>> async def main():
    ...     store = QdrantVectorStore(":memory:")
    ...     await store.add([Document("a", {"n": 1}, id="a")], [[1.0, 0.0]])
    ...     found = await store.search([1.0, 0.0], where={"n": 1})
    ...     await store.aclose()
    ...     return [d.id for d in found]
    >>> asyncio.run(main())
    ['a']
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conduit.errors import StorageError
from conduit.rag.documents import Document, MetadataFilter, normalize_filter
from conduit.rag.stores.base import check_batch, check_k, require

__all__ = ["QdrantVectorStore"]

_NAMESPACE = uuid.UUID("6f2b8a52-5d0e-4c1e-9a53-8f4f7f0d7e11")


def _point_id(doc_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, doc_id))


class QdrantVectorStore:
    """A Qdrant collection (created on the first `add`, sized to its vectors).

    `location` is `":memory:"` or a folder for local mode; `url` (and `api_key`) reach
    a server instead. Extra keywords go to `qdrant_client.AsyncQdrantClient`.

    Example:
        >>> QdrantVectorStore(":memory:", collection="notes").collection
        'notes'
    """

    def __init__(
        self,
        location: str | Path | None = ":memory:",
        *,
        url: str | None = None,
        api_key: str | None = None,
        collection: str = "conduit",
        **client_options: Any,
    ) -> None:
        require("qdrant_client", "qdrant", "the Qdrant vector store")
        from qdrant_client import AsyncQdrantClient

        self.collection = collection
        if url is not None:
            self._client = AsyncQdrantClient(url=url, api_key=api_key, **client_options)
        elif str(location) == ":memory:":
            self._client = AsyncQdrantClient(location=":memory:", **client_options)
        else:
            self._client = AsyncQdrantClient(path=str(location), **client_options)
        self.dimensions: int | None = None
        self._checked = False

    async def _exists(self) -> bool:
        if not self._checked:
            if await self._client.collection_exists(self.collection):
                info = await self._client.get_collection(self.collection)
                vectors: Any = info.config.params.vectors
                self.dimensions = int(vectors.size)
            self._checked = True
        return self.dimensions is not None

    def _filter(self, where: MetadataFilter | None) -> Any:
        from qdrant_client import models

        rule = normalize_filter(where)
        if not rule:
            return None
        must: list[Any] = []
        for key, values in rule.items():
            options: list[Any] = []
            for value in values:
                if isinstance(value, float) and not value.is_integer():
                    match: Any = models.Range(gte=value, lte=value)
                    options.append(models.FieldCondition(key=f"metadata.{key}", range=match))
                else:
                    exact = int(value) if isinstance(value, float) else value
                    options.append(
                        models.FieldCondition(
                            key=f"metadata.{key}", match=models.MatchValue(value=exact)
                        )
                    )
            must.append(options[0] if len(options) == 1 else models.Filter(should=options))
        return models.Filter(must=must)

    async def add(
        self, documents: Sequence[Document], vectors: Sequence[Sequence[float]]
    ) -> list[str]:
        """Store or replace documents with their vectors."""
        from qdrant_client import models

        exists = await self._exists()
        dim = check_batch(documents, vectors, self.dimensions)
        if not documents:
            return []
        if not exists:
            await self._client.create_collection(
                self.collection,
                vectors_config=models.VectorParams(size=dim, distance=models.Distance.COSINE),
            )
            self.dimensions = dim
        points = [
            models.PointStruct(
                id=_point_id(doc.id),
                vector=[float(x) for x in vector],
                payload={"id": doc.id, "text": doc.text, "metadata": doc.metadata},
            )
            for doc, vector in zip(documents, vectors, strict=True)
        ]
        await self._client.upsert(self.collection, points=points, wait=True)
        return [doc.id for doc in documents]

    @staticmethod
    def _document(payload: dict[str, Any] | None) -> Document:
        if payload is None:  # pragma: no cover - we always store a payload
            raise StorageError("a Qdrant point without payload is not a Conduit document")
        return Document(payload["text"], dict(payload["metadata"]), id=payload["id"])

    async def search_with_score(
        self, vector: Sequence[float], k: int = 4, *, where: MetadataFilter | None = None
    ) -> list[tuple[Document, float]]:
        """The `k` closest documents passing `where`, with cosine similarity."""
        if not await self._exists():
            check_k(k, vector, None)
            return []
        check_k(k, vector, self.dimensions)
        result = await self._client.query_points(
            self.collection,
            query=[float(x) for x in vector],
            query_filter=self._filter(where),
            limit=k,
            with_payload=True,
        )
        return [(self._document(p.payload), float(p.score)) for p in result.points]

    async def search(
        self, vector: Sequence[float], k: int = 4, *, where: MetadataFilter | None = None
    ) -> list[Document]:
        """The `k` closest documents passing `where`."""
        return [doc for doc, _ in await self.search_with_score(vector, k, where=where)]

    async def get(self, ids: Sequence[str]) -> list[Document]:
        """Stored documents among `ids`, in order."""
        if not ids or not await self._exists():
            return []
        records = await self._client.retrieve(
            self.collection, ids=[_point_id(i) for i in dict.fromkeys(ids)], with_payload=True
        )
        found = {d.id: d for d in (self._document(r.payload) for r in records)}
        return [found[i] for i in ids if i in found]

    async def delete(self, ids: Sequence[str]) -> int:
        """Remove by id; how many were stored."""
        from qdrant_client import models

        present = await self.get(list(set(ids)))
        if present:
            await self._client.delete(
                self.collection,
                points_selector=models.PointIdsList(points=[_point_id(d.id) for d in present]),
                wait=True,
            )
        return len(present)

    async def documents(self, *, where: MetadataFilter | None = None) -> list[Document]:
        """Every document passing `where` (in Qdrant's order)."""
        if not await self._exists():
            return []
        out: list[Document] = []
        offset: Any = None
        while True:
            records, offset = await self._client.scroll(
                self.collection,
                scroll_filter=self._filter(where),
                limit=256,
                offset=offset,
                with_payload=True,
            )
            out.extend(self._document(r.payload) for r in records)
            if offset is None:
                return out

    async def count(self) -> int:
        """How many documents are stored."""
        if not await self._exists():
            return 0
        return int((await self._client.count(self.collection, exact=True)).count)

    async def aclose(self) -> None:
        """Close the client (local mode writes its folder)."""
        await self._client.close()
