"""The wire fixtures follow Gemini's API reference: the official SDK parses each one in
its exact camelCase spelling. And the shape checker itself catches what it should."""

from __future__ import annotations

from typing import Any

import pytest
from google.genai import errors as genai_errors
from google.genai import types as gt

from tests.providers.gemini.conftest import (
    FIXTURES,
    assert_sdk_shape,
    assert_valid_gemini_request,
    load_fixture,
)

ALL = sorted(p.stem for p in FIXTURES.glob("*.json"))


def test_fixture_directory_is_populated() -> None:
    prefixes = {name.split("_", 1)[0] for name in ALL}
    assert prefixes == {"generate", "stream", "embed", "error"}


@pytest.mark.parametrize("name", [n for n in ALL if n.startswith("generate")])
def test_generate_fixture_parses_with_the_sdk(name: str) -> None:
    parsed = assert_sdk_shape(gt.GenerateContentResponse, load_fixture(name))
    assert parsed.response_id
    assert parsed.model_version == "gemini-2.5-flash"
    assert parsed.usage_metadata is not None


@pytest.mark.parametrize("name", [n for n in ALL if n.startswith("stream")])
def test_stream_fixture_chunks_parse_with_the_sdk(name: str) -> None:
    chunks = load_fixture(name)
    assert isinstance(chunks, list)
    assert chunks
    ids = {assert_sdk_shape(gt.GenerateContentResponse, c).response_id for c in chunks}
    assert len(ids) == 1  # one answer, one responseId


def test_embedding_fixtures_parse_with_the_sdk() -> None:
    single = assert_sdk_shape(gt.SingleEmbedContentResponse, load_fixture("embed_single"))
    assert single.embedding is not None
    assert single.embedding.values
    batch = assert_sdk_shape(gt.EmbedContentResponse, load_fixture("embed_batch"))
    assert batch.embeddings is not None
    assert len(batch.embeddings) == 3


@pytest.mark.parametrize("name", [n for n in ALL if n.startswith("error")])
def test_error_fixture_reads_as_a_google_error(name: str) -> None:
    body = load_fixture(name)
    assert set(body) == {"error"}
    assert (
        {"code", "message", "status"}
        <= set(body["error"])
        <= {
            "code",
            "message",
            "status",
            "details",
        }
    )
    error = genai_errors.APIError(body["error"]["code"], body)
    assert error.status == body["error"]["status"]
    assert error.message == body["error"]["message"]
    for detail in body["error"].get("details", []):
        assert detail["@type"].startswith("type.googleapis.com/google.rpc.")


# ---------------------------------------------------------------- the checker itself


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (
            {"role": "user", "parts": [{"inline_data": {"mimeType": "a/b", "data": "AA=="}}]},
            "inline_data",
        ),
        ({"role": "user", "parts": [{"text": "hi", "bogus": 1}]}, "bogus"),
        ({"role": "user", "parts": [{"inlineData": {"mimeType": "a/b", "data": "%%"}}]}, "base64"),
        ({"role": "user", "parts": "hi"}, "parts"),
    ],
)
def test_checker_rejects_departures(data: dict[str, Any], problem: str) -> None:
    with pytest.raises(pytest.fail.Exception, match=problem):
        assert_sdk_shape(gt.Content, data)


def test_checker_rejects_lower_case_enum_values() -> None:
    tool = {"functionDeclarations": [{"name": "f", "parameters": {"type": "object"}}]}
    with pytest.raises(pytest.fail.Exception, match="not one of Type"):
        assert_sdk_shape(gt.Tool, tool)


def test_request_checker_rejects_unknown_top_level_keys() -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "temperature": 0}
    with pytest.raises(AssertionError, match="temperature"):
        assert_valid_gemini_request(body, "generateContent")
    with pytest.raises(AssertionError, match="missing"):
        assert_valid_gemini_request({}, "generateContent")
    with pytest.raises(AssertionError, match="role"):
        assert_valid_gemini_request(
            {"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}, "generateContent"
        )
    with pytest.raises(AssertionError):
        assert_valid_gemini_request(
            {"requests": [{"content": {"parts": [{"text": "x"}]}}]}, "batchEmbedContents"
        )
