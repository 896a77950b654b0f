"""Embeddings through the Gemini adapter: `embedContent` for one text,
`batchEmbedContents` for several (in order, at most 100 a request)."""

from __future__ import annotations

from typing import Any

import pytest

import conduit
from conduit.errors import APIConnectionError
from conduit.providers.gemini import GeminiEmbedder
from conduit.transport import HTTPRequest, HTTPResponse, json_response
from tests.providers.gemini.conftest import (
    BASE,
    TEST_KEY,
    embedder,
    headers_of,
    load_fixture,
    reply,
)

TEXTS = ["The food was delicious.", "The waiter was friendly.", "We will come back."]


async def test_one_text_uses_embed_content() -> None:
    model, transport = embedder(reply("embed_single"))
    result = await model.embed("What is the meaning of life?")

    assert result.vectors == [load_fixture("embed_single")["embedding"]["values"]]
    assert result.model == "text-embedding-004"
    [request] = transport.requests
    assert request.url == f"{BASE}/models/text-embedding-004:embedContent"
    assert request.json() == {"content": {"parts": [{"text": "What is the meaning of life?"}]}}
    assert headers_of(request)["x-goog-api-key"] == TEST_KEY
    assert TEST_KEY not in request.url


async def test_several_texts_use_batch_embed_contents_in_order() -> None:
    model, transport = embedder(reply("embed_batch"))
    result = await model.embed(TEXTS)

    wire = [item["values"] for item in load_fixture("embed_batch")["embeddings"]]
    assert result.vectors == wire
    assert len(result) == 3
    [request] = transport.requests
    assert request.url == f"{BASE}/models/text-embedding-004:batchEmbedContents"
    assert request.json() == {
        "requests": [
            {"model": "models/text-embedding-004", "content": {"parts": [{"text": text}]}}
            for text in TEXTS
        ]
    }


async def test_more_than_a_batch_is_split_and_kept_in_order() -> None:
    texts = [f"text {i}" for i in range(205)]

    def handler(request: HTTPRequest) -> HTTPResponse:
        requests = request.json()["requests"]
        vectors = [
            {"values": [float(r["content"]["parts"][0]["text"].split()[1])]} for r in requests
        ]
        return json_response(
            {"embeddings": vectors, "usageMetadata": {"promptTokenCount": len(requests)}}
        )

    model, transport = embedder(handler)
    result = await model.embed(texts)
    assert [len(r.json()["requests"]) for r in transport.requests] == [100, 100, 5]
    assert [v[0] for v in result.vectors] == [float(i) for i in range(205)]
    assert result.usage.input_tokens == 205


async def test_dimensions_and_task_type() -> None:
    model, transport = embedder(
        reply("embed_batch"),
        name="gemini-embedding-001",
        dimensions=768,
        task_type="RETRIEVAL_DOCUMENT",
    )
    await model.embed(TEXTS)
    first = transport.requests[0].json()["requests"][0]
    assert first == {
        "model": "models/gemini-embedding-001",
        "content": {"parts": [{"text": TEXTS[0]}]},
        "taskType": "RETRIEVAL_DOCUMENT",
        "outputDimensionality": 768,
    }
    model, transport = embedder(reply("embed_single"), dimensions=8, task_type="RETRIEVAL_QUERY")
    await model.embed("query")
    assert transport.requests[0].json() == {
        "content": {"parts": [{"text": "query"}]},
        "taskType": "RETRIEVAL_QUERY",
        "outputDimensionality": 8,
    }


async def test_usage_when_the_api_reports_it() -> None:
    data = {
        **load_fixture("embed_single"),
        "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7},
    }
    model, _ = embedder(reply(data))
    result = await model.embed("hi")
    assert (result.usage.input_tokens, result.usage.total_tokens) == (7, 7)


async def test_count_mismatch_is_an_error() -> None:
    data = load_fixture("embed_batch")
    data["embeddings"] = data["embeddings"][:2]
    model, _ = embedder(reply(data))
    with pytest.raises(APIConnectionError, match="asked for 3 embeddings, got 2"):
        await model.embed(TEXTS)


@pytest.mark.parametrize(
    ("body", "texts"),
    [
        ({"embeddings": [{"vals": [1.0]}]}, TEXTS),
        ({"embeddings": "x"}, TEXTS),
        ([1, 2], TEXTS),
        ({"embedding": {"values": "x"}}, ["one"]),
        ({"embeddings": [{"values": [1.0]}]}, ["one"]),
        ([], ["one"]),
    ],
)
async def test_answers_that_are_not_embeddings(body: Any, texts: list[str]) -> None:
    model, _ = embedder(reply(body))
    with pytest.raises(APIConnectionError, match="not an embedding"):
        await model.embed(texts)


async def test_conduit_embedder_and_sync_twin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", TEST_KEY)
    _, transport = embedder(reply("embed_single"))
    built = conduit.embedder("gemini/text-embedding-004", transport=transport, max_retries=0)
    assert isinstance(built, GeminiEmbedder)
    assert built.model_info.ref == "gemini/text-embedding-004"
    result = built.embed_sync("hello")
    assert len(result) == 1
    await built.aclose()
    assert transport.closed
