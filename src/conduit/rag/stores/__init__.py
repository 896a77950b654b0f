"""Vector stores behind one protocol (`VectorStore`), each backend imported on first use.

| store | where | extra |
| --- | --- | --- |
| `ChromaVectorStore` | Chroma in memory, in a folder or on a server (`host=`) | `chroma` |
| `MemoryVectorStore` | numpy, in this process (default; `save`/`load` a `.npz`) | `rag` |
| `SQLiteVectorStore` | one SQLite file, survives restarts | `rag` |
| `FaissVectorStore` | FAISS flat index, optional folder | `faiss` |
| `QdrantVectorStore` | Qdrant local mode (memory or folder) or server (`url=`) | `qdrant` |
| `PgVectorStore` | PostgreSQL + pgvector | `pgvector` |

`open_store(spec)` opens one from a string: `"memory"`, `"sqlite:///path/file.db"` (or a
path ending in `.sqlite3`/`.db`), `"faiss:///folder"`, `"qdrant:///folder"`,
`"qdrant+http://host:6333"`, `"chroma://"` (in memory), `"chroma:///folder"`,
`"chroma+http://host:8000"`, `"postgresql://user@host/db"`.

Example:
    >>> type(open_store("memory")).__name__
    'MemoryVectorStore'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from conduit.rag.stores.base import VectorStore

if TYPE_CHECKING:
    from conduit.rag.stores.chroma import ChromaVectorStore
    from conduit.rag.stores.faiss_store import FaissVectorStore
    from conduit.rag.stores.memory import MemoryVectorStore
    from conduit.rag.stores.pgvector import PgVectorStore
    from conduit.rag.stores.qdrant import QdrantVectorStore
    from conduit.rag.stores.sqlite import SQLiteVectorStore

__all__ = [
    "ChromaVectorStore",
    "FaissVectorStore",
    "MemoryVectorStore",
    "PgVectorStore",
    "QdrantVectorStore",
    "SQLiteVectorStore",
    "VectorStore",
    "open_store",
]

_LAZY = {
    "ChromaVectorStore": "conduit.rag.stores.chroma",
    "FaissVectorStore": "conduit.rag.stores.faiss_store",
    "MemoryVectorStore": "conduit.rag.stores.memory",
    "PgVectorStore": "conduit.rag.stores.pgvector",
    "QdrantVectorStore": "conduit.rag.stores.qdrant",
    "SQLiteVectorStore": "conduit.rag.stores.sqlite",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return list(__all__)


def open_store(spec: str, **options: Any) -> VectorStore:
    """A vector store from a spec string (see the module docs); `options` go to it.

    Example:
        >>> open_store("mongo://x")
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: unknown vector store 'mongo://x'...
    """
    from conduit.errors import ValidationError
    from conduit.rag.stores.memory import MemoryVectorStore

    if spec in {"memory", ":memory:"}:
        return MemoryVectorStore()
    scheme, _, rest = spec.partition("://")
    if scheme == "sqlite" or (not rest and spec.endswith((".sqlite3", ".sqlite", ".db"))):
        from conduit.rag.stores.sqlite import SQLiteVectorStore

        return SQLiteVectorStore(rest.removeprefix("/") if rest else spec, **options)
    if scheme == "faiss":
        from conduit.rag.stores.faiss_store import FaissVectorStore

        return FaissVectorStore(rest.removeprefix("/") or None, **options)
    if scheme == "qdrant":
        from conduit.rag.stores.qdrant import QdrantVectorStore

        return QdrantVectorStore(rest.removeprefix("/") or ":memory:", **options)
    if scheme.startswith("qdrant+"):
        from conduit.rag.stores.qdrant import QdrantVectorStore

        return QdrantVectorStore(url=f"{scheme.removeprefix('qdrant+')}://{rest}", **options)
    if scheme == "chroma":
        from conduit.rag.stores.chroma import ChromaVectorStore

        return ChromaVectorStore(rest.removeprefix("/") or None, **options)
    if scheme in {"chroma+http", "chroma+https"}:
        from urllib.parse import urlsplit

        from conduit.rag.stores.chroma import ChromaVectorStore

        url = urlsplit(f"http://{rest}")
        secure = scheme == "chroma+https"
        port = url.port or (443 if secure else 8000)
        return ChromaVectorStore(host=url.hostname, port=port, ssl=secure, **options)
    if scheme in {"postgresql", "postgres"}:
        from conduit.rag.stores.pgvector import PgVectorStore

        return PgVectorStore(spec, **options)
    raise ValidationError(
        f"unknown vector store {spec!r}; use memory, sqlite:///file.db, faiss:///folder, "
        "qdrant:///folder, qdrant+http://host:6333, chroma:///folder, chroma+http://host:8000 "
        "or postgresql://..."
    )
