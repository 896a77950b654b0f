"""The wire fixtures follow OpenAI's API reference: the official SDK parses each one, with
no field it does not know. And the request checker itself catches what it should."""

from __future__ import annotations

from typing import Any

import pytest

from tests.providers.openai.conftest import (
    FIXTURES,
    assert_valid_openai_request,
    assert_valid_openai_response,
    load_fixture,
)

ALL = sorted(p.stem for p in FIXTURES.glob("*.json"))


def _kind(name: str) -> str:
    if name.startswith("chat_completion"):
        return "chat"
    if name.startswith("stream"):
        return "chunk"
    if name.startswith("embeddings"):
        return "embeddings"
    assert name.startswith("error"), name
    return "error"


def test_fixture_directory_is_populated() -> None:
    kinds = {_kind(name) for name in ALL}
    assert kinds == {"chat", "chunk", "embeddings", "error"}


@pytest.mark.parametrize("name", ALL)
def test_fixture_parses_with_the_official_sdk(name: str) -> None:
    data = load_fixture(name)
    kind = _kind(name)
    if kind == "chunk":
        assert isinstance(data, list)
        assert data
        for chunk in data:
            parsed = assert_valid_openai_response(chunk, "chunk")
            assert parsed.object == "chat.completion.chunk"  # type: ignore[attr-defined]
    elif kind == "chat":
        parsed = assert_valid_openai_response(data, "chat")
        assert parsed.object == "chat.completion"  # type: ignore[attr-defined]
        # The fields the API reference always sends.
        assert {"id", "object", "created", "model", "choices", "usage"} <= set(data)
        choice = data["choices"][0]
        assert set(choice) == {"index", "message", "logprobs", "finish_reason"}
        assert {"role", "content", "refusal"} <= set(choice["message"])
        assert {"prompt_tokens_details", "completion_tokens_details"} <= set(data["usage"])
    else:
        assert_valid_openai_response(data, kind)


def test_stream_fixtures_share_one_id_and_end_with_usage() -> None:
    for name in ("stream_text", "stream_tool_calls", "stream_refusal"):
        chunks = load_fixture(name)
        assert len({c["id"] for c in chunks}) == 1
        # stream_options.include_usage: every chunk has `usage: null`, the last one has
        # empty choices and the totals.
        assert all(c["usage"] is None for c in chunks[:-1])
        assert chunks[-1]["choices"] == []
        assert chunks[-1]["usage"]["total_tokens"] > 0


def test_response_checker_rejects_unknown_fields() -> None:
    data = load_fixture("chat_completion_text")
    data["choices"][0]["message"]["reasoning_content"] = "hmm"
    with pytest.raises(AssertionError, match="reasoning_content"):
        assert_valid_openai_response(data, "chat")


def test_error_checker_wants_all_four_fields() -> None:
    with pytest.raises(AssertionError):
        assert_valid_openai_response({"error": {"message": "x", "type": "y"}}, "error")


BASE: dict[str, Any] = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}


@pytest.mark.parametrize(
    ("payload", "kind", "match"),
    [
        ({**BASE, "max_token": 5}, None, "max_token: not a field"),
        ({**BASE, "messages": [{"role": "user", "content": "x", "extra": 1}]}, None, "extra"),
        ({**BASE, "messages": [{"role": "wizard", "content": "x"}]}, None, "openai SDK"),
        ({**BASE, "messages": [{"role": "tool", "content": "x"}]}, None, "openai SDK"),
        ({**BASE, "temperature": "0.5"}, None, "temperature"),
        ({**BASE, "stream": True}, "chat", "openai SDK"),
        ({**BASE, "tool_choice": {"type": "function", "name": "f"}}, None, "tool_choice"),
        (
            {
                **BASE,
                "messages": [
                    {
                        "role": "system",
                        "content": [{"type": "image_url", "image_url": {"url": "x"}}],
                    }
                ],
            },
            None,
            "openai SDK",
        ),
        ({"model": "m", "input": ["a"], "dimensions": "8"}, "embeddings", "dimensions"),
        ({"model": "m"}, "embeddings", "input"),
    ],
)
def test_request_checker_catches_drift(
    payload: dict[str, Any], kind: str | None, match: str
) -> None:
    with pytest.raises(pytest.fail.Exception, match=match):
        assert_valid_openai_request(payload, kind)


def test_request_checker_accepts_a_full_payload() -> None:
    assert_valid_openai_request(
        {
            **BASE,
            "messages": [
                {"role": "system", "content": "Be brief.", "name": "setup"},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Look"},
                        {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}},
                        {
                            "type": "input_audio",
                            "input_audio": {"data": "UklGRg==", "format": "wav"},
                        },
                    ],
                },
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{"},
                        }
                    ],
                },
                {"role": "tool", "content": "1", "tool_call_id": "c1"},
            ],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    )
