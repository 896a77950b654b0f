"""Streaming through the OpenAI adapter: chunks → events, the final `Done` assembled."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conduit.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ContextWindowExceededError,
    RateLimitError,
    ServerError,
)
from conduit.providers.openai import ChunkAssembler, OpenAIChatModel
from conduit.schema import ChatOptions, Done, StreamEvent, TextDelta, ToolCallDelta, UsageEvent
from conduit.transport import json_response, sse_response
from tests.providers.openai.conftest import (
    assert_valid_openai_response,
    chat_model,
    headers_of,
    load_fixture,
    stream_reply,
)
from tests.providers.openai.test_chat import TIME, WEATHER


async def collect_into(seen: list[StreamEvent], model: OpenAIChatModel) -> None:
    """Collect events until the stream ends or fails (what came before a failure stays)."""
    async for event in model.stream("Hi"):
        seen.append(event)


async def collect(model: OpenAIChatModel, messages: Any = "Hi", **kwargs: Any) -> list[StreamEvent]:
    return [event async for event in model.stream(messages, **kwargs)]


# --------------------------------------------------------------------------- text


async def test_text_deltas_usage_and_done() -> None:
    model, transport = chat_model(stream_reply("stream_text"))
    events = await collect(model)

    assert [e.text for e in events if isinstance(e, TextDelta)] == [
        "Hello",
        "!",
        " How can I",
        " help you today?",
    ]
    assert [e.type for e in events][-2:] == ["usage", "done"]
    [usage_event] = [e for e in events if isinstance(e, UsageEvent)]
    assert usage_event.usage.input_tokens == 1200
    assert usage_event.usage.cache_read_tokens == 1024

    done = events[-1]
    assert isinstance(done, Done)
    response = done.response
    assert response.text == "Hello! How can I help you today?"
    assert response.id == "chatcmpl-B9MPi4j6Mo8Dv9Ut1Ab5Cz7Rw0Xg3"
    assert response.model == "gpt-4o-2024-08-06"
    assert response.provider == "openai"
    assert response.stop_reason == "end_turn"
    assert response.usage.total_tokens == 1209
    assert response.duration is not None

    [request] = transport.requests
    body = request.json()
    assert body["stream"] is True
    # Usage arrives in a last chunk only when asked for (API reference, stream_options).
    assert body["stream_options"] == {"include_usage": True}
    assert headers_of(request)["accept"] == "text/event-stream"
    assert request.url == "https://api.openai.com/v1/chat/completions"


async def test_stream_payload_uses_max_completion_tokens() -> None:
    model, transport = chat_model(stream_reply("stream_text"))
    await collect(model, max_tokens=7, temperature=0.3, seed=1)
    body = transport.requests[0].json()
    assert (body["max_completion_tokens"], body["temperature"], body["seed"]) == (7, 0.3, 1)


async def test_streamed_refusal_becomes_the_text() -> None:
    model, _ = chat_model(stream_reply("stream_refusal"))
    events = await collect(model)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == (
        "I'm sorry, I can't help with that."
    )
    done = events[-1]
    assert isinstance(done, Done)
    assert done.response.text == "I'm sorry, I can't help with that."


async def test_stream_without_usage_chunk() -> None:
    # A compatible server that ignores stream_options: no usage event, zero usage.
    chunks = [c for c in load_fixture("stream_text") if c["choices"]]
    model, _ = chat_model(stream_reply(chunks))
    events = await collect(model)
    assert not any(isinstance(e, UsageEvent) for e in events)
    done = events[-1]
    assert isinstance(done, Done)
    assert done.response.usage.total_tokens == 0
    assert done.response.text == "Hello! How can I help you today?"


async def test_usage_in_the_finish_chunk() -> None:
    chunks = load_fixture("stream_text")
    usage = chunks.pop()["usage"]
    chunks[-1]["usage"] = usage  # some servers send it with finish_reason
    model, _ = chat_model(stream_reply(chunks))
    done = (await collect(model))[-1]
    assert isinstance(done, Done)
    assert done.response.usage.output_tokens == 9
    assert done.response.stop_reason == "end_turn"


async def test_other_choices_are_ignored() -> None:
    chunks = load_fixture("stream_text")
    extra = {
        **chunks[1],
        "choices": [{**chunks[1]["choices"][0], "index": 1, "delta": {"content": "X"}}],
    }
    chunks.insert(2, extra)
    model, _ = chat_model(stream_reply(chunks))
    done = (await collect(model))[-1]
    assert isinstance(done, Done)
    assert "X" not in done.response.text


@pytest.mark.parametrize(
    ("finish", "reason"), [("length", "max_tokens"), ("content_filter", "content_filter")]
)
async def test_stream_stop_reasons(finish: str, reason: str) -> None:
    chunks = load_fixture("stream_text")
    chunks[-2]["choices"][0]["finish_reason"] = finish
    model, _ = chat_model(stream_reply(chunks))
    done = (await collect(model))[-1]
    assert isinstance(done, Done)
    assert done.response.stop_reason == reason


# ---------------------------------------------------------------------- tool calls


async def test_streamed_tool_calls_assembled_from_interleaved_fragments() -> None:
    model, transport = chat_model(stream_reply("stream_tool_calls"))
    events = await collect(model, "Weather in Paris and the time in Tokyo?", tools=[WEATHER, TIME])

    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert [d.index for d in deltas] == [0, 1, 0, 1, 0, 1, 0]
    assert [(d.id, d.name) for d in deltas[:2]] == [
        ("call_Pa9dRq1cXj2LmN3oB4vT5wZy", "get_weather"),
        ("call_Qb8eSr2dYk3MoP4pC5wU6xAz", "get_time"),
    ]
    assert all(d.id is None and d.name is None for d in deltas[2:])
    assert "".join(d.arguments for d in deltas if d.index == 0) == '{"city": "Paris"}'

    done = events[-1]
    assert isinstance(done, Done)
    response = done.response
    assert response.stop_reason == "tool_use"
    assert response.text == ""
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("call_Pa9dRq1cXj2LmN3oB4vT5wZy", "get_weather", {"city": "Paris"}),
        ("call_Qb8eSr2dYk3MoP4pC5wU6xAz", "get_time", {"timezone": "Asia/Tokyo"}),
    ]
    assert response.usage.total_tokens == 137
    assert transport.requests[0].json()["tools"][0]["function"]["name"] == "get_weather"


async def test_streamed_tool_call_with_broken_arguments_is_flagged() -> None:
    chunks = load_fixture("stream_tool_calls")
    del chunks[6]  # the fragment that closes index 0's JSON
    model, _ = chat_model(stream_reply(chunks))
    done = (await collect(model))[-1]
    assert isinstance(done, Done)
    first, second = done.response.tool_calls
    assert first.function.invalid_arguments is True
    assert first.function.raw_arguments == '{"city": "Pa'
    assert second.function.invalid_arguments is False


async def test_streamed_tool_call_without_id_gets_one() -> None:
    assembler = ChunkAssembler(provider="openai-compatible")
    assembler.feed(
        {
            "id": "x",
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "{}"}}]
                    },
                    "finish_reason": "tool_calls",
                }
            ],
        }
    )
    assert assembler.finished
    [call] = assembler.done().response.tool_calls
    assert (call.id, call.name) == ("call_0", "f")


# ----------------------------------------------------------------- chunk splitting


async def _events_for_chunk_size(name: str, size: int | None) -> list[StreamEvent]:
    model, _ = chat_model(stream_reply(name, chunk_size=size))
    events = await collect(model)
    done = events[-1]
    assert isinstance(done, Done)
    done.response.duration = None  # timing differs run to run
    return events


@pytest.mark.parametrize("name", ["stream_text", "stream_tool_calls"])
@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
async def test_small_chunks_decode_the_same(name: str, size: int) -> None:
    whole = await _events_for_chunk_size(name, None)
    split = await _events_for_chunk_size(name, size)
    assert split == whole


@settings(max_examples=40, deadline=None)
@given(size=st.integers(min_value=1, max_value=400))
def test_any_chunk_size_decodes_the_same(size: int) -> None:
    whole = asyncio.run(_events_for_chunk_size("stream_tool_calls", None))
    split = asyncio.run(_events_for_chunk_size("stream_tool_calls", size))
    assert split == whole


async def test_crlf_line_endings() -> None:
    body = b"".join(
        b"data: " + json_response(chunk).content + b"\r\n\r\n"
        for chunk in load_fixture("stream_text")
    )
    model, _ = chat_model(
        lambda request: sse_response(body + b"data: [DONE]\r\n\r\n", chunk_size=5)
    )
    done = (await collect(model))[-1]
    assert isinstance(done, Done)
    assert done.response.text == "Hello! How can I help you today?"


# -------------------------------------------------------------------- broken streams


@pytest.mark.parametrize(
    "bad", ['{"id": "chatcmpl-1", "choices": [', "[1, 2, 3]", "42", "not json"]
)
async def test_malformed_chunk_is_a_connection_error(bad: str) -> None:
    chunks: list[Any] = load_fixture("stream_text")[:2]
    model, _ = chat_model(stream_reply([*chunks, bad]))
    seen: list[StreamEvent] = []
    with pytest.raises(APIConnectionError, match="malformed stream chunk"):
        await collect_into(seen, model)
    assert [e.text for e in seen if isinstance(e, TextDelta)] == ["Hello"]


async def test_stream_ending_without_finish_reason() -> None:
    model, _ = chat_model(stream_reply("stream_no_finish", done=False))
    seen: list[StreamEvent] = []
    with pytest.raises(APIConnectionError, match="finish_reason"):
        await collect_into(seen, model)
    assert "".join(e.text for e in seen if isinstance(e, TextDelta)) == "The answer is forty"


async def test_done_sentinel_without_finish_reason() -> None:
    model, _ = chat_model(stream_reply("stream_no_finish", done=True))
    with pytest.raises(APIConnectionError, match="finish_reason"):
        await collect(model)


async def test_empty_stream() -> None:
    model, _ = chat_model(stream_reply([]))
    with pytest.raises(APIConnectionError):
        await collect(model)


ERROR_MIDSTREAM = [
    ("error_server", ServerError),
    ("error_overloaded", ServerError),
    ("error_context_length_exceeded", ContextWindowExceededError),
    ("error_invalid_request", BadRequestError),
    ("error_invalid_api_key", BadRequestError),  # type says invalid_request_error
    ("error_rate_limit", RateLimitError),  # type "tokens" is unknown; its code says it
    ("error_insufficient_quota", RateLimitError),
]


@pytest.mark.parametrize(("fixture", "cls"), ERROR_MIDSTREAM)
async def test_error_object_mid_stream(fixture: str, cls: type[Exception]) -> None:
    error = load_fixture(fixture)
    model, _ = chat_model(stream_reply([*load_fixture("stream_text")[:3], error]))
    seen: list[StreamEvent] = []
    with pytest.raises(cls) as info:
        await collect_into(seen, model)
    assert error["error"]["message"][:40] in str(info.value)
    assert [e.text for e in seen if isinstance(e, TextDelta)] == ["Hello", "!"]


@pytest.mark.parametrize(
    "data",
    [
        '{ "error": {"message": "The server had an error", "type": "server_error"}}',
        '{"id": "chatcmpl-1", "error": {"message": "The server had an error", "code": null}}',
    ],
)
async def test_error_object_in_other_json_spellings(data: str) -> None:
    model, _ = chat_model(stream_reply([load_fixture("stream_text")[0], data]))
    with pytest.raises(ServerError, match="The server had an error"):
        await collect(model)


async def test_sse_error_event() -> None:
    error = load_fixture("error_server")
    body = b"".join(
        [
            b"data: " + json_response(load_fixture("stream_text")[1]).content + b"\n\n",
            b"event: error\ndata: " + json_response(error).content + b"\n\n",
        ]
    )
    model, _ = chat_model(lambda request: sse_response(body))
    with pytest.raises(ServerError, match="The server had an error"):
        await collect(model)


@pytest.mark.parametrize(
    ("status", "fixture", "cls"),
    [
        (401, "error_invalid_api_key", AuthenticationError),
        (429, "error_rate_limit", RateLimitError),
    ],
)
async def test_http_error_before_the_stream(
    status: int, fixture: str, cls: type[Exception]
) -> None:
    model, transport = chat_model(
        lambda request: json_response(
            load_fixture(fixture), status=status, headers={"retry-after": "2"}
        )
    )
    with pytest.raises(cls) as info:
        await collect(model)
    assert info.value.status_code == status  # type: ignore[attr-defined]
    assert len(transport.requests) == 1


async def test_closing_early_stops_without_error() -> None:
    model, _ = chat_model(stream_reply("stream_text", chunk_size=16))
    stream = model.stream("Hi")
    first = await anext(stream)
    assert isinstance(first, TextDelta)
    await stream.aclose()  # type: ignore[attr-defined]


def test_stream_sync() -> None:
    model, _ = chat_model(stream_reply("stream_text"))
    events = list(model.stream_sync("Hi", ChatOptions(temperature=0)))
    assert events[-1].type == "done"


def test_every_stream_fixture_chunk_is_sdk_valid() -> None:
    for name in ("stream_text", "stream_tool_calls", "stream_refusal", "stream_no_finish"):
        for chunk in load_fixture(name):
            assert_valid_openai_response(chunk, "chunk")
