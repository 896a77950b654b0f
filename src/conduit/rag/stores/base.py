"""The `VectorStore` protocol every backend implements, and what they share.

Scores are cosine similarities (1 is the same direction; higher is closer) on every
backend, so thresholds carry over when the store changes. Adding a document whose id
is already stored replaces it. Filters are `{key: value}` or `{key: [values]}` on
metadata (see `conduit.rag.documents.MetadataFilter`).

Example:
    >>> from conduit.rag.stores.memory import MemoryVectorStore
    >>> isinstance(MemoryVectorStore(), VectorStore)
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from conduit.errors import MissingDependencyError, ValidationError
from conduit.rag.documents import Document, MetadataFilter

__all__ = ["VectorStore", "check_batch", "check_k", "require"]


@runtime_checkable
class VectorStore(Protocol):
    """Documents with their vectors; nearest-neighbour search with metadata filters."""

    async def add(
        self, documents: Sequence[Document], vectors: Sequence[Sequence[float]]
    ) -> list[str]:
        """Store (or replace, by id) documents with one vector each; their ids."""
        ...

    async def search(
        self, vector: Sequence[float], k: int = 4, *, where: MetadataFilter | None = None
    ) -> list[Document]:
        """The `k` documents closest to `vector`, closest first."""
        ...

    async def search_with_score(
        self, vector: Sequence[float], k: int = 4, *, where: MetadataFilter | None = None
    ) -> list[tuple[Document, float]]:
        """The `k` closest documents with their cosine similarity, closest first."""
        ...

    async def get(self, ids: Sequence[str]) -> list[Document]:
        """The stored documents among `ids`, in that order (unknown ids skipped)."""
        ...

    async def delete(self, ids: Sequence[str]) -> int:
        """Remove documents by id; how many were stored."""
        ...

    async def documents(self, *, where: MetadataFilter | None = None) -> list[Document]:
        """Every stored document passing `where` (for keyword search and exports)."""
        ...

    async def count(self) -> int:
        """How many documents are stored."""
        ...

    async def aclose(self) -> None:
        """Release files, connections and clients."""
        ...


def check_batch(
    documents: Sequence[Document], vectors: Sequence[Sequence[float]], dimensions: int | None
) -> int:
    """Validate an `add` batch; the vectors' dimension.

    Example:
        >>> check_batch([Document("a")], [[0.1, 0.2]], None)
        2
    """
    if len(documents) != len(vectors):
        raise ValidationError(
            f"add() needs one vector per document: {len(documents)} documents, "
            f"{len(vectors)} vectors"
        )
    dims = {len(v) for v in vectors}
    if len(dims) > 1:
        raise ValidationError(f"vectors of different dimensions in one batch: {sorted(dims)}")
    dim = dims.pop() if dims else (dimensions or 0)
    if dim == 0 and documents:
        raise ValidationError("vectors must have at least one dimension")
    if dimensions is not None and documents and dim != dimensions:
        raise ValidationError(
            f"this store holds {dimensions}-dimensional vectors, not {dim}; use the same "
            "embedder for indexing and asking, or a new store"
        )
    for vector in vectors:
        if not all(math.isfinite(x) for x in vector):
            raise ValidationError("vectors must hold finite numbers (no NaN or infinity)")
    return dim


def check_k(k: int, vector: Sequence[float], dimensions: int | None) -> None:
    """Validate a search.

    Example:
        >>> check_k(0, [1.0], 1)
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: k must be at least 1, not 0...
    """
    if k < 1:
        raise ValidationError(f"k must be at least 1, not {k}")
    if dimensions is not None and len(vector) != dimensions:
        raise ValidationError(
            f"query vector has {len(vector)} dimensions, the store holds {dimensions}; "
            "use the embedder the store was indexed with"
        )


def require(module: str, extra: str, what: str) -> None:
    """Raise `MissingDependencyError` naming the extra when `module` is not installed.

    Example:
        >>> require("json", "none", "JSON")
    """
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(
            f'{what} needs the {module!r} package; install it with: pip install "conduit[{extra}]"'
        )
