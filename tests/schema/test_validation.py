"""Bad input raises `conduit.errors.ValidationError` (a `ValueError`) with a readable message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic
import pytest

from conduit.errors import ConduitError, ValidationError
from conduit.schema import (
    AudioBlock,
    ChatOptions,
    FunctionCall,
    ImageBlock,
    Message,
    Response,
    ResponseFormat,
    TextBlock,
    Tool,
    ToolCall,
    Usage,
)

CALL = ToolCall(id="c1", function=FunctionCall.from_raw("f", "{}"))

BAD: list[tuple[str, Callable[[], Any], list[str]]] = [
    (
        "invalid role",
        lambda: Message(role="bot", content="hi"),
        ["Message.role", "'system', 'user', 'assistant' or 'tool'"],
    ),
    ("empty user content", lambda: Message(role="user", content=""), ["a user message needs"]),
    ("empty system content", lambda: Message(role="system", content=[]), ["a system message"]),
    (
        "tool message without tool_call_id",
        lambda: Message(role="tool", content="42"),
        ["tool message needs tool_call_id"],
    ),
    (
        "tool message with empty tool_call_id",
        lambda: Message(role="tool", content="42", tool_call_id=""),
        ["tool message needs tool_call_id"],
    ),
    (
        "tool_call_id on a user message",
        lambda: Message(role="user", content="hi", tool_call_id="c1"),
        ["tool_call_id is only for tool messages, not 'user'"],
    ),
    (
        "tool_calls on a user message",
        lambda: Message(role="user", content="hi", tool_calls=[CALL]),
        ["only assistant messages carry tool_calls"],
    ),
    (
        "content of the wrong type",
        lambda: Message(role="user", content=42),
        ["Message.content"],
    ),
    (
        "unknown content block type",
        lambda: Message(role="user", content=[{"type": "video", "url": "x"}]),
        ["Message.content.0", "'video'"],
    ),
    (
        "image with neither url nor data",
        lambda: ImageBlock(),
        ["ImageBlock", "exactly one of url= or data="],
    ),
    (
        "image with both url and data",
        lambda: ImageBlock(url="https://x.test/a.png", data="AAAA", media_type="image/png"),
        ["exactly one of url= or data="],
    ),
    (
        "base64 image without media_type",
        lambda: ImageBlock(data="AAAA"),
        ["base64 data needs media_type"],
    ),
    (
        "nested bad image keeps its location",
        lambda: Message(role="user", content=[{"type": "image"}]),
        ["Message.content.0.image", "exactly one of url= or data="],
    ),
    (
        "audio without a format",
        lambda: AudioBlock.from_bytes(b"RIFF", ""),
        ["AudioBlock needs a format"],
    ),
    (
        "typo in an option",
        lambda: ChatOptions(max_token=10),  # type: ignore[call-arg]
        ["ChatOptions.max_token", "Extra inputs are not permitted"],
    ),
    (
        "unknown field on a message",
        lambda: Message(role="user", content="hi", contents="typo"),  # type: ignore[call-arg]
        ["Message.contents", "Extra inputs are not permitted"],
    ),
    (
        "temperature above range",
        lambda: ChatOptions(temperature=2.5),
        ["ChatOptions.temperature", "less than or equal to 2"],
    ),
    (
        "temperature below range",
        lambda: ChatOptions(temperature=-0.1),
        ["ChatOptions.temperature", "greater than or equal to 0"],
    ),
    ("top_p above 1", lambda: ChatOptions(top_p=1.5), ["ChatOptions.top_p"]),
    ("max_tokens zero", lambda: ChatOptions(max_tokens=0), ["ChatOptions.max_tokens"]),
    (
        "bad tool name inside options",
        lambda: ChatOptions(tools=[{"name": "has space"}]),
        ["ChatOptions.tools.0.name", "should match pattern"],
    ),
    ("empty tool name", lambda: Tool(name=""), ["Tool.name"]),
    (
        "json_schema format without a schema",
        lambda: ResponseFormat(type="json_schema", name="x"),
        ["needs schema="],
    ),
    ("negative token count", lambda: Usage(input_tokens=-1), ["Usage.input_tokens"]),
    (
        "unknown stop reason",
        lambda: Response(stop_reason="finished"),
        ["Response.stop_reason"],
    ),
    (
        "tool call missing its function name",
        lambda: Response(tool_calls=[{"id": "c", "function": {}}]),
        ["Response.tool_calls.0.function.name", "Field required"],
    ),
    (
        "text block without text",
        lambda: TextBlock(),  # type: ignore[call-arg]
        ["TextBlock.text", "Field required"],
    ),
    (
        "model_validate",
        lambda: Message.model_validate({"role": "robot", "content": "x"}),
        ["Message.role"],
    ),
    (
        "model_validate_json",
        lambda: Message.model_validate_json('{"role": "robot", "content": "x"}'),
        ["Message.role"],
    ),
    (
        "model_validate_json with broken JSON",
        lambda: Message.model_validate_json('{"role": '),
        ["Message", "Invalid JSON"],
    ),
    (
        "model_validate_strings",
        lambda: Usage.model_validate_strings({"input_tokens": "many"}),
        ["Usage.input_tokens"],
    ),
    ("parse", lambda: Message.parse({"role": "user"}), ["a user message needs content"]),
]


@pytest.mark.parametrize(("case", "make", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises_readable_validation_error(
    case: str, make: Callable[[], Any], expected: list[str]
) -> None:
    with pytest.raises(ValidationError) as info:
        make()
    err = info.value
    assert isinstance(err, ValueError)
    assert isinstance(err, ConduitError)
    # never pydantic's error type, and no pydantic noise in the text
    assert not isinstance(err, pydantic.ValidationError)
    text = str(err)
    for part in expected:
        assert part in text
    assert "errors.pydantic.dev" not in text
    assert "Value error," not in text
    assert "tagged-union" not in text
    assert text.endswith("Fix the input; nothing was sent.")
    assert err.__cause__ is None  # `from None`: the traceback shows our message only


def test_every_problem_is_reported_once_each() -> None:
    with pytest.raises(ValidationError) as info:
        ChatOptions(temperature=9, top_p=-1, max_token=3)  # type: ignore[call-arg]
    text = str(info.value)
    assert "ChatOptions.temperature" in text
    assert "ChatOptions.top_p" in text
    assert "ChatOptions.max_token" in text
    problems = info.value.message.split("; ")
    assert len(problems) == 3


def test_content_union_reports_the_deeper_branch_only() -> None:
    with pytest.raises(ValidationError) as info:
        Message(role="user", content=[{"type": "image", "data": "AAAA"}])
    text = str(info.value)
    assert "should be a valid string" not in text
    assert "Message.content.0.image: base64 data needs media_type" in text


def test_options_are_frozen_values() -> None:
    # One shared default serves every call without options, so options never change.
    opts = ChatOptions(temperature=1)
    with pytest.raises(ValidationError, match=r"merged\(temperature=\.\.\.\)"):
        opts.temperature = 0.5
    assert opts.merged(temperature=0.5).temperature == 0.5
    assert opts.temperature == 1


def test_assignment_is_not_validated_but_construction_is() -> None:
    # Other models are plain mutable data after construction (cheap on the hot path).
    usage = Usage(input_tokens=1)
    usage.input_tokens = 5
    assert usage.input_tokens == 5
