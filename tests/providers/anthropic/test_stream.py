"""Streaming through the Anthropic adapter: Messages API events → ours, `Done` assembled."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conduit.errors import APIConnectionError, ContextWindowExceededError, ServerError
from conduit.providers.anthropic import AnthropicChatModel, JSONOutput, StreamAssembler
from conduit.schema import (
    ChatOptions,
    Done,
    ResponseFormat,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    UsageEvent,
)
from conduit.transport import json_response, sse_response
from tests.providers.anthropic.conftest import (
    chat_model,
    headers_of,
    load_fixture,
    sse_bytes,
    stream_reply,
)
from tests.providers.anthropic.test_chat import PERSON, TIME, WEATHER


async def collect(
    model: AnthropicChatModel, messages: Any = "Hi", **kwargs: Any
) -> list[StreamEvent]:
    return [event async for event in model.stream(messages, **kwargs)]


async def collect_into(seen: list[StreamEvent], model: AnthropicChatModel) -> None:
    """Collect events until the stream ends or fails (what came before a failure stays)."""
    async for event in model.stream("Hi"):
        seen.append(event)


def texts(events: list[StreamEvent]) -> list[str]:
    return [e.text for e in events if isinstance(e, TextDelta)]


# --------------------------------------------------------------------------- text


async def test_text_deltas_usage_and_done() -> None:
    model, transport = chat_model(stream_reply("stream_text"))
    events = await collect(model)

    assert texts(events) == ["Hello", "!", " How can I", " help you today?"]
    assert [e.type for e in events][-2:] == ["usage", "done"]
    [usage_event] = [e for e in events if isinstance(e, UsageEvent)]
    # message_start's input counts merged with message_delta's final output count.
    assert usage_event.usage.cache_read_tokens == 1024
    assert usage_event.usage.input_tokens == 25 + 1024
    assert usage_event.usage.output_tokens == 15

    done = events[-1]
    assert isinstance(done, Done)
    response = done.response
    assert response.text == "Hello! How can I help you today?"
    assert response.id == "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY"
    assert response.model == "claude-sonnet-4-5-20250929"
    assert response.provider == "anthropic"
    assert response.stop_reason == "end_turn"
    assert response.usage == usage_event.usage
    assert response.duration is not None

    [request] = transport.requests
    body = request.json()
    assert body["stream"] is True
    assert body["max_tokens"] == 4096
    assert headers_of(request)["accept"] == "text/event-stream"
    assert request.url == "https://api.anthropic.com/v1/messages"


async def test_stream_and_chat_agree() -> None:
    model, _ = chat_model(stream_reply("stream_text"))
    streamed = (await collect(model))[-1]
    assert isinstance(streamed, Done)
    assert "".join(texts(await collect(model))) == streamed.response.text


@pytest.mark.parametrize("chunk_size", [1, 2, 7, 64])
async def test_any_chunking_gives_the_same_events(chunk_size: int) -> None:
    whole, _ = chat_model(stream_reply("stream_tool_use"))
    split, _ = chat_model(stream_reply("stream_tool_use", chunk_size=chunk_size))
    expected = await collect(whole)
    got = await collect(split)
    assert [e.model_dump(exclude={"response": {"duration"}}) for e in got] == [
        e.model_dump(exclude={"response": {"duration"}}) for e in expected
    ]


def test_stream_sync() -> None:
    model, _ = chat_model(stream_reply("stream_text"))
    events = list(model.stream_sync("Hi", ChatOptions(temperature=0)))
    assert "".join(texts(events)) == "Hello! How can I help you today?"
    assert isinstance(events[-1], Done)


# --------------------------------------------------------------------------- tools


async def test_tool_calls_with_input_split_across_events() -> None:
    model, transport = chat_model(stream_reply("stream_tool_use"))
    events = await collect(model, "Weather and time in SF?", tools=[WEATHER, TIME])

    assert "".join(texts(events)) == "Okay, let me check the weather and the time:"
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    # Numbered by call (0, 1), not by content block (1, 2).
    assert {d.index for d in deltas} == {0, 1}
    starts = [d for d in deltas if d.id]
    assert [(d.index, d.id, d.name) for d in starts] == [
        (0, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"),
        (1, "toolu_01HrZ3ZVnXbW3p8ug5F2Hv7c", "get_time"),
    ]
    assert "".join(d.arguments for d in deltas if d.index == 0) == (
        '{"location": "San Francisco, CA", "unit": "fahrenheit"}'
    )
    # Empty fragments are not events.
    assert all(d.arguments for d in deltas if not d.id)

    done = events[-1]
    assert isinstance(done, Done)
    response = done.response
    assert response.stop_reason == "tool_use"
    weather, clock = response.tool_calls
    assert weather.id == "toolu_01T1x1fJ34qAmk2tNTrN7Up6"
    assert weather.arguments == {"location": "San Francisco, CA", "unit": "fahrenheit"}
    assert clock.arguments == {"timezone": "America/Los_Angeles"}
    assert response.usage.input_tokens == 472
    assert response.usage.output_tokens == 89
    assert [t["name"] for t in transport.requests[0].json()["tools"]] == ["get_weather", "get_time"]


async def test_tool_call_cut_by_max_tokens_is_kept_raw_and_flagged() -> None:
    model, _ = chat_model(stream_reply("stream_max_tokens_tool"))
    done = (await collect(model, "Write notes"))[-1]
    assert isinstance(done, Done)
    [call] = done.response.tool_calls
    assert done.response.stop_reason == "max_tokens"
    assert call.name == "write_file"
    assert call.function.invalid_arguments is True
    assert call.function.raw_arguments.startswith('{"path": "notes.md"')
    assert call.arguments == {}


async def test_tool_call_without_input_deltas_and_with_a_whole_input() -> None:
    events = [
        *load_fixture("stream_text")[:1],
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "toolu_a", "name": "get_time", "input": {}},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {
                "type": "tool_use",
                "id": "toolu_b",
                "name": "get_weather",
                "input": {"location": "Oslo"},
            },
        },
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {}},
        {"type": "message_stop"},
    ]
    model, _ = chat_model(stream_reply(events))
    out = await collect(model)
    first_delta = [e for e in out if isinstance(e, ToolCallDelta)][1]
    assert first_delta.arguments == '{"location":"Oslo"}'
    done = out[-1]
    assert isinstance(done, Done)
    no_input, whole = done.response.tool_calls
    assert no_input.arguments == {}
    assert no_input.function.invalid_arguments is False
    assert whole.arguments == {"location": "Oslo"}
    # An empty usage object in message_delta is no usage event.
    assert not [e for e in out if isinstance(e, UsageEvent)]


# ------------------------------------------------------------------ JSON output


async def test_json_output_streams_as_text() -> None:
    model, transport = chat_model(stream_reply("stream_json"))
    fmt = ResponseFormat.from_schema("person", PERSON)
    events = await collect(model, "Who wrote the first program?", response_format=fmt)
    assert not [e for e in events if isinstance(e, ToolCallDelta)]
    text = "".join(texts(events))
    assert json.loads(text) == {"name": "Ada Lovelace", "born": 1815}
    done = events[-1]
    assert isinstance(done, Done)
    assert done.response.text == text
    assert done.response.tool_calls == []
    assert done.response.stop_reason == "end_turn"
    assert transport.requests[0].json()["tool_choice"] == {"type": "tool", "name": "person"}


async def test_wrapped_json_output_streams_once_unwrapped() -> None:
    model, _ = chat_model(stream_reply("stream_json_wrapped"))
    schema = {"type": "array", "items": {"type": "integer"}}
    fmt = ResponseFormat.from_schema("numbers", schema)
    events = await collect(model, "Four primes", response_format=fmt)
    assert texts(events) == ["[2,3,5,7]"]
    done = events[-1]
    assert isinstance(done, Done)
    assert done.response.text == "[2,3,5,7]"


def test_json_output_whose_input_arrives_whole() -> None:
    start = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "tool_use", "id": "t", "name": "person", "input": {"a": 1}},
    }
    plain = StreamAssembler(provider="anthropic", json_output=JSONOutput("person", PERSON))
    assert [e.text for e in plain.feed(start) if isinstance(e, TextDelta)] == ['{"a":1}']
    wrapped = StreamAssembler(
        provider="anthropic", json_output=JSONOutput("person", {}, wrapped=True)
    )
    assert wrapped.feed(start) == []
    # Stopped without a `value`: the raw input is the text.
    stopped = wrapped.feed({"type": "content_block_stop", "index": 0})
    assert texts(stopped) == ['{"a":1}']
    assert wrapped.feed({"type": "content_block_stop", "index": 5}) == []
    assert wrapped.done().response.text == '{"a":1}'


def test_json_output_with_other_tool_calls_keeps_tool_use() -> None:
    a = StreamAssembler(provider="anthropic", json_output=JSONOutput("person", PERSON))
    events: list[dict[str, Any]] = [
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "t0", "name": "get_time", "input": {}},
        },
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "t1", "name": "person", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": "{}"},
        },
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": None},
    ]
    for event in events:
        a.feed(event)
    response = a.done().response
    assert response.stop_reason == "tool_use"
    assert [c.name for c in response.tool_calls] == ["get_time"]
    assert response.text == "{}"


# ------------------------------------------------------------ ignored events


async def test_thinking_is_skipped() -> None:
    model, _ = chat_model(stream_reply("stream_thinking"))
    events = await collect(model, "27 * 453?")
    assert texts(events) == ["27 × 453 = 12,231."]
    done = events[-1]
    assert isinstance(done, Done)
    assert done.response.text == "27 × 453 = 12,231."
    assert [b.type for b in done.response.content] == ["text"]


async def test_ping_and_unknown_events_are_ignored_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="conduit.providers.anthropic")
    events = load_fixture("stream_text")
    events.insert(1, {"type": "ping"})
    events.insert(3, {"type": "message_annotation", "annotation": {"kind": "new"}})
    events.insert(
        4, {"type": "content_block_start", "index": 7, "content_block": {"type": "hologram"}}
    )
    events.insert(
        5, {"type": "content_block_delta", "index": 0, "delta": {"type": "sparkle_delta", "x": 1}}
    )
    events.insert(
        6, {"type": "content_block_delta", "index": 7, "delta": {"type": "text_delta", "text": "?"}}
    )
    events.insert(
        7,
        {
            "type": "content_block_delta",
            "index": 9,
            "delta": {"type": "input_json_delta", "partial_json": "{"},
        },
    )
    model, _ = chat_model(stream_reply(events))
    out = await collect(model)
    assert "".join(texts(out)) == "Hello! How can I help you today?"
    done = out[-1]
    assert isinstance(done, Done)
    assert done.response.tool_calls == []
    assert "message_annotation" in caplog.text
    assert "hologram" in caplog.text
    assert "sparkle_delta" in caplog.text


# --------------------------------------------------------------------- failures


async def test_error_event_mid_stream() -> None:
    model, _ = chat_model(stream_reply("stream_error"))
    seen: list[StreamEvent] = []
    with pytest.raises(ServerError, match="Overloaded") as info:
        await collect_into(seen, model)
    assert texts(seen) == ["Hel"]  # what came before the failure was delivered
    assert info.value.provider == "anthropic"
    assert info.value.status_code is None


async def test_error_event_without_an_event_line() -> None:
    """Data-only SSE (as some gateways re-emit it): the JSON's own type says error."""
    events = load_fixture("stream_error")
    events[-1]["error"] = {
        "type": "invalid_request_error",
        "message": "prompt is too long: 208310 tokens > 200000 maximum",
    }
    model, _ = chat_model(lambda request: sse_response(events, done=False))
    with pytest.raises(ContextWindowExceededError, match="prompt is too long"):
        await collect(model)


async def test_malformed_event_data() -> None:
    body = (
        sse_bytes(load_fixture("stream_text")[:2]) + b"event: content_block_delta\ndata: {oops\n\n"
    )
    model, _ = chat_model(lambda request: sse_response(body))
    with pytest.raises(APIConnectionError, match="malformed stream event"):
        await collect(model)


async def test_stream_cut_before_message_stop() -> None:
    events = load_fixture("stream_text")[:-2]
    model, _ = chat_model(stream_reply(events))
    seen: list[StreamEvent] = []
    with pytest.raises(APIConnectionError, match="message_stop"):
        await collect_into(seen, model)
    assert "".join(texts(seen)) == "Hello! How can I help you today?"


async def test_http_error_before_the_stream() -> None:
    model, _ = chat_model(
        lambda request: json_response(load_fixture("error_overloaded"), status=529)
    )
    with pytest.raises(ServerError) as info:
        await collect(model)
    assert info.value.status_code == 529


# ------------------------------------------------------------ property: splitting


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(min_value=1, max_value=40))
def test_assembler_is_independent_of_how_json_is_split(size: int) -> None:
    arguments = '{"location": "San Francisco, CA", "unit": "fahrenheit", "days": [1, 2, 3]}'
    pieces = [arguments[i : i + size] for i in range(0, len(arguments), size)]
    a = StreamAssembler(provider="anthropic")
    a.feed(
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "t", "name": "f", "input": {}},
        }
    )
    for piece in pieces:
        a.feed(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": piece},
            }
        )
    [call] = a.done().response.tool_calls
    assert call.function.raw_arguments == arguments
    assert call.arguments["days"] == [1, 2, 3]


def test_text_block_that_starts_with_text() -> None:
    a = StreamAssembler(provider="anthropic")
    start = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": "Hi"},
    }
    assert [e.text for e in a.feed(start) if isinstance(e, TextDelta)] == ["Hi"]
    assert a.done().response.text == "Hi"
