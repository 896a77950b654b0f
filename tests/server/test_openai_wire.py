"""OpenAI's wire shapes ↔ Conduit's types: request checks and translation, answers,
stream chunks and embeddings, each checked against the official `openai` package's own
types where it has them."""

from __future__ import annotations

import json
from typing import Any

import openai.types.chat as chat_types
import pytest
from openai.types import CreateEmbeddingResponse

from conduit import _json
from conduit.schema import (
    Done,
    Embeddings,
    FunctionCall,
    ImageBlock,
    Response,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)
from conduit.server.errors import GatewayError
from conduit.server.openai_wire import (
    ChunkEncoder,
    check_chat,
    check_embeddings,
    embeddings_json,
    response_json,
    to_conduit,
    usage_of,
)

HI = [{"role": "user", "content": "Hi"}]
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": []}, "messages"),
        ({"messages": "hi"}, "messages"),
        ({"messages": [1, 2]}, "messages[0]"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({"messages": HI, "stream": "no"}, "stream"),
        ({"messages": HI, "stream_options": "x"}, "stream_options"),
        (
            {"messages": HI, "stream": True, "stream_options": {"include_usage": 1}},
            "stream_options.include_usage",
        ),
        ({"messages": HI, "max_tokens": -5}, "max_tokens"),
        ({"messages": HI, "max_tokens": True}, "max_tokens"),
        ({"messages": HI, "max_completion_tokens": 0}, "max_completion_tokens"),
        ({"messages": HI, "temperature": "hot"}, "temperature"),
        ({"messages": HI, "temperature": 3}, "temperature"),
        ({"messages": HI, "top_p": -0.1}, "top_p"),
        ({"messages": HI, "n": 0}, "n"),
        ({"messages": HI, "seed": 1.5}, "seed"),
        ({"messages": HI, "user": 7}, "user"),
        ({"messages": HI, "presence_penalty": 2.5}, "presence_penalty"),
    ],
)
def test_bad_chat_bodies_are_400s_naming_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(GatewayError) as caught:
        check_chat(body)
    assert caught.value.status == 400
    assert caught.value.param == param


def test_check_chat_reads_what_both_paths_need() -> None:
    body = {
        "messages": [
            {"role": "system", "content": "Be brief."},  # 9 characters
            {"role": "user", "content": [{"type": "text", "text": "Hello"}]},  # 5
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}],
            },  # 2
        ],
        "max_completion_tokens": 20,
        "max_tokens": 5,  # the newer field wins
        "stream": True,
        "stream_options": {"include_usage": True},
        "user": "ann",
    }
    call = check_chat(body)
    assert (call.stream, call.include_usage, call.max_tokens, call.user) == (True, True, 20, "ann")
    assert call.input_tokens == 4  # (9 + 5 + 2) / 4
    plain = check_chat({"messages": HI})
    assert (plain.stream, plain.include_usage, plain.max_tokens, plain.user) == (
        False,
        False,
        None,
        None,
    )


def test_messages_and_options_become_conduits() -> None:
    body = {
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {
                "role": "user",
                "name": "ann",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "https://x.test/a.png", "detail": "low"},
                    },
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}},
                    {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {
                "role": "tool",
                "tool_call_id": "call_1",
                "content": [{"type": "text", "text": "22C"}],
            },
        ],
        "temperature": 0.5,
        "top_p": 0.9,
        "max_tokens": 50,
        "stop": "END",
        "seed": 7,
        "tools": [TOOL],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "w", "schema": {"type": "object"}, "strict": True},
        },
        "presence_penalty": 0.1,
        "logit_bias": {"50256": -100},
        "parallel_tool_calls": False,
        "stream_options": {"include_usage": True},
        "user": "ann",
    }
    messages, options = to_conduit(body, {"key_id": "k1", "user": "ann"})
    assert [m.role for m in messages] == ["system", "user", "assistant", "tool"]
    blocks = messages[1].blocks
    assert [b.type for b in blocks] == ["text", "image", "image", "audio"]
    assert isinstance(blocks[1], ImageBlock)
    assert (blocks[1].url, blocks[1].detail) == ("https://x.test/a.png", "low")
    assert isinstance(blocks[2], ImageBlock)
    assert (blocks[2].media_type, blocks[2].data) == ("image/png", "iVBORw0K")
    assert messages[1].name == "ann"
    assert messages[2].tool_calls[0].function.arguments == {"city": "Paris"}
    assert (messages[3].tool_call_id, messages[3].content) == ("call_1", "22C")
    assert (options.temperature, options.top_p, options.max_tokens, options.seed) == (
        0.5,
        0.9,
        50,
        7,
    )
    assert options.stop == ["END"]
    assert options.tools is not None
    assert options.tools[0].name == "get_weather"
    assert options.tool_choice == "get_weather"
    assert options.response_format is not None
    assert (options.response_format.type, options.response_format.name) == ("json_schema", "w")
    # OpenAI's other parameters go to the provider as they are; the gateway's own stay.
    assert options.extra == {
        "presence_penalty": 0.1,
        "logit_bias": {"50256": -100},
        "parallel_tool_calls": False,
        "labels": {"key_id": "k1", "user": "ann"},
    }


@pytest.mark.parametrize(
    ("message", "param"),
    [
        ({"role": "tool", "content": "x"}, "messages[0]"),  # no tool_call_id
        ({"role": "user", "content": ""}, "messages[0]"),
        ({"role": "user", "content": [{"type": "file", "file": {}}]}, "messages[0].content[0]"),
        (
            {"role": "user", "content": [{"type": "image_url", "image_url": {}}]},
            "messages[0].content[0]",
        ),
        (
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:x,y"}}]},
            "messages[0].content[0]",
        ),
        ({"role": "assistant", "tool_calls": [{"function": {}}]}, "messages[0].tool_calls[0]"),
        ({"role": "user", "content": 5}, "messages[0].content"),
    ],
)
def test_bad_messages_are_400s(message: dict[str, Any], param: str) -> None:
    with pytest.raises(GatewayError) as caught:
        to_conduit({"messages": [message]})
    assert (caught.value.status, caught.value.param) == (400, param)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tools", [{"type": "function"}]),
        ("tools", [{"type": "function", "function": {"name": "bad name!"}}]),
        ("tools", "x"),
        ("tool_choice", {"type": "function"}),
        ("response_format", {"type": "yaml"}),
        ("response_format", {"type": "json_schema", "json_schema": {"name": "x"}}),
    ],
)
def test_bad_options_are_400s(field: str, value: Any) -> None:
    with pytest.raises(GatewayError) as caught:
        to_conduit({"messages": HI, field: value})
    assert (caught.value.status, caught.value.param) == (400, field)


def test_text_and_json_object_formats() -> None:
    assert (
        to_conduit({"messages": HI, "response_format": {"type": "text"}})[1].response_format is None
    )
    found = to_conduit({"messages": HI, "response_format": {"type": "json_object"}})[1]
    assert found.response_format is not None
    assert found.response_format.type == "json_object"


def test_an_answer_is_a_chat_completion() -> None:
    answer = Response(
        id="r1",
        content=[TextBlock(text="Hi there")],
        stop_reason="max_tokens",
        usage=Usage(input_tokens=10, output_tokens=3, cache_read_tokens=4),
    )
    data = response_json(answer, "chat")
    parsed = chat_types.ChatCompletion.model_validate(data)  # the official SDK's type
    assert parsed.model == "chat"
    assert parsed.choices[0].message.content == "Hi there"
    assert parsed.choices[0].finish_reason == "length"
    assert parsed.usage is not None
    assert (parsed.usage.prompt_tokens, parsed.usage.completion_tokens) == (10, 3)
    assert parsed.usage.prompt_tokens_details is not None
    assert parsed.usage.prompt_tokens_details.cached_tokens == 4
    call = ToolCall(id="call_1", function=FunctionCall.from_raw("get_weather", '{"city":"Paris"}'))
    tools = chat_types.ChatCompletion.model_validate(
        response_json(Response(tool_calls=[call], stop_reason="tool_use"), "chat")
    )
    message = tools.choices[0].message
    assert message.content is None
    assert message.tool_calls is not None
    assert json.loads(message.tool_calls[0].function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]
    assert tools.choices[0].finish_reason == "tool_calls"
    assert tools.id.startswith("chatcmpl-")


def _chunks(data: bytes) -> list[chat_types.ChatCompletionChunk]:
    events = [line[6:] for line in data.split(b"\n\n") if line.startswith(b"data: ")]
    return [chat_types.ChatCompletionChunk.model_validate(_json.loads(e)) for e in events]


def test_stream_events_are_chunks() -> None:
    encoder = ChunkEncoder("chat", include_usage=True)
    usage = Usage(input_tokens=4, output_tokens=2)
    out = b"".join(
        encoder.encode(event)
        for event in (
            TextDelta(text="Hel"),
            TextDelta(text=""),
            TextDelta(text="lo"),
            UsageEvent(usage=usage),
            ToolCallDelta(index=0, id="call_1", name="get_weather", arguments=""),
            ToolCallDelta(index=0, arguments='{"city":"Paris"}'),
            Done(response=Response(usage=usage, stop_reason="end_turn")),
        )
    )
    chunks = _chunks(out)
    assert {c.model for c in chunks} == {"chat"}
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello"
    calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert calls[0].id == "call_1"
    assert calls[0].function is not None
    assert calls[0].function.name == "get_weather"
    assert "".join(tc.function.arguments or "" for tc in calls if tc.function) == '{"city":"Paris"}'
    # The finish chunk says "tool_calls" (tools were called), then the usage chunk.
    assert chunks[-2].choices[0].finish_reason == "tool_calls"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 6
    assert encoder.usage == usage
    assert encoder.response is not None
    quiet = ChunkEncoder("chat", include_usage=False)
    tail = _chunks(quiet.encode(Done(response=Response(stop_reason="end_turn"))))
    assert [c.choices[0].finish_reason for c in tail] == [None, "stop"]


def test_usage_of_reads_openai_usage() -> None:
    assert usage_of(None) is None
    assert usage_of({"prompt_tokens": 3, "completion_tokens": "x"}) == Usage(input_tokens=3)
    found = usage_of({"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5})
    assert found == Usage(input_tokens=3, output_tokens=2)


def test_embeddings_in_and_out() -> None:
    call = check_embeddings({"input": ["a", "b"], "encoding_format": "base64", "dimensions": 4})
    assert (call.texts, call.encoding, call.dimensions) == (["a", "b"], "base64", 4)
    for body, param in (
        ({}, "input"),
        ({"input": [1, 2]}, "input"),
        ({"input": []}, "input"),
        ({"input": "x", "encoding_format": "hex"}, "encoding_format"),
        ({"input": "x", "dimensions": 0}, "dimensions"),
        ({"input": "x", "user": 1}, "user"),
    ):
        with pytest.raises(GatewayError) as caught:
            check_embeddings(body)
        assert caught.value.param == param
    vectors = Embeddings(vectors=[[0.5, -1.0], [0.0, 2.0]], usage=Usage(input_tokens=3))
    plain = CreateEmbeddingResponse.model_validate(embeddings_json(vectors, "embed"))
    assert [d.embedding for d in plain.data] == [[0.5, -1.0], [0.0, 2.0]]
    assert (plain.model, plain.usage.prompt_tokens) == ("embed", 3)
    packed = embeddings_json(vectors, "embed", "base64")["data"][1]["embedding"]
    import base64
    import struct

    assert struct.unpack("<2f", base64.b64decode(packed)) == (0.0, 2.0)
