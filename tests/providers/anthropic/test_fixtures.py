"""The wire fixtures follow Anthropic's API reference: the official SDK parses each one with
no field it does not know. And the request checker itself catches what it should."""

from __future__ import annotations

from typing import Any

import pytest

from tests.providers.anthropic.conftest import (
    FIXTURES,
    assert_valid_anthropic_request,
    assert_valid_anthropic_response,
    load_fixture,
)

ALL = sorted(p.stem for p in FIXTURES.glob("*.json"))
MESSAGE_KEYS = {"id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"}


def _kind(name: str) -> str:
    prefix = name.split("_", 1)[0]
    assert prefix in ("message", "stream", "error"), name
    return prefix


def test_fixture_directory_is_populated() -> None:
    assert {_kind(name) for name in ALL} == {"message", "stream", "error"}


@pytest.mark.parametrize("name", ALL)
def test_fixture_parses_with_the_official_sdk(name: str) -> None:
    data = load_fixture(name)
    kind = _kind(name)
    if kind == "message":
        parsed = assert_valid_anthropic_response(data, "message")
        assert parsed.type == "message"
        assert set(data) == MESSAGE_KEYS  # the fields the API reference's example shows
    elif kind == "error":
        parsed = assert_valid_anthropic_response(data, "error")
        assert set(data) == {"type", "error", "request_id"}
        assert set(data["error"]) == {"type", "message"}
    else:
        assert isinstance(data, list)
        for event in data:
            assert_valid_anthropic_response(event, "event")


@pytest.mark.parametrize("name", [n for n in ALL if n.startswith("stream")])
def test_stream_fixtures_follow_the_event_flow(name: str) -> None:
    """message_start first; message_stop last (or an error event); blocks start before
    their deltas and stop after them; one message id."""
    events = load_fixture(name)
    assert events[0]["type"] == "message_start"
    assert events[-1]["type"] in ("message_stop", "error")
    open_blocks: set[int] = set()
    for event in events:
        kind = event["type"]
        if kind == "content_block_start":
            assert event["index"] not in open_blocks
            open_blocks.add(event["index"])
        elif kind == "content_block_delta":
            assert event["index"] in open_blocks
        elif kind == "content_block_stop":
            open_blocks.remove(event["index"])
    if events[-1]["type"] == "message_stop":
        assert not open_blocks
        assert events[-2]["type"] == "message_delta"


# ------------------------------------------------------------ the checker checks


GOOD: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 1024,
    "messages": [{"role": "user", "content": "Hello"}],
}


def test_checker_accepts_a_plain_request() -> None:
    assert_valid_anthropic_request(GOOD)
    assert_valid_anthropic_request({**GOOD, "stream": True})
    assert_valid_anthropic_request({**GOOD, "temperature": 0.5, "top_p": 0.9, "top_k": 40})


@pytest.mark.parametrize(
    "bad",
    [
        {**GOOD, "max_token": 5},  # a typo
        {k: v for k, v in GOOD.items() if k != "max_tokens"},  # required
        {**GOOD, "messages": [{"role": "user", "content": [{"type": "text", "txt": "Hi"}]}]},
        {**GOOD, "messages": [{"role": "tool", "content": "Hi"}]},
        {**GOOD, "tool_choice": {"type": "required"}},
        {**GOOD, "tools": [{"name": "f", "parameters": {"type": "object"}}]},
        {**GOOD, "stop": ["END"]},  # OpenAI's name
        {**GOOD, "temperature": 1.5},  # out of Anthropic's range
        {**GOOD, "top_k": 0.5},
        {**GOOD, "system": [{"type": "image", "source": {"type": "url", "url": "x"}}]},
    ],
)
def test_checker_rejects_what_the_sdk_does_not_define(bad: dict[str, Any]) -> None:
    with pytest.raises(pytest.fail.Exception):
        assert_valid_anthropic_request(bad)


def test_checker_rejects_unknown_response_fields() -> None:
    data = load_fixture("message_text")
    data["choices"] = []
    with pytest.raises(AssertionError, match="choices"):
        assert_valid_anthropic_response(data, "message")
