"""Embeddings through the OpenAI adapter (`POST /embeddings`)."""

from __future__ import annotations

from typing import Any

import pytest

import conduit
from conduit.errors import APIConnectionError, AuthenticationError, ValidationError
from conduit.providers.openai import OpenAIEmbedder
from conduit.transport import json_response
from tests.providers.openai.conftest import (
    TEST_KEY,
    embedder,
    headers_of,
    load_fixture,
    reply,
    validating_transport,
)

TEXTS = ["The food was delicious.", "The waiter was friendly.", "We will come back."]


async def test_vectors_in_input_order_with_usage() -> None:
    model, transport = embedder(reply("embeddings"))
    result = await model.embed(TEXTS)

    wire = {item["index"]: item["embedding"] for item in load_fixture("embeddings")["data"]}
    assert result.vectors == [wire[0], wire[1], wire[2]]  # the fixture lists them 2, 0, 1
    assert len(result) == 3
    assert result[1] == wire[1]
    assert result.model == "text-embedding-3-small"
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.total_tokens) == (
        9,
        0,
        9,
    )

    [request] = transport.requests
    assert request.url == "https://api.openai.com/v1/embeddings"
    assert request.json() == {
        "model": "text-embedding-3-small",
        "input": TEXTS,
        "encoding_format": "float",
    }
    assert headers_of(request)["authorization"] == f"Bearer {TEST_KEY}"


async def test_dimensions_are_sent() -> None:
    model, transport = embedder(reply("embeddings"), name="text-embedding-3-large", dimensions=256)
    await model.embed(TEXTS)
    body = transport.requests[0].json()
    assert body["dimensions"] == 256
    assert body["model"] == "text-embedding-3-large"
    assert model.dimensions == 256


async def test_one_string_is_one_input() -> None:
    data = load_fixture("embeddings")
    data["data"] = [item for item in data["data"] if item["index"] == 0]
    model, transport = embedder(reply(data))
    result = await model.embed("hello")
    assert transport.requests[0].json()["input"] == ["hello"]
    assert len(result) == 1


async def test_count_mismatch_is_an_error() -> None:
    data = load_fixture("embeddings")
    data["data"] = data["data"][:2]
    model, _ = embedder(reply(data))
    with pytest.raises(APIConnectionError, match="asked for 3 embeddings, got 2"):
        await model.embed(TEXTS)


@pytest.mark.parametrize(
    "body",
    [
        {"object": "list"},
        {"data": [1, 2, 3]},
        {"data": [{"index": 0}]},
        {"data": None},
        ["not", "a", "dict"],
    ],
)
async def test_a_body_that_is_not_an_embeddings_list(body: Any) -> None:
    model, _ = embedder(reply(body))
    with pytest.raises(APIConnectionError):
        await model.embed(["a", "b", "c"])


async def test_model_name_falls_back_to_ours() -> None:
    data = load_fixture("embeddings")
    del data["model"], data["usage"]
    model, _ = embedder(reply(data))
    result = await model.embed(TEXTS)
    assert result.model == "text-embedding-3-small"
    assert result.usage.total_tokens == 0


@pytest.mark.parametrize(("texts", "match"), [([], "at least one"), (["a", 3], "item 1")])
async def test_bad_input_sends_nothing(texts: list[Any], match: str) -> None:
    model, transport = embedder(reply("embeddings"))
    with pytest.raises(ValidationError, match=match):
        await model.embed(texts)
    assert transport.requests == []


async def test_http_error() -> None:
    model, _ = embedder(
        lambda request: json_response(load_fixture("error_invalid_api_key"), status=401)
    )
    with pytest.raises(AuthenticationError) as info:
        await model.embed(TEXTS)
    assert info.value.status_code == 401


async def test_through_conduit_embedder_and_compatible_base_url() -> None:
    transport = validating_transport(reply("embeddings"))
    model = conduit.embedder("openai/text-embedding-3-small", api_key=TEST_KEY, transport=transport)
    assert isinstance(model, OpenAIEmbedder)
    assert model.model_info.ref == "openai/text-embedding-3-small"
    assert len(await conduit.embed(model, TEXTS)) == 3

    local_transport = validating_transport(reply("embeddings"))
    local = conduit.embedder(
        "openai-compatible/nomic-embed-text",
        base_url="http://127.0.0.1:11434/v1/",
        transport=local_transport,
    )
    await local.embed(TEXTS)
    assert local_transport.requests[0].url == "http://127.0.0.1:11434/v1/embeddings"
    assert "authorization" not in headers_of(local_transport.requests[0])


async def test_close() -> None:
    model, transport = embedder(reply("embeddings"))
    await model.aclose()
    assert transport.closed
    assert repr(model) == "OpenAIEmbedder('openai/text-embedding-3-small')"
