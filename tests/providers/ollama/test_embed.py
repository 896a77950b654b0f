"""Embeddings through Ollama's `/api/embed`: one request, vectors in input order."""

from __future__ import annotations

from typing import Any

import pytest

import conduit
from conduit.errors import APIConnectionError
from conduit.providers.ollama import OllamaEmbedder
from tests.providers.ollama.conftest import BASE, embedder, load_fixture, reply

TEXTS = ["Why is the sky blue?", "Why is the grass green?"]


async def test_embed_a_list_keeps_the_order() -> None:
    model, transport = embedder(reply("embed"))
    result = await model.embed(TEXTS)

    data = load_fixture("embed")
    assert result.vectors == data["embeddings"]
    assert len(result) == 2
    assert result[0][0] == pytest.approx(0.010071029)
    assert result[1][0] == pytest.approx(-0.0098027075)
    assert result.model == "all-minilm"
    assert result.usage.input_tokens == 8

    [request] = transport.requests
    assert request.url == f"{BASE}/api/embed"
    assert request.json() == {"model": "all-minilm", "input": TEXTS}


async def test_embed_one_string() -> None:
    one = {"model": "all-minilm", "embeddings": [[0.1, 0.2, 0.3]]}
    model, transport = embedder(reply(one))
    result = await model.embed("Why is the sky blue?")
    assert result.vectors == [[0.1, 0.2, 0.3]]
    assert result.usage.total_tokens == 0
    assert transport.requests[0].json()["input"] == ["Why is the sky blue?"]


async def test_embed_settings_are_sent() -> None:
    model, transport = embedder(reply("embed"), dimensions=256, truncate=False, keep_alive="1m")
    await model.embed(TEXTS)
    body = transport.requests[0].json()
    assert (body["dimensions"], body["truncate"], body["keep_alive"]) == (256, False, "1m")


@pytest.mark.parametrize(
    "data",
    [
        {"model": "all-minilm"},
        {"embeddings": "nope"},
        {"embeddings": [1.0, 2.0]},
        {"embeddings": [[0.1]]},
        [],
    ],
)
async def test_malformed_or_short_answers(data: Any) -> None:
    model, _ = embedder(reply(data))
    with pytest.raises(APIConnectionError):
        await model.embed(TEXTS)


async def test_model_name_defaults_to_ours() -> None:
    model, _ = embedder(reply({"embeddings": [[1.0], [2.0]]}), name="nomic-embed-text")
    assert (await model.embed(TEXTS)).model == "nomic-embed-text"


def test_conduit_embedder_resolves_ollama() -> None:
    model = conduit.embedder("ollama/nomic-embed-text")
    assert isinstance(model, OllamaEmbedder)
    assert model.model_info.ref == "ollama/nomic-embed-text"
    assert repr(model) == "OllamaEmbedder('ollama/nomic-embed-text')"


def test_embed_sync_twin() -> None:
    model, transport = embedder(reply("embed"))
    assert len(model.embed_sync(TEXTS)) == 2
    assert len(transport.requests) == 1
