"""Vector stores: index throughput and query latency, numpy and SQLite side by side with
the floor (a bare numpy matrix product over the same vectors).

Usage: python benchmarks/rag.py [--vectors 10000] [--dim 384] [--queries 200] [--faiss]
Vectors are random unit vectors (seeded); metadata has a 10-valued `group` key, so a
filtered query keeps about a tenth of the store. Reports vectors/s for `add` (in batches
of 500), and p50/p95 of `search_with_score(k=10)` unfiltered and filtered, plus the first
query after reopening the SQLite file (vectors loaded from disk).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from conduit.rag.documents import Document
from conduit.rag.stores.base import VectorStore
from conduit.rag.stores.memory import MemoryVectorStore
from conduit.rag.stores.sqlite import SQLiteVectorStore


def data(n: int, dim: int) -> tuple[list[Document], Any]:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    docs = [Document(f"chunk {i}", {"group": i % 10, "source": f"f{i // 50}.md"}, id=f"d{i}")
            for i in range(n)]  # fmt: skip
    return docs, vectors


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def timed_queries(store: VectorStore, queries: Any, where: Any = None) -> list[float]:
    out = []
    for q in queries:
        start = time.perf_counter()
        await store.search_with_score(q.tolist(), k=10, where=where)
        out.append(time.perf_counter() - start)
    return out


async def measure(name: str, store: VectorStore, docs: list[Document], vectors: Any,
                  queries: Any) -> dict[str, float]:  # fmt: skip
    start = time.perf_counter()
    for n in range(0, len(docs), 500):
        await store.add(docs[n : n + 500], vectors[n : n + 500].tolist())
    add_s = time.perf_counter() - start
    await store.search_with_score(queries[0].tolist(), k=10)  # warm (builds the matrix)
    plain = await timed_queries(store, queries)
    filtered = await timed_queries(store, queries, {"group": 3})
    return {
        "add_per_s": len(docs) / add_s,
        "p50": pct(plain, 0.5),
        "p95": pct(plain, 0.95),
        "f_p50": pct(filtered, 0.5),
        "f_p95": pct(filtered, 0.95),
    }


def floor(vectors: Any, queries: Any) -> dict[str, float]:
    samples = []
    for q in queries:
        start = time.perf_counter()
        scores = vectors @ q
        top = np.argpartition(-scores, 10)[:10]
        top[np.argsort(-scores[top])]
        samples.append(time.perf_counter() - start)
    return {"p50": pct(samples, 0.5), "p95": pct(samples, 0.95)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vectors", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--faiss", action="store_true", help="also measure FaissVectorStore")
    args = parser.parse_args()
    docs, vectors = data(args.vectors, args.dim)
    queries = data(args.queries, args.dim)[1][::-1].copy()

    bare = floor(vectors, queries)  # first: FAISS's OpenMP threads would slow it down
    rows: dict[str, dict[str, float]] = {}
    rows["memory (numpy)"] = await measure("memory", MemoryVectorStore(), docs, vectors, queries)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        sqlite = SQLiteVectorStore(path)
        rows["sqlite"] = await measure("sqlite", sqlite, docs, vectors, queries)
        await sqlite.aclose()
        reopened = SQLiteVectorStore(path)
        start = time.perf_counter()
        await reopened.search_with_score(queries[0].tolist(), k=10)
        cold = (time.perf_counter() - start) * 1000
        await reopened.aclose()
        if args.faiss:
            from conduit.rag.stores.faiss_store import FaissVectorStore

            rows["faiss (flat)"] = await measure("faiss", FaissVectorStore(), docs, vectors,
                                                 queries)  # fmt: skip

    print(f"{args.vectors} vectors x {args.dim} dims, {args.queries} queries, k=10\n")
    print(f"{'store':16} {'add vec/s':>10} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'filt p50':>9} {'filt p95':>9}")  # fmt: skip
    print(f"{'floor (numpy @)':16} {'-':>10} {bare['p50']:8.2f} {bare['p95']:8.2f} "
          f"{'-':>9} {'-':>9}")  # fmt: skip
    for name, r in rows.items():
        print(f"{name:16} {r['add_per_s']:10.0f} {r['p50']:8.2f} {r['p95']:8.2f} "
              f"{r['f_p50']:9.2f} {r['f_p95']:9.2f}")  # fmt: skip
    print(f"\nsqlite first query after reopening (loads {args.vectors} vectors): {cold:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
