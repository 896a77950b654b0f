"""A transparent embedder for retrieval tests: one dimension per vocabulary word."""

from __future__ import annotations

from conduit.core.protocols import BaseEmbedder, ModelInfo
from conduit.rag.bm25 import tokenize
from conduit.schema import Embeddings

VOCAB = ["cat", "dog", "pet", "car", "engine", "wheel", "sky", "blue", "red", "apple"]


class WordEmbedder(BaseEmbedder):
    """Counts of each vocabulary word (a text without any is the zero vector)."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    @property
    def model_info(self) -> ModelInfo:
        return ModelInfo("test", "words")

    async def _embed(self, texts: list[str]) -> Embeddings:
        self.calls.append(texts)
        vectors = []
        for text in texts:
            words = tokenize(text)
            vectors.append([float(words.count(w)) for w in VOCAB])
        return Embeddings(vectors=vectors)
