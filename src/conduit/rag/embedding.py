"""Embedding many texts: in batches, a bounded number in flight, optionally cached.

`BatchEmbedder` wraps any `Embedder` (OpenAI, Gemini, Ollama, `local/all-minilm-l6-v2`)
and is an `Embedder` itself. Cached vectors live in any `conduit.storage.CacheBackend`
(`MemoryCache`, `SQLiteCache`, `RedisCache`) under the model and a hash of the text,
so re-indexing unchanged chunks costs nothing.

Example:
    >>> import asyncio
    >>> from conduit.providers.fake import HashEmbedder
    >>> from conduit.storage import MemoryCache
    >>> batched = BatchEmbedder(HashEmbedder(dimensions=4), batch_size=2, cache=MemoryCache())
    >>> len(asyncio.run(batched.embed(["a", "b", "c"])))
    3
"""

from __future__ import annotations

import asyncio
import hashlib
from array import array
from collections.abc import Callable, Sequence

from conduit.core.protocols import BaseEmbedder, Embedder, ModelInfo
from conduit.errors import ValidationError
from conduit.schema import Embeddings, Usage
from conduit.storage.cache import CacheBackend

__all__ = ["BatchEmbedder", "DEFAULT_EMBEDDER", "resolve_embedder"]

DEFAULT_EMBEDDER = "local/all-minilm-l6-v2"
"""Offline by default: MiniLM in numpy, no key and no network."""


def resolve_embedder(embedder: str | Embedder | None) -> Embedder:
    """An `Embedder` from a `provider/model` string, an object, or None (the default).

    Example:
        >>> resolve_embedder("fake/hash").model_info.ref
        'fake/hash'
    """
    if embedder is None:
        embedder = DEFAULT_EMBEDDER
    if isinstance(embedder, str):
        from conduit.api import embedder as make

        return make(embedder)
    return embedder


def _pack(vector: Sequence[float]) -> bytes:
    return array("f", vector).tobytes()


def _unpack(blob: bytes) -> list[float]:
    return array("f", blob).tolist()


class BatchEmbedder(BaseEmbedder):
    """`inner` in batches of `batch_size`, at most `concurrency` batches at once, in
    input order; with `cache`, only texts not seen before reach the model.

    `on_progress(done, total)` is called as batches finish (for progress bars).

    Example:
        >>> from conduit.providers.fake import HashEmbedder
        >>> BatchEmbedder(HashEmbedder()).model_info.ref
        'fake/hash'
    """

    def __init__(
        self,
        inner: str | Embedder | None = None,
        *,
        batch_size: int = 64,
        concurrency: int = 4,
        cache: CacheBackend | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        if batch_size < 1 or concurrency < 1:
            raise ValidationError("batch_size and concurrency must be at least 1")
        self.inner = resolve_embedder(inner)
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.cache = cache
        self.on_progress = on_progress

    @property
    def model_info(self) -> ModelInfo:
        return self.inner.model_info

    def _key(self, text: str) -> str:
        digest = hashlib.sha256(text.encode()).hexdigest()
        return f"conduit:embedding:{self.model_info.ref}:{digest}"

    async def _embed(self, texts: list[str]) -> Embeddings:
        vectors: list[list[float] | None] = [None] * len(texts)
        if self.cache is not None:
            for i, text in enumerate(texts):
                blob = await self.cache.get(self._key(text))
                if blob is not None:
                    vectors[i] = _unpack(blob)
        todo = [i for i, v in enumerate(vectors) if v is None]
        batches = [todo[n : n + self.batch_size] for n in range(0, len(todo), self.batch_size)]
        gate = asyncio.Semaphore(self.concurrency)
        usage = Usage()
        done = len(texts) - len(todo)
        if self.on_progress is not None:
            self.on_progress(done, len(texts))

        async def run(batch: list[int]) -> None:
            nonlocal usage, done
            async with gate:
                result = await self.inner.embed([texts[i] for i in batch])
            if len(result.vectors) != len(batch):
                raise ValidationError(
                    f"{self.model_info.ref} returned {len(result.vectors)} vectors "
                    f"for {len(batch)} texts"
                )
            usage = usage + result.usage
            for i, vector in zip(batch, result.vectors, strict=True):
                vectors[i] = vector
                if self.cache is not None:
                    await self.cache.set(self._key(texts[i]), _pack(vector))
            done += len(batch)
            if self.on_progress is not None:
                self.on_progress(done, len(texts))

        tasks = [asyncio.ensure_future(run(batch)) for batch in batches]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            # the first error wins, as a plain ConduitError (not an ExceptionGroup)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return Embeddings(
            vectors=[v for v in vectors if v is not None],
            model=self.model_info.name,
            usage=usage,
        )
