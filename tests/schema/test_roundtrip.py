"""Every schema model survives a JSON round trip unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from pydantic import TypeAdapter

from conduit.schema import (
    AudioBlock,
    ChatOptions,
    ContentBlock,
    Done,
    Embeddings,
    FunctionCall,
    ImageBlock,
    Message,
    Response,
    ResponseFormat,
    StreamEvent,
    TextBlock,
    TextDelta,
    Tool,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
    assistant,
    system,
    tool_result,
    user,
)
from conduit.schema.base import SchemaModel
from tests.schema import strategies as s

# Per-test settings (not a global profile): other suites keep their own.
thorough = settings(max_examples=150, deadline=None)


def _round_trip(value: SchemaModel) -> None:
    data = value.model_dump_json()
    again = type(value).model_validate_json(data)
    assert again == value
    # and through Python dicts too (what a JSON store or a message queue sees)
    assert type(value).model_validate(value.model_dump()) == value
    assert again.model_dump_json() == data


CALL = ToolCall(id="call_1", function=FunctionCall.from_raw("add", '{"a": 1, "b": [2, 3]}'))

EXAMPLES: list[SchemaModel] = [
    TextBlock(text="héllo 👋"),
    ImageBlock(url="https://example.com/cat.png", detail="high"),
    ImageBlock.from_bytes(b"\x89PNG\r\n", "image/png"),
    AudioBlock.from_bytes(b"RIFF....", "wav"),
    system("Be brief."),
    user("What is in this picture?", ImageBlock(url="https://x.test/a.png")),
    assistant("Let me add.", tool_calls=[CALL]),
    assistant(tool_calls=[CALL]),
    tool_result("call_1", "3"),
    Message(role="user", content="hi", name="alice"),
    FunctionCall.from_raw("f", "not json"),
    FunctionCall.from_raw("f", "[1, 2]"),
    FunctionCall.from_raw("f", ""),
    CALL,
    Tool(name="get_weather", description="Weather", parameters={"type": "object"}, strict=True),
    Usage(input_tokens=3, output_tokens=4, cache_read_tokens=1),
    Response(
        id="r1",
        model="m",
        provider="fake",
        content=[TextBlock(text="Hi")],
        tool_calls=[CALL],
        stop_reason="tool_use",
        usage=Usage(input_tokens=1, output_tokens=2),
        duration=0.25,
    ),
    ChatOptions(
        temperature=0.2,
        max_tokens=10,
        top_p=0.9,
        stop="END",
        seed=7,
        tools=[Tool(name="t")],
        tool_choice="required",
        response_format=ResponseFormat.from_schema("person", {"type": "object"}),
        extra={"logprobs": True, "nested": {"a": [1, 2.5, None]}},
    ),
    ResponseFormat(),
    ResponseFormat(type="text"),
    Embeddings(vectors=[[0.1, -0.2], [1e-300, 3.0]], model="m", usage=Usage(input_tokens=2)),
    TextDelta(text="Hel"),
    ToolCallDelta(index=1, id="c", name="add", arguments='{"a"'),
    UsageEvent(usage=Usage(input_tokens=1)),
    Done(response=Response(id="r")),
]


@pytest.mark.parametrize("value", EXAMPLES, ids=lambda v: type(v).__name__)
def test_examples_round_trip(value: SchemaModel) -> None:
    _round_trip(value)


@thorough
@given(s.messages())
def test_messages_round_trip(message: Message) -> None:
    _round_trip(message)


@thorough
@given(s.responses)
def test_responses_round_trip(response: Response) -> None:
    _round_trip(response)


@thorough
@given(s.tool_calls)
def test_tool_calls_round_trip(call: ToolCall) -> None:
    _round_trip(call)


@thorough
@given(s.usages)
def test_usage_round_trip(usage: Usage) -> None:
    _round_trip(usage)


@thorough
@given(s.chat_options)
def test_chat_options_round_trip(options: ChatOptions) -> None:
    _round_trip(options)


@thorough
@given(s.tools)
def test_tools_round_trip(tool: Tool) -> None:
    _round_trip(tool)


_events: TypeAdapter[Any] = TypeAdapter(StreamEvent)
_blocks: TypeAdapter[Any] = TypeAdapter(ContentBlock)


@thorough
@given(s.stream_events)
def test_stream_events_round_trip_through_the_union(event: Any) -> None:
    # A consumer that stores events gets the right class back from the `type` tag.
    again = _events.validate_json(_events.dump_json(event))
    assert type(again) is type(event)
    assert again == event


@thorough
@given(s.content_blocks)
def test_content_blocks_round_trip_through_the_union(block: Any) -> None:
    again = _blocks.validate_json(_blocks.dump_json(block))
    assert type(again) is type(block)
    assert again == block


@thorough
@given(s.messages())
def test_message_list_round_trip(message: Message) -> None:
    adapter: TypeAdapter[list[Message]] = TypeAdapter(list[Message])
    history = [message, user("next")]
    assert adapter.validate_json(adapter.dump_json(history)) == history
