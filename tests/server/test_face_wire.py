"""The wire translations of `/v1/messages` and `/v1/responses`, without a server: the
Anthropic adapter's own mapping reads back what `to_face` read, every bad field is a 400
naming it, and the stream encoders send their events in the documented order."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conduit.providers.anthropic import messages_to_wire
from conduit.schema import (
    Done,
    FunctionCall,
    Response,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from conduit.server.anthropic_wire import MessagesEncoder, message_json, stop_reason, to_face
from conduit.server.errors import GatewayError
from conduit.server.responses_stream import ResponsesEncoder
from conduit.server.responses_wire import check_responses, response_object

PNG = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
TURNS: list[dict[str, Any]] = [
    {
        "role": "user",
        "content": [{"type": "text", "text": "Look"}, {"type": "image", "source": PNG}],
    },
    {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "w", "input": {"city": "Paris"}},
        ],
    },
    {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny"}],
    },
    {"role": "assistant", "content": "It is sunny."},
    {"role": "user", "content": "Thanks"},
]


def test_the_adapter_writes_back_what_was_read() -> None:
    face = to_face({"model": "m", "max_tokens": 9, "system": "Be brief.", "messages": TURNS})
    system, turns = messages_to_wire(face.messages)
    assert system == [{"type": "text", "text": "Be brief."}]
    assert turns == TURNS


def test_options() -> None:
    face = to_face(
        {
            "model": "m",
            "max_tokens": 9,
            "messages": TURNS[-1:],
            "stop_sequences": ["END"],
            "temperature": 0.5,
            "top_k": 3,
            "tools": [{"name": "w", "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "any"},
            "metadata": {"user_id": "u1"},
            "stream": True,
        }
    )
    options = face.options
    assert (options.max_tokens, options.stop, options.temperature) == (9, ["END"], 0.5)
    assert (options.tool_choice, options.extra, face.user, face.stream) == (
        "required",
        {"top_k": 3},
        "u1",
        True,
    )
    assert options.tools is not None
    assert options.tools[0].name == "w"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
        ({"max_tokens": 0, "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
        ({"max_tokens": 5, "messages": []}, "messages"),
        ({"max_tokens": 5, "messages": [{"role": "robot", "content": "x"}]}, "messages[0]"),
        ({"max_tokens": 5, "messages": [{"role": "user"}]}, "messages[0].content"),
        (
            {"max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "tool_use"}]}]},
            "messages[0].content[0]",
        ),
        ({"max_tokens": 5, "messages": TURNS, "temperature": 3}, "temperature"),
        ({"max_tokens": 5, "messages": TURNS, "tools": [{"x": 1}]}, "tools[0]"),
        ({"max_tokens": 5, "messages": TURNS, "tool_choice": {"type": "x"}}, "tool_choice"),
        ({"max_tokens": 5, "messages": TURNS, "tool_choice": {"type": {}}}, "tool_choice"),
        ({"max_tokens": 5, "messages": TURNS, "system": [{"type": "text"}]}, "system[0].text"),
        ({"max_tokens": 5, "messages": TURNS, "colour": 1}, "colour"),
        ({"max_tokens": 5, "messages": TURNS, "stream": "yes"}, "stream"),
    ],
)
def test_a_bad_messages_field_is_named(body: dict[str, Any], named: str) -> None:
    with pytest.raises(GatewayError) as refused:
        to_face({"model": "m", **body})
    assert refused.value.status == 400
    assert refused.value.param == named
    assert named.partition("[")[0] in refused.value.message


def test_stop_reasons() -> None:
    call = ToolCall(id="t1", function=FunctionCall.from_raw("w", "{}"))
    assert stop_reason(Response(stop_reason="end_turn")) == "end_turn"
    assert stop_reason(Response(stop_reason="max_tokens")) == "max_tokens"
    assert stop_reason(Response(stop_reason="stop_sequence")) == "stop_sequence"
    assert stop_reason(Response(stop_reason="content_filter")) == "refusal"
    assert stop_reason(Response(tool_calls=[call])) == "tool_use"
    out = message_json(Response(content=[TextBlock(text="Hi")], tool_calls=[call]), "chat")
    assert [b["type"] for b in out["content"]] == ["text", "tool_use"]


def _events(data: bytes) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for chunk in data.decode().strip().split("\n\n"):
        name, payload = chunk.split("\n")
        out.append((name.removeprefix("event: "), json.loads(payload.removeprefix("data: "))))
    return out


def _final(text: str = "Hi", calls: int = 1) -> Response:
    tool_calls = [
        ToolCall(id=f"c{i}", function=FunctionCall.from_raw("w", '{"a":1}')) for i in range(calls)
    ]
    return Response(
        content=[TextBlock(text=text)],
        tool_calls=tool_calls,
        usage=Usage(input_tokens=3, output_tokens=4),
    )


def test_messages_stream_order() -> None:
    encoder = MessagesEncoder("chat", input_tokens=3)
    data = encoder.start()
    for event in (
        TextDelta(text="H"),
        TextDelta(text="i"),
        ToolCallDelta(index=0, id="c0", name="w", arguments='{"a"'),
        ToolCallDelta(index=0, arguments=":1}"),
        Done(response=_final()),
    ):
        data += encoder.encode(event)
    events = _events(data)
    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert [d.get("index") for _, d in events[1:9]] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert events[5][1]["content_block"]["type"] == "tool_use"
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"
    assert events[-2][1]["usage"]["output_tokens"] == 4


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({}, "input"),
        ({"input": []}, "input"),
        ({"input": 5}, "input"),
        ({"input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        ({"input": [{"role": {}, "content": "x"}]}, "input[0].role"),
        ({"input": "x", "tool_choice": {}}, "tool_choice"),
        ({"input": "x", "tool_choice": []}, "tool_choice"),
        ({"input": "x", "metadata": []}, "metadata"),
        ({"input": [{"type": "function_call", "call_id": "c", "name": "w"}]}, "input[0].arguments"),
        ({"input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id"),
        ({"input": [{"role": "user", "content": [{"type": "input_file"}]}]}, "input[0].content[0]"),
        ({"input": "x", "max_output_tokens": 0}, "max_output_tokens"),
        ({"input": "x", "temperature": 9}, "temperature"),
        ({"input": "x", "tools": [{"type": "web_search"}]}, "tools[0]"),
        ({"input": "x", "tool_choice": {"type": "x"}}, "tool_choice"),
        ({"input": "x", "text": {"format": {"type": "json_schema"}}}, "text.format"),
        ({"input": "x", "store": "yes"}, "store"),
        ({"input": "x", "previous_response_id": 5}, "previous_response_id"),
        ({"input": "x", "background": True}, "background"),
        ({"input": "x", "colour": 1}, "colour"),
    ],
)
def test_a_bad_responses_field_is_named(body: dict[str, Any], named: str) -> None:
    with pytest.raises(GatewayError) as refused:
        check_responses({"model": "m", **body})
    assert refused.value.status == 400
    assert refused.value.param == named


def test_responses_structured_output_and_items() -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}}
    request = check_responses(
        {
            "model": "m",
            "input": [
                {"role": "developer", "content": "Be brief."},
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "Q"}],
                },
                {"type": "function_call", "call_id": "c1", "name": "w", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": "Sunny"},
            ],
            "text": {"format": {"type": "json_schema", "name": "person", "schema": schema}},
        }
    )
    assert [m.role for m in request.messages] == ["system", "user", "assistant", "tool"]
    assert request.messages[2].tool_calls[0].id == "c1"
    fmt = request.options.response_format
    assert fmt is not None
    assert (fmt.type, fmt.name, fmt.json_schema) == ("json_schema", "person", schema)


def test_responses_stream_order_and_ids() -> None:
    request = check_responses({"model": "m", "input": "x"})
    encoder = ResponsesEncoder(request, "chat")
    data = encoder.start()
    for event in (
        TextDelta(text="H"),
        TextDelta(text="i"),
        ToolCallDelta(index=0, id="c0", name="w", arguments='{"a"'),
        ToolCallDelta(index=0, arguments=":1}"),
        Done(response=_final()),
    ):
        data += encoder.encode(event)
    events = _events(data)
    assert [name for name, _ in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    streamed = [d["item"] for name, d in events if name == "response.output_item.done"]
    final = events[-1][1]["response"]
    assert [i["id"] for i in final["output"]] == [i["id"] for i in streamed]
    assert final["output"] == streamed
    assert final["usage"]["total_tokens"] == 7
    cut = response_object(request, "chat", Response(stop_reason="max_tokens"))
    assert (cut["status"], cut["incomplete_details"]) == (
        "incomplete",
        {"reason": "max_output_tokens"},
    )
