"""The wire fixtures follow Ollama's API reference, checked against the `ollama` package's
response models; and the request checker itself rejects what it should."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ollama import _types as ot

from tests.providers.ollama.conftest import (
    FIXTURES,
    assert_valid_ollama_request,
    assert_valid_ollama_response,
    load_fixture,
    load_lines,
    problems,
)

CHAT = sorted(p.stem for p in FIXTURES.glob("chat_*.json"))
STREAMS = sorted(p.stem for p in FIXTURES.glob("stream_*.ndjson"))
ERRORS = sorted(p.stem for p in FIXTURES.glob("error_*.json"))


def test_there_are_fixtures_of_every_kind() -> None:
    assert len(CHAT) >= 6
    assert len(STREAMS) >= 3
    assert len(ERRORS) >= 3
    assert (FIXTURES / "embed.json").exists()


@pytest.mark.parametrize("name", CHAT)
def test_chat_fixture_is_a_chat_response(name: str) -> None:
    assert_valid_ollama_response(load_fixture(name), ot.ChatResponse)


@pytest.mark.parametrize("name", STREAMS)
def test_stream_lines_are_chat_responses_or_errors(name: str) -> None:
    lines = load_lines(name)
    for line in lines:
        if "error" in line:
            assert set(line) == {"error"}
            assert isinstance(line["error"], str)
        else:
            assert_valid_ollama_response(line, ot.ChatResponse)
    assert (FIXTURES / f"{name}.ndjson").read_bytes().endswith(b"}\n")


def test_embed_fixture() -> None:
    assert_valid_ollama_response(load_fixture("embed"), ot.EmbedResponse)


@pytest.mark.parametrize("name", ERRORS)
def test_error_fixture_is_ollamas_error_shape(name: str) -> None:
    body = load_fixture(name)
    assert set(body) == {"error"}
    assert isinstance(body["error"], str)


# ------------------------------------------------------------------ the checker itself

GOOD: dict[str, Any] = {
    "model": "llama3.2",
    "messages": [{"role": "user", "content": "Hi", "images": ["iVBORw0KGgo="]}],
    "stream": False,
    "options": {"temperature": 0.5, "num_predict": 5},
    "format": {"type": "object"},
    "keep_alive": "5m",
}


def test_the_checker_accepts_a_good_body() -> None:
    assert_valid_ollama_request("/api/chat", GOOD)
    assert_valid_ollama_request("/api/embed", {"model": "all-minilm", "input": ["a", "b"]})


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"max_tokens": 5}, "$.max_tokens: not a field of ChatRequest"),
        ({"options": {"max_tokens": 5}}, "$.options.max_tokens: not a field of Options"),
        (
            {"messages": [{"role": "tool", "content": "2", "tool_call_id": "c"}]},
            "$.messages[0].tool_call_id: not a field of Message",
        ),
        (
            {"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "function": {}}]}]},
            "$.messages[0].tool_calls[0].id: not a field of ToolCall",
        ),
        (
            {"messages": [{"role": "user", "images": ["https://x.test/a.png"]}]},
            "not base64 image data",
        ),
        ({"messages": [{"content": "Hi"}]}, "$.messages[0].role: required by Message"),
        ({"stream": "yes"}, "$.stream"),
        ({"format": "yaml"}, "$.format"),
    ],
)
def test_the_checker_rejects_what_ollama_does_not_define(
    change: dict[str, Any], complaint: str
) -> None:
    found = problems(ot.ChatRequest, {**GOOD, **change})
    assert any(complaint in p for p in found), found


def test_the_fixtures_folder_is_where_the_conftest_says() -> None:
    assert Path(__file__).resolve().parents[2] / "fixtures" / "ollama" == FIXTURES
