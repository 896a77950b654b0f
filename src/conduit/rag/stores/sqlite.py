"""`SQLiteVectorStore`: documents and vectors in one SQLite file that survives restarts.

Search is exact (cosine, numpy) over the stored vectors; the vectors are read once and
kept in memory until the file changes (`PRAGMA data_version` notices writes by other
connections and processes). Metadata filters run in SQL (`json_extract`) first.
The SQL lives here rather than in `conduit.storage`, because it only makes sense for
this store's table of documents and float32 vectors.

Example:
    >>> import asyncio
    >>> async def main():
    ...     store = SQLiteVectorStore(":memory:")
    ...     await store.add([Document("tea", {"kind": "drink"}, id="t")], [[1.0, 0.0]])
    ...     hits = await store.search([1.0, 0.0], where={"kind": "drink"})
    ...     await store.aclose()
    ...     return [d.id for d in hits]
    >>> asyncio.run(main())
    ['t']
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from conduit.errors import StorageError
from conduit.rag.documents import Document, MetadataFilter, Scalar, normalize_filter
from conduit.rag.stores.base import check_batch, check_k, require

__all__ = ["SQLiteVectorStore", "where_sql"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rag_documents (
    id TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    metadata TEXT NOT NULL,
    vector BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS rag_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def where_sql(where: MetadataFilter | None) -> tuple[str, list[Scalar]]:
    """A SQL condition (and its parameters) for a metadata filter on JSON `metadata`.

    Booleans match JSON true/false only, as in the other stores.

    Example:
        >>> where_sql({"done": True})
        ('(json_type(metadata, ?) = ?)', ['$."done"', 'true'])
    """
    clauses: list[str] = []
    params: list[Scalar] = []
    for key, values in normalize_filter(where).items():
        path = f'$."{key}"'
        alternatives = []
        for value in values:
            if isinstance(value, bool):
                alternatives.append("json_type(metadata, ?) = ?")
                params.extend([path, "true" if value else "false"])
            else:
                alternatives.append(
                    "json_extract(metadata, ?) = ? AND json_type(metadata, ?) "
                    "NOT IN ('true', 'false')"
                )
                params.extend([path, value, path])
        clauses.append("(" + " OR ".join(alternatives) + ")")
    return " AND ".join(clauses) or "1", params


class SQLiteVectorStore:
    """A persistent store in a SQLite file (`":memory:"` for a throwaway one).

    Example:
        >>> import asyncio, pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "rag.sqlite3"
        >>> store = SQLiteVectorStore(path)
        >>> _ = asyncio.run(store.add([Document("kept", id="k")], [[0.5, 0.5]]))
        >>> asyncio.run(store.aclose())
        >>> asyncio.run(SQLiteVectorStore(path).count())
        1
    """

    def __init__(self, path: str | Path) -> None:
        require("numpy", "rag", "the SQLite vector store")
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(self.path, check_same_thread=False)
            self._conn.executescript(_SCHEMA)
            row = self._conn.execute("SELECT value FROM rag_info WHERE key='dimensions'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"{self.path} is not a usable SQLite vector store: {exc}") from None
        self.dimensions: int | None = int(row[0]) if row else None
        self._lock = threading.Lock()
        # (data_version, ids, rowids, unit vectors), all in rowid order
        self._cache: tuple[int, list[str], Any, Any] | None = None
        self._closed = False

    async def _run(self, fn: Callable[[], T]) -> T:
        def locked() -> T:
            with self._lock:
                if self._closed:
                    raise StorageError(f"the vector store {self.path} is closed")
                return fn()

        return await asyncio.to_thread(locked)

    def _version(self) -> int:
        version: int = self._conn.execute("PRAGMA data_version").fetchone()[0]
        return version

    async def add(
        self, documents: Sequence[Document], vectors: Sequence[Sequence[float]]
    ) -> list[str]:
        """Store or replace documents with their vectors (one transaction)."""
        dim = check_batch(documents, vectors, self.dimensions)
        rows = [
            (d.id, d.text, json.dumps(d.metadata), array("f", v).tobytes())
            for d, v in zip(documents, vectors, strict=True)
        ]

        def write() -> None:
            with self._conn:
                if rows and self.dimensions is None:
                    self._conn.execute(
                        "INSERT OR REPLACE INTO rag_info VALUES ('dimensions', ?)", (str(dim),)
                    )
                self._conn.executemany(
                    "INSERT OR REPLACE INTO rag_documents VALUES (?, ?, ?, ?)", rows
                )
            self._cache = None

        await self._run(write)
        if rows:
            self.dimensions = dim
        return [d.id for d in documents]

    def _all_vectors(self) -> tuple[list[str], Any, Any]:
        import numpy as np

        from conduit.rag.stores._exact import normalize

        version = self._version()
        if self._cache is not None and self._cache[0] == version:
            return self._cache[1], self._cache[2], self._cache[3]
        ids, rowids, blobs = [], [], []
        for rowid, row_id, blob in self._conn.execute(
            "SELECT rowid, id, vector FROM rag_documents ORDER BY rowid"
        ):
            rowids.append(rowid)
            ids.append(row_id)
            blobs.append(blob)
        matrix = self._matrix(blobs)
        unit = normalize(matrix) if ids else matrix
        self._cache = (version, ids, np.asarray(rowids, dtype=np.int64), unit)
        return ids, self._cache[2], unit

    def _matrix(self, blobs: list[bytes]) -> Any:
        import numpy as np

        dim = self.dimensions or 0
        if not blobs:
            return np.zeros((0, dim), dtype=np.float32)
        return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1)

    async def search_with_score(
        self, vector: Sequence[float], k: int = 4, *, where: MetadataFilter | None = None
    ) -> list[tuple[Document, float]]:
        """The `k` closest documents passing `where`, with cosine similarity."""
        check_k(k, vector, self.dimensions)
        condition, params = where_sql(where)

        def search() -> list[tuple[str, float]]:
            import numpy as np

            from conduit.rag.stores._exact import top_k

            ids, rowids, matrix = self._all_vectors()
            if not ids:
                return []
            if params:
                # the filter runs in SQL; the cached vectors are picked by rowid
                wanted = np.fromiter(
                    (r[0] for r in self._conn.execute(
                        f"SELECT rowid FROM rag_documents WHERE {condition}", params
                    )),
                    dtype=np.int64,
                )  # fmt: skip
                pos = np.searchsorted(rowids, wanted)
                pos = pos[
                    (pos < len(rowids)) & (rowids[np.minimum(pos, len(rowids) - 1)] == wanted)
                ]
                ids = [ids[p] for p in pos.tolist()]
                matrix = matrix[pos]
            return [(ids[n], score) for n, score in top_k(matrix, vector, k)]

        hits = await self._run(search)
        docs = {d.id: d for d in await self.get([i for i, _ in hits])}
        return [(docs[i], score) for i, score in hits if i in docs]

    async def search(
        self, vector: Sequence[float], k: int = 4, *, where: MetadataFilter | None = None
    ) -> list[Document]:
        """The `k` closest documents passing `where`."""
        return [doc for doc, _ in await self.search_with_score(vector, k, where=where)]

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[Document]:
        return [
            Document(text, json.loads(meta), id=row_id)
            for row_id, text, meta in self._conn.execute(sql, params)
        ]

    async def get(self, ids: Sequence[str]) -> list[Document]:
        """Stored documents among `ids`, in order."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        found = await self._run(
            lambda: self._fetch(
                f"SELECT id, text, metadata FROM rag_documents WHERE id IN ({marks})", wanted
            )
        )
        by_id = {d.id: d for d in found}
        return [by_id[i] for i in ids if i in by_id]

    async def delete(self, ids: Sequence[str]) -> int:
        """Remove by id; how many were stored."""
        wanted = list(set(ids))

        def remove() -> int:
            with self._conn:
                return self._conn.executemany(
                    "DELETE FROM rag_documents WHERE id = ?", [(i,) for i in wanted]
                ).rowcount

        return await self._run(remove) if wanted else 0

    async def documents(self, *, where: MetadataFilter | None = None) -> list[Document]:
        """Every document passing `where`, in insertion order."""
        condition, params = where_sql(where)
        sql = f"SELECT id, text, metadata FROM rag_documents WHERE {condition} ORDER BY rowid"
        return await self._run(lambda: self._fetch(sql, params))

    async def count(self) -> int:
        """How many documents are stored."""
        row = await self._run(
            lambda: self._conn.execute("SELECT count(*) FROM rag_documents").fetchone()
        )
        return int(row[0])

    async def aclose(self) -> None:
        """Close the file (safe to call twice)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()
