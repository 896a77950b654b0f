"""`ChromaVectorStore`: Chroma through `chromadb` — in memory (default), a folder
(`path=`), or a Chroma server (`host=`/`port=`), same code either way.

Needs `pip install "conduit[chroma]"`. Conduit always passes its own vectors, so
Chroma's default embedding function (a model download) is never used; the collection
uses cosine distance (score = 1 - distance) and telemetry is off unless you pass your
own `settings`. Chroma's calls block, so they run in a worker thread.

Metadata: Chroma keeps only flat scalar values, so the whole metadata is stored as JSON
under the key `conduit:json` (returned exactly as added, nested values included), and
its scalar top-level values are copied beside it for filtering. Chroma's own filter
is used to narrow a search and then checked again in Python (Chroma compares `1.5`
equal to an integer `1`), so filters behave as on every other store: `true` is not `1`.
Search is Chroma's HNSW index: approximate on very large collections.

Example:
    >>> import asyncio
    >>> async def main():
    ...     store = ChromaVectorStore()
    ...     await store.add([Document("a", {"n": 1}, id="a")], [[1.0, 0.0]])
    ...     found = await store.search([1.0, 0.0], where={"n": 1})
    ...     await store.aclose()
    ...     return [d.id for d in found]
    >>> asyncio.run(main())
    ['a']
"""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from conduit.errors import StorageError, ValidationError
from conduit.rag.documents import Document, MetadataFilter, Scalar, matches, normalize_filter
from conduit.rag.stores.base import check_batch, check_k, require

__all__ = ["ChromaVectorStore", "JSON_KEY", "chroma_metadata", "chroma_where"]

_T = TypeVar("_T")

JSON_KEY = "conduit:json"
"""Where the full metadata lives (':' keeps it apart from every filter key)."""

_EXACT = 2**53  # numbers below this compare the same as float and int
_INCLUDE = ["documents", "metadatas"]


def _filter_key(key: object) -> bool:
    return isinstance(key, str) and bool(key) and all(ch.isalnum() or ch in "_-." for ch in key)


def _storable(value: object) -> bool:
    if isinstance(value, bool | str):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return isinstance(value, float) and math.isfinite(value)


def _pushable(value: Scalar) -> bool:
    if isinstance(value, bool | str):
        return True
    return math.isfinite(value) and abs(value) < _EXACT


def chroma_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """What Conduit stores in Chroma for a document's metadata.

    Example:
        >>> chroma_metadata({"lang": "en", "tags": ["a"]})
        {'conduit:json': '{"lang": "en", "tags": ["a"]}', 'lang': 'en'}
    """
    out: dict[str, Any] = {JSON_KEY: json.dumps(metadata)}
    for key, value in metadata.items():
        if _filter_key(key) and _storable(value):
            out[key] = value
    return out


def chroma_where(where: MetadataFilter | None) -> dict[str, Any] | None:
    """A Chroma `where` that keeps at least every document passing `where`.

    Values Chroma cannot compare exactly (huge numbers) are left to the Python check.

    Example:
        >>> chroma_where({"kind": ["a", "b"], "n": 1})
        {'$and': [{'$or': [{'kind': {'$eq': 'a'}}, {'kind': {'$eq': 'b'}}]}, {'n': {'$eq': 1}}]}
    """
    clauses: list[dict[str, Any]] = []
    for key, values in normalize_filter(where).items():
        if not all(_pushable(v) for v in values):
            continue
        options = [{key: {"$eq": v}} for v in values]
        clauses.append(options[0] if len(options) == 1 else {"$or": options})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _document(doc_id: str, text: str | None, metadata: Any) -> Document:
    meta = dict(metadata or {})
    blob = meta.pop(JSON_KEY, None)
    # a record written by other Chroma code has no JSON copy: keep its flat metadata
    return Document(text or "", json.loads(blob) if isinstance(blob, str) else meta, id=doc_id)


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ChromaVectorStore:
    """A Chroma collection: in memory, in the folder `path`, or on a server at `host`.

    An in-memory store is private (its own collection, dropped by `aclose`); a folder
    or server collection named `collection` is created if missing and must use cosine
    distance. `settings` (a `chromadb.config.Settings`) replaces Conduit's default,
    which only turns telemetry off. Writes and reads go in batches of `batch_size`
    records (default and most: what the Chroma client allows).

    Example:
        >>> ChromaVectorStore(collection="notes").collection
        'notes'
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        host: str | None = None,
        port: int = 8000,
        ssl: bool = False,
        headers: dict[str, str] | None = None,
        collection: str = "conduit",
        settings: Any = None,
        batch_size: int | None = None,
    ) -> None:
        require("chromadb", "chroma", "the Chroma vector store")
        if path is not None and host is not None:
            raise ValidationError("ChromaVectorStore takes a folder (path) or a server (host)")
        if batch_size is not None and batch_size < 1:
            raise ValidationError(f"batch_size must be at least 1, not {batch_size}")
        self.path = Path(path) if path is not None else None
        self.host = host
        self.port = port
        self.collection = collection
        self.dimensions: int | None = None
        self._ssl = ssl
        self._headers = headers
        self._settings = settings
        self._client: Any = None
        self._collection: Any = None
        self._batch = batch_size or 1000
        self._batch_size = batch_size
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def _ephemeral(self) -> bool:
        return self.path is None and self.host is None

    def _label(self) -> str:
        if self.host is not None:
            return f"the Chroma server at {self.host}:{self.port}"
        return f"the Chroma folder {self.path}" if self.path else "in-memory Chroma"

    def _open_blocking(self) -> None:
        import chromadb
        from chromadb.config import Settings

        settings = self._settings or Settings(anonymized_telemetry=False)
        client: Any  # chromadb's ClientAPI type omits close()
        try:
            if self.host is not None:
                client = chromadb.HttpClient(
                    host=self.host,
                    port=self.port,
                    ssl=self._ssl,
                    headers=self._headers,
                    settings=settings,
                )
            elif self.path is not None:
                client = chromadb.PersistentClient(path=str(self.path), settings=settings)
            else:
                client = chromadb.EphemeralClient(settings=settings)
        except Exception as exc:  # connection refused, settings clash, unreadable folder
            raise StorageError(f"cannot open {self._label()}: {exc}") from None
        name = f"{self.collection}-{uuid.uuid4().hex}" if self._ephemeral else self.collection
        try:
            collection = client.get_or_create_collection(
                name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )
            config = collection.configuration_json or {}
            space = (config.get("hnsw") or config.get("spann") or {}).get("space")
            if space != "cosine":
                raise StorageError(
                    f"the Chroma collection {name!r} uses {space!r} distance; Conduit "
                    "needs cosine: use another collection name"
                )
            stored = collection.get(limit=1, include=["embeddings"])["embeddings"]
            if stored is not None and len(stored):
                self.dimensions = len(stored[0])
            limit = int(client.get_max_batch_size())
            self._batch = min(self._batch_size or limit, limit)
        except Exception as exc:
            client.close()
            if isinstance(exc, StorageError):
                raise
            raise StorageError(f"cannot open {self._label()}: {exc}") from exc
        self._client, self._collection = client, collection

    async def _open(self) -> None:
        """Open the client and collection on first use (so the stored dimension is known)."""
        async with self._lock:
            if self._closed:
                raise StorageError(f"this Chroma vector store ({self._label()}) is closed")
            if self._client is None:
                await asyncio.to_thread(self._open_blocking)

    async def _call(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run a blocking Chroma call in a thread, opening the client first."""
        await self._open()
        try:
            return await asyncio.to_thread(fn, *args)
        except Exception as exc:
            raise StorageError(f"{self._label()} failed: {exc}") from exc

    async def add(
        self, documents: Sequence[Document], vectors: Sequence[Sequence[float]]
    ) -> list[str]:
        """Store or replace documents with their vectors."""
        if not documents:
            check_batch(documents, vectors, self.dimensions)
            return []
        await self._open()
        dim = check_batch(documents, vectors, self.dimensions)
        # the last of repeated ids wins, as in the other stores (Chroma refuses repeats)
        latest = {doc.id: n for n, doc in enumerate(documents)}
        rows = [
            (doc_id, documents[n].text, chroma_metadata(documents[n].metadata), vectors[n])
            for doc_id, n in latest.items()
        ]
        await self._call(self._upsert_blocking, rows)
        self.dimensions = dim
        return [doc.id for doc in documents]

    def _upsert_blocking(self, rows: list[tuple[str, str, dict[str, Any], Any]]) -> None:
        for part in _chunks(rows, self._batch):
            self._collection.upsert(
                ids=[r[0] for r in part],
                documents=[r[1] for r in part],
                metadatas=[r[2] for r in part],
                embeddings=[[float(x) for x in r[3]] for r in part],
            )

    async def search_with_score(
        self, vector: Sequence[float], k: int = 4, *, where: MetadataFilter | None = None
    ) -> list[tuple[Document, float]]:
        """The `k` closest documents passing `where`, with cosine similarity."""
        rule = normalize_filter(where)
        await self._open()
        check_k(k, vector, self.dimensions)
        query = [float(x) for x in vector]
        return await self._call(self._search_blocking, query, k, rule)

    def _search_blocking(
        self, query: list[float], k: int, rule: dict[str, list[Scalar]]
    ) -> list[tuple[Document, float]]:
        total = int(self._collection.count())
        if total == 0:
            return []
        where = chroma_where(rule)
        asked = min(k, total)
        while True:
            found = self._collection.query(
                query_embeddings=[query],
                n_results=asked,
                where=where,
                include=[*_INCLUDE, "distances"],
            )
            ids = found["ids"][0]
            hits = [
                (_document(i, text, meta), 1.0 - float(distance))
                for i, text, meta, distance in zip(
                    ids,
                    found["documents"][0],
                    found["metadatas"][0],
                    found["distances"][0],
                    strict=True,
                )
            ]
            hits = [(d, s) for d, s in hits if matches(d.metadata, rule)]
            if len(hits) >= k or len(ids) < asked or asked >= total:
                return hits[:k]
            asked = min(asked * 4, total)  # Chroma's filter let extra through: ask for more

    async def search(
        self, vector: Sequence[float], k: int = 4, *, where: MetadataFilter | None = None
    ) -> list[Document]:
        """The `k` closest documents passing `where`."""
        return [doc for doc, _ in await self.search_with_score(vector, k, where=where)]

    async def get(self, ids: Sequence[str]) -> list[Document]:
        """Stored documents among `ids`, in order."""
        if not ids:
            return []
        found = await self._call(self._get_blocking, list(dict.fromkeys(ids)))
        return [found[i] for i in ids if i in found]

    def _get_blocking(self, ids: list[str]) -> dict[str, Document]:
        out: dict[str, Document] = {}
        for part in _chunks(ids, self._batch):
            page = self._collection.get(ids=list(part), include=_INCLUDE)
            for i, text, meta in zip(
                page["ids"], page["documents"], page["metadatas"], strict=True
            ):
                out[i] = _document(i, text, meta)
        return out

    async def delete(self, ids: Sequence[str]) -> int:
        """Remove by id; how many were stored."""
        if not ids:
            return 0
        return await self._call(self._delete_blocking, list(dict.fromkeys(ids)))

    def _delete_blocking(self, ids: list[str]) -> int:
        present = list(self._get_blocking(ids))
        for part in _chunks(present, self._batch):
            self._collection.delete(ids=list(part))
        return len(present)

    async def documents(self, *, where: MetadataFilter | None = None) -> list[Document]:
        """Every document passing `where` (in Chroma's order)."""
        rule = normalize_filter(where)
        return await self._call(self._documents_blocking, rule)

    def _documents_blocking(self, rule: dict[str, list[Scalar]]) -> list[Document]:
        where = chroma_where(rule)
        out: list[Document] = []
        offset = 0
        while True:
            page = self._collection.get(
                where=where, limit=self._batch, offset=offset, include=_INCLUDE
            )
            docs = [
                _document(i, text, meta)
                for i, text, meta in zip(
                    page["ids"], page["documents"], page["metadatas"], strict=True
                )
            ]
            out.extend(d for d in docs if matches(d.metadata, rule))
            if len(docs) < self._batch:
                return out
            offset += self._batch

    async def count(self) -> int:
        """How many documents are stored."""
        return await self._call(lambda: int(self._collection.count()))

    def _close_blocking(self) -> None:
        try:
            if self._ephemeral:
                self._client.delete_collection(self._collection.name)
        finally:
            self._client.close()

    async def aclose(self) -> None:
        """Close the client (twice is fine); an in-memory store's data is dropped."""
        async with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._client is not None:
                try:
                    await asyncio.to_thread(self._close_blocking)
                finally:
                    self._client = self._collection = None
