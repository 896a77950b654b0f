"""`PgVectorStore`: PostgreSQL with the pgvector extension, through asyncpg.

Needs `pip install "conduit[pgvector]"` and a server where `CREATE EXTENSION vector`
works (pgvector ≥ 0.5). One table per store: `id`, `text`, `metadata jsonb`,
`embedding vector(d)`, created on the first `add`. Search orders by pgvector's cosine
distance `<=>` (score = 1 - distance); filters use jsonb containment (`@>`), which
keeps `true` apart from `1` as the other stores do. The search is exact; for millions
of rows add an HNSW index (`CREATE INDEX ON t USING hnsw (embedding vector_cosine_ops)`).
The SQL lives here, beside the only code that uses this table, not in `conduit.storage`.

Example:
    >>> PgVectorStore("postgresql://127.0.0.1/db", table="notes").table
    'notes'
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from conduit.errors import StorageError, ValidationError
from conduit.rag.documents import Document, MetadataFilter, normalize_filter
from conduit.rag.stores.base import check_batch, check_k, require

__all__ = ["PgVectorStore", "vector_literal"]

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def vector_literal(vector: Sequence[float]) -> str:
    """pgvector's text form of a vector.

    Example:
        >>> vector_literal([1, 0.5])
        '[1.0,0.5]'
    """
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


class PgVectorStore:
    """A pgvector table reached at `dsn` (a pool of `pool_size` connections).

    Example:
        >>> PgVectorStore("postgresql://127.0.0.1/db", table="Bad-Name")
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: table name 'Bad-Name' must be lower-case letters...
    """

    def __init__(self, dsn: str, *, table: str = "conduit_documents", pool_size: int = 4) -> None:
        if not _IDENT.match(table):
            raise ValidationError(
                f"table name {table!r} must be lower-case letters, digits and '_' "
                "(not starting with a digit)"
            )
        require("asyncpg", "pgvector", "the pgvector store")
        self.dsn = dsn
        self.table = table
        self.pool_size = pool_size
        self.dimensions: int | None = None
        self._pool: Any = None
        self._ready = False

    def __repr__(self) -> str:
        return f"PgVectorStore(table={self.table!r})"  # never the DSN: it may hold a password

    async def _connect(self) -> Any:
        if self._pool is None:
            import asyncpg  # type: ignore[import-untyped,unused-ignore]

            try:
                self._pool = await asyncpg.create_pool(
                    self.dsn, min_size=1, max_size=self.pool_size
                )
            except (OSError, asyncpg.PostgresError) as exc:
                raise StorageError(
                    f"cannot reach PostgreSQL for the pgvector store: {type(exc).__name__}"
                ) from None
        if not self._ready:
            async with self._pool.acquire() as conn:
                row = await conn.fetchrow(
                    "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                    "WHERE a.attrelid = to_regclass($1) AND a.attname = 'embedding'",
                    self.table,
                )
            if row is not None:
                match = re.search(r"\((\d+)\)", row[0])
                self.dimensions = int(match.group(1)) if match else None
            self._ready = True
        return self._pool

    async def _create(self, dim: int) -> None:
        pool = await self._connect()
        async with pool.acquire() as conn:
            try:
                await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            except Exception as exc:
                raise StorageError(
                    f"the server cannot load pgvector (CREATE EXTENSION vector failed: {exc}); "
                    "install pgvector on the PostgreSQL server"
                ) from None
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} (id text PRIMARY KEY, "
                f"text text NOT NULL, metadata jsonb NOT NULL, embedding vector({dim}) NOT NULL)"
            )
        self.dimensions = dim

    def _where(self, where: MetadataFilter | None, first: int) -> tuple[str, list[str]]:
        clauses, params = [], []
        for key, values in normalize_filter(where).items():
            alternatives = []
            for value in values:
                params.append(json.dumps({key: value}))
                alternatives.append(f"metadata @> ${first + len(params) - 1}::jsonb")
            clauses.append("(" + " OR ".join(alternatives) + ")")
        return (" AND ".join(clauses) or "TRUE"), params

    async def add(
        self, documents: Sequence[Document], vectors: Sequence[Sequence[float]]
    ) -> list[str]:
        """Store or replace documents with their vectors (one transaction)."""
        pool = await self._connect()
        dim = check_batch(documents, vectors, self.dimensions)
        if not documents:
            return []
        if self.dimensions is None:
            await self._create(dim)
        latest = {doc.id: (doc, vec) for doc, vec in zip(documents, vectors, strict=True)}
        rows = [
            (doc.id, doc.text, json.dumps(doc.metadata), vector_literal(vec))
            for doc, vec in latest.values()
        ]
        async with pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                f"INSERT INTO {self.table} (id, text, metadata, embedding) "
                "VALUES ($1, $2, $3::jsonb, $4::vector) ON CONFLICT (id) DO UPDATE SET "
                "text = EXCLUDED.text, metadata = EXCLUDED.metadata, "
                "embedding = EXCLUDED.embedding",
                rows,
            )
        return [doc.id for doc in documents]

    @staticmethod
    def _document(row: Any) -> Document:
        return Document(row["text"], json.loads(row["metadata"]), id=row["id"])

    async def search_with_score(
        self, vector: Sequence[float], k: int = 4, *, where: MetadataFilter | None = None
    ) -> list[tuple[Document, float]]:
        """The `k` closest documents passing `where`, with cosine similarity."""
        pool = await self._connect()
        check_k(k, vector, self.dimensions)
        if self.dimensions is None:
            return []
        condition, params = self._where(where, 3)
        rows = await pool.fetch(
            f"SELECT id, text, metadata::text AS metadata, 1 - (embedding <=> $1::vector) AS score "
            f"FROM {self.table} WHERE {condition} ORDER BY embedding <=> $1::vector, id LIMIT $2",
            vector_literal(vector),
            k,
            *params,
        )
        return [(self._document(r), float(r["score"])) for r in rows]

    async def search(
        self, vector: Sequence[float], k: int = 4, *, where: MetadataFilter | None = None
    ) -> list[Document]:
        """The `k` closest documents passing `where`."""
        return [doc for doc, _ in await self.search_with_score(vector, k, where=where)]

    async def get(self, ids: Sequence[str]) -> list[Document]:
        """Stored documents among `ids`, in order."""
        pool = await self._connect()
        if not ids or self.dimensions is None:
            return []
        rows = await pool.fetch(
            f"SELECT id, text, metadata::text AS metadata FROM {self.table} WHERE id = ANY($1)",
            list(set(ids)),
        )
        found = {d.id: d for d in map(self._document, rows)}
        return [found[i] for i in ids if i in found]

    async def delete(self, ids: Sequence[str]) -> int:
        """Remove by id; how many were stored."""
        pool = await self._connect()
        if not ids or self.dimensions is None:
            return 0
        status = await pool.execute(f"DELETE FROM {self.table} WHERE id = ANY($1)", list(set(ids)))
        return int(status.split()[-1])

    async def documents(self, *, where: MetadataFilter | None = None) -> list[Document]:
        """Every document passing `where`, by id."""
        pool = await self._connect()
        if self.dimensions is None:
            return []
        condition, params = self._where(where, 1)
        rows = await pool.fetch(
            f"SELECT id, text, metadata::text AS metadata FROM {self.table} "
            f"WHERE {condition} ORDER BY id",
            *params,
        )
        return [self._document(r) for r in rows]

    async def count(self) -> int:
        """How many documents are stored."""
        pool = await self._connect()
        if self.dimensions is None:
            return 0
        return int(await pool.fetchval(f"SELECT count(*) FROM {self.table}"))

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            self._ready = False
            await pool.close()
