"""BatchEmbedder: order kept, batches bounded, concurrency bounded, cache used."""

from __future__ import annotations

import asyncio

import pytest

from conduit.core.protocols import BaseEmbedder, ModelInfo
from conduit.errors import RateLimitError, ValidationError
from conduit.providers.fake import HashEmbedder
from conduit.rag.embedding import BatchEmbedder, resolve_embedder
from conduit.schema import Embeddings, Usage
from conduit.storage import MemoryCache


class Recording(BaseEmbedder):
    """Embeds each text as [len(text)], recording batches and peak concurrency."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.active = 0
        self.peak = 0
        self.fail_on = fail_on

    @property
    def model_info(self) -> ModelInfo:
        return ModelInfo("test", "len")

    async def _embed(self, texts: list[str]) -> Embeddings:
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(0.01)
            if self.fail_on in texts:
                raise RateLimitError("slow down", provider="test", status_code=429)
            self.batches.append(texts)
            return Embeddings(
                vectors=[[float(len(t)), 1.0] for t in texts],
                usage=Usage(input_tokens=len(texts)),
            )
        finally:
            self.active -= 1


async def test_batches_in_order_with_bounded_concurrency() -> None:
    inner = Recording()
    progress: list[tuple[int, int]] = []
    batched = BatchEmbedder(
        inner, batch_size=3, concurrency=2, on_progress=lambda d, t: progress.append((d, t))
    )
    texts = ["x" * n for n in range(1, 11)]
    result = await batched.embed(texts)
    assert [v[0] for v in result.vectors] == [float(n) for n in range(1, 11)]
    assert sorted(len(b) for b in inner.batches) == [1, 3, 3, 3]
    assert inner.peak == 2
    assert result.usage.input_tokens == 10
    assert progress[0] == (0, 10)
    assert progress[-1] == (10, 10)


async def test_cache_sends_only_new_texts() -> None:
    inner = Recording()
    cache = MemoryCache()
    batched = BatchEmbedder(inner, batch_size=10, cache=cache)
    first = await batched.embed(["aa", "b"])
    second = await batched.embed(["b", "ccc", "aa"])
    assert inner.batches == [["aa", "b"], ["ccc"]]
    assert second.vectors == [first.vectors[1], [3.0, 1.0], first.vectors[0]]


async def test_first_error_propagates_as_itself() -> None:
    batched = BatchEmbedder(Recording(fail_on="bad"), batch_size=1, concurrency=4)
    with pytest.raises(RateLimitError):
        await batched.embed(["ok", "bad", "fine", "also"])


async def test_wrong_vector_count_is_reported() -> None:
    class Short(Recording):
        async def _embed(self, texts: list[str]) -> Embeddings:
            return Embeddings(vectors=[[1.0]])

    with pytest.raises(ValidationError, match="returned 1 vectors for 2 texts"):
        await BatchEmbedder(Short()).embed(["a", "b"])


def test_settings_are_checked_and_refs_resolved() -> None:
    with pytest.raises(ValidationError):
        BatchEmbedder(HashEmbedder(), batch_size=0)
    assert resolve_embedder(None).model_info.ref == "local/all-minilm-l6-v2"
    embedder = HashEmbedder()
    assert resolve_embedder(embedder) is embedder
    assert BatchEmbedder("fake/hash").model_info.ref == "fake/hash"


async def test_any_embedder_over_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """An OpenAI embedder (real HTTP to a scripted server on 127.0.0.1), batched."""
    from conduit.api import embedder
    from tests.support.openai_server import OpenAITestServer

    server = OpenAITestServer().start()
    try:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-000000000000")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        inner = embedder("openai/text-embedding-3-small")
        batched = BatchEmbedder(inner, batch_size=2, concurrency=2)
        texts = ["a", "bb", "ccc", "dddd", "eeeee"]
        result = await batched.embed(texts)
        single = await inner.embed(texts)
        assert result.vectors == single.vectors
        assert result.usage.input_tokens == single.usage.input_tokens
        await inner.aclose()  # type: ignore[attr-defined]
    finally:
        server.stop()
