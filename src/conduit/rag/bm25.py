"""Okapi BM25 keyword scoring and reciprocal rank fusion, for hybrid retrieval.

BM25 as in Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and
Beyond" (2009), with the non-negative idf `log(1 + (N - n + 0.5) / (n + 0.5))`.
Reciprocal rank fusion as in Cormack, Clarke & Büttcher (SIGIR 2009): `Σ 1 / (k + rank)`.

Example:
    >>> index = BM25(["the cat sat", "dogs bark loudly", "a cat and a dog"])
    >>> [i for i, _ in index.top("cat", 2)]
    [0, 2]
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Hashable, Sequence

__all__ = ["BM25", "reciprocal_rank_fusion", "tokenize"]

_WORD = re.compile(r"\w+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens.

    Example:
        >>> tokenize("Hello, World!")
        ['hello', 'world']
    """
    return _WORD.findall(text.lower())


class BM25:
    """A BM25 index over a fixed list of texts.

    Example:
        >>> BM25(["a b", "c"]).scores("c")[1] > 0
        True
    """

    def __init__(self, texts: Sequence[str], *, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self._docs = [Counter(tokenize(t)) for t in texts]
        self._lengths = [sum(c.values()) for c in self._docs]
        self._avg = (sum(self._lengths) / len(self._docs)) if self._docs else 0.0
        df: Counter[str] = Counter()
        for counts in self._docs:
            df.update(counts.keys())
        n = len(self._docs)
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def scores(self, query: str) -> list[float]:
        """The BM25 score of every text for `query`, in text order."""
        terms = tokenize(query)
        out = []
        for counts, length in zip(self._docs, self._lengths, strict=True):
            score = 0.0
            norm = self.k1 * (1 - self.b + self.b * length / (self._avg or 1.0))
            for term in terms:
                tf = counts.get(term, 0)
                if tf:
                    score += self._idf[term] * tf * (self.k1 + 1) / (tf + norm)
            out.append(score)
        return out

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        """Indices and scores of the `k` best texts with a positive score, best first."""
        ranked = sorted(enumerate(self.scores(query)), key=lambda p: (-p[1], p[0]))
        return [(i, s) for i, s in ranked[:k] if s > 0]


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Hashable]], *, k: int = 60
) -> list[tuple[Hashable, float]]:
    """Fuse ranked lists of keys: each key scores `Σ 1 / (k + rank)` (rank from 1).

    Example:
        >>> [key for key, _ in reciprocal_rank_fusion([["a", "b"], ["b", "c"]])]
        ['b', 'a', 'c']
    """
    scores: dict[Hashable, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])
