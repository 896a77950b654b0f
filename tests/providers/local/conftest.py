"""The real embedded model, loaded once for the whole test session."""

from __future__ import annotations

import pytest

from conduit.providers.local import LocalChatModel, LocalEmbedder


@pytest.fixture(scope="session")
def smol() -> LocalChatModel:
    """SmolLM2-135M-Instruct with default settings (shared with docs and examples)."""
    model = LocalChatModel("default")
    model.engine()  # load now, so no single test pays for it
    return model


@pytest.fixture(scope="session")
def minilm() -> LocalEmbedder:
    embedder = LocalEmbedder()
    embedder.encoder()
    return embedder
