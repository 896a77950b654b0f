"""Exact cosine search in numpy, shared by the in-memory and SQLite stores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["normalize", "top_k"]

Matrix = Any  # numpy array of float32, one unit row per document


def normalize(vectors: Sequence[Sequence[float]] | Matrix) -> Matrix:
    """Rows scaled to unit length (zero rows stay zero), as float32.

    Example:
        >>> normalize([[3.0, 4.0]]).tolist()
        [[0.6000000238418579, 0.800000011920929]]
    """
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


def top_k(matrix: Matrix, query: Sequence[float], k: int) -> list[tuple[int, float]]:
    """Row indices of the `k` rows most similar to `query` (cosine), best first.

    Example:
        >>> top_k(normalize([[1, 0], [0, 1]]), [0.1, 1.0], 1)
        [(1, 0.99503...)]
    """
    if len(matrix) == 0:
        return []
    scores = matrix @ normalize(query)[0]
    k = min(k, len(scores))
    picked = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    # best first; ties in input order, so results are repeatable
    order = sorted(picked.tolist(), key=lambda i: (-float(scores[i]), i))
    return [(i, float(scores[i])) for i in order]
