"""Streaming through the Gemini adapter: SSE chunks → events, the final `Done` assembled."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from conduit.errors import APIConnectionError, ContentFilterError
from conduit.providers.gemini import GeminiChatModel, StreamAssembler
from conduit.schema import (
    Done,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    UsageEvent,
    tool_result,
    user,
)
from conduit.transport import sse_response
from tests.providers.gemini.conftest import (
    BASE,
    chat_model,
    collect_into,
    headers_of,
    load_fixture,
    stream_reply,
)
from tests.providers.gemini.test_chat import TOOLS, signature_of


async def collect(model: GeminiChatModel, messages: Any = "Hi", **kwargs: Any) -> list[StreamEvent]:
    return [event async for event in model.stream(messages, **kwargs)]


def texts(events: list[StreamEvent]) -> list[str]:
    return [e.text for e in events if isinstance(e, TextDelta)]


# --------------------------------------------------------------------------- text


async def test_text_deltas_usage_and_done() -> None:
    model, transport = chat_model(stream_reply("stream_text"))
    events = await collect(model)

    assert texts(events) == ["Hello", "! How can I", " help you today?"]
    assert [e.type for e in events][-2:] == ["usage", "done"]
    [usage_event] = [e for e in events if isinstance(e, UsageEvent)]
    # From the last chunk's usageMetadata.
    assert (usage_event.usage.input_tokens, usage_event.usage.output_tokens) == (1200, 45)
    assert usage_event.usage.total_tokens == 1245
    assert usage_event.usage.cache_read_tokens == 1024
    done = events[-1]
    assert isinstance(done, Done)
    response = done.response
    assert response.text == "Hello! How can I help you today?"
    assert response.id == "m3hKaIb3J9-onvgPjfDDyA8"
    assert response.model == "gemini-2.5-flash"
    assert response.provider == "gemini"
    assert response.stop_reason == "end_turn"
    assert response.usage == usage_event.usage
    assert response.duration is not None

    [request] = transport.requests
    assert request.url == f"{BASE}/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert headers_of(request)["accept"] == "text/event-stream"
    assert request.json() == {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 64, 1000])
async def test_any_split_of_the_bytes_gives_the_same_events(chunk_size: int) -> None:
    model, _ = chat_model(stream_reply("stream_text", chunk_size=chunk_size))
    events = await collect(model)
    assert texts(events) == ["Hello", "! How can I", " help you today?"]
    assert isinstance(events[-1], Done)


async def test_stream_matches_chat() -> None:
    from tests.providers.gemini.conftest import reply

    streamed, _ = chat_model(stream_reply("stream_text"))
    whole, _ = chat_model(reply("generate_text"))
    done = (await collect(streamed))[-1]
    answer = await whole.chat("Hi")
    assert isinstance(done, Done)
    assert done.response.text == answer.text
    assert done.response.usage == answer.usage


async def test_sync_twin() -> None:
    model, _ = chat_model(stream_reply("stream_text"))
    events = list(model.stream_sync("Hi"))
    assert texts(events) == ["Hello", "! How can I", " help you today?"]
    assert events[-1].type == "done"


async def test_thoughts_and_empty_signature_parts_are_not_text() -> None:
    chunks = [
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [{"text": "Hmm, let me think.", "thought": True}],
                    }
                }
            ]
        },
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "Four."}]}}]},
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [{"text": "", "thoughtSignature": "AAAA"}],
                    },
                    "finishReason": "STOP",
                }
            ]
        },
    ]
    model, _ = chat_model(stream_reply(chunks))
    events = await collect(model)
    assert texts(events) == ["Four."]
    assert [e.type for e in events] == ["text_delta", "done"]  # no usage came


async def test_unknown_parts_are_skipped(caplog: pytest.LogCaptureFixture) -> None:
    chunks = [
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [
                            {"executableCode": {"language": "PYTHON", "code": "1+1"}},
                            {"text": "2"},
                        ],
                    }
                }
            ]
        },
        {"candidates": [{"content": {"role": "model", "parts": ["odd"]}, "finishReason": "STOP"}]},
        {"usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 1, "totalTokenCount": 6}},
    ]
    model, _ = chat_model(stream_reply(chunks))
    with caplog.at_level(logging.INFO, logger="conduit.providers.gemini"):
        events = await collect(model)
    assert texts(events) == ["2"]
    assert "executableCode" in caplog.text
    assert events[-2].type == "usage"


# ---------------------------------------------------------------- function calls


async def test_function_calls_stream_whole() -> None:
    model, _ = chat_model(stream_reply("stream_function_call"))
    events = await collect(model, tools=TOOLS)

    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert [(d.index, d.name, json.loads(d.arguments)) for d in deltas] == [
        (0, "get_weather", {"city": "Tokyo", "unit": "celsius"}),
        (1, "get_time", {"timezone": "Asia/Tokyo"}),
    ]
    done = events[-1]
    assert isinstance(done, Done)
    calls = done.response.tool_calls
    assert [c.id for c in calls] == [d.id for d in deltas]
    assert done.response.stop_reason == "tool_use"
    assert done.response.text == ""
    assert model.calls.recall(calls[0].id) == (signature_of("generate_parallel_calls"), False)
    assert model.calls.recall(calls[1].id) is None


async def test_streamed_calls_round_trip_with_their_signature() -> None:
    from conduit.transport import json_response

    answers = iter(
        [
            None,  # the stream
            json_response(load_fixture("generate_after_tool")),
        ]
    )
    chunks = load_fixture("stream_function_call")

    def handler(request: Any) -> Any:
        answer = next(answers)
        return answer if answer is not None else stream_reply(chunks)(request)

    model, transport = chat_model(handler)
    done = (await collect(model, tools=TOOLS))[-1]
    assert isinstance(done, Done)
    first, second = done.response.tool_calls
    await model.chat(
        [
            user("Hi"),
            done.response.to_message(),
            tool_result(first.id, "28°C"),
            tool_result(second.id, "21:04"),
        ],
        tools=TOOLS,
    )
    parts = transport.requests[1].json()["contents"][1]["parts"]
    assert parts[0]["thoughtSignature"] == signature_of("generate_parallel_calls")
    assert "thoughtSignature" not in parts[1]


# ----------------------------------------------------------------------- safety


async def test_stream_blocked_by_safety() -> None:
    model, _ = chat_model(stream_reply("stream_safety"))
    with pytest.raises(ContentFilterError, match="SAFETY"):
        await collect(model)


async def test_stream_prompt_blocked() -> None:
    model, _ = chat_model(stream_reply("stream_prompt_blocked"))
    with pytest.raises(ContentFilterError, match="PROHIBITED_CONTENT"):
        await collect(model)


async def test_stream_filtered_after_some_text_keeps_the_text() -> None:
    chunks = load_fixture("stream_text")
    chunks[-1]["candidates"][0]["finishReason"] = "RECITATION"
    model, _ = chat_model(stream_reply(chunks))
    done = (await collect(model))[-1]
    assert isinstance(done, Done)
    assert done.response.stop_reason == "content_filter"
    assert done.response.text == "Hello! How can I help you today?"


# ------------------------------------------------------------------ broken streams


async def test_stream_without_finish_reason_is_cut() -> None:
    chunks = load_fixture("stream_text")[:2]
    model, _ = chat_model(stream_reply(chunks))
    seen: list[StreamEvent] = []
    with pytest.raises(APIConnectionError, match="no finishReason"):
        await collect_into(seen, model.stream("Hi"))
    assert texts(seen) == ["Hello", "! How can I"]


@pytest.mark.parametrize(
    "data",
    [
        "not json",
        "[1, 2]",
        json.dumps({"candidates": ["x"]}),
        json.dumps({"candidates": [{"content": {"parts": [{"functionCall": "f()"}]}}]}),
        json.dumps({"candidates": [{"content": {"parts": [{"functionCall": {"name": 5}}]}}]}),
    ],
)
async def test_malformed_chunks(data: str) -> None:
    model, _ = chat_model(lambda request: sse_response([data], done=False))
    with pytest.raises(APIConnectionError, match="malformed stream chunk"):
        await collect(model)


async def test_chunk_without_candidates_only_updates_usage() -> None:
    assembler = StreamAssembler(provider="gemini")
    assert assembler.feed({"usageMetadata": {"promptTokenCount": 2}, "candidates": []}) == []
    assert assembler.usage is not None
    assert assembler.usage.input_tokens == 2
    assert not assembler.finished
