"""Streaming through the Ollama adapter: NDJSON objects → events, the final `Done` assembled,
whatever way the network splits the bytes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conduit.errors import APIConnectionError, ServerError
from conduit.providers.ollama import OllamaChatModel, StreamAssembler
from conduit.schema import (
    Done,
    ResponseAssembler,
    StreamEvent,
    TextDelta,
    Tool,
    ToolCallDelta,
    UsageEvent,
)
from conduit.transport import HTTPRequest, HTTPResponse
from tests.providers.ollama.conftest import (
    BASE,
    chat_model,
    headers_of,
    load_lines,
    ndjson_body,
    ndjson_response,
    stream_reply,
)

WEATHER = Tool(
    name="get_weather",
    description="Get the weather in a given city",
    parameters={
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city to get the weather for"}
        },
        "required": ["city"],
    },
)


async def collect(model: OllamaChatModel, messages: Any = "Hi", **kwargs: Any) -> list[StreamEvent]:
    return [event async for event in model.stream(messages, **kwargs)]


async def collect_into(seen: list[StreamEvent], model: OllamaChatModel) -> None:
    """Collect events until the stream ends or fails (what came before a failure stays)."""
    async for event in model.stream("Hi"):
        seen.append(event)


def final(events: list[StreamEvent]) -> Done:
    done = events[-1]
    assert isinstance(done, Done)
    return done


# --------------------------------------------------------------------------- text


async def test_text_deltas_usage_and_done() -> None:
    model, transport = chat_model(stream_reply("stream_text"))
    events = await collect(model, "why is the sky blue?", temperature=0)

    assert [e.text for e in events if isinstance(e, TextDelta)] == ["The", " sky", " is", " blue."]
    assert [e.type for e in events][-2:] == ["usage", "done"]
    [usage] = [e for e in events if isinstance(e, UsageEvent)]
    assert (usage.usage.input_tokens, usage.usage.output_tokens) == (26, 282)

    response = final(events).response
    assert response.text == "The sky is blue."
    assert response.model == "llama3.2"
    assert response.provider == "ollama"
    assert response.stop_reason == "end_turn"
    assert response.usage.total_tokens == 308
    assert response.tool_calls == []
    assert response.duration is not None

    [request] = transport.requests
    assert request.url == f"{BASE}/api/chat"
    body = request.json()
    assert body["stream"] is True
    assert body["options"] == {"temperature": 0.0}
    assert headers_of(request)["accept"] == "application/x-ndjson"


async def test_tool_calls_stream_whole() -> None:
    model, _ = chat_model(stream_reply("stream_tool_calls"))
    events = await collect(model, "what is the weather in tokyo?", tools=[WEATHER])

    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert len(deltas) == 2
    assert (deltas[0].index, deltas[0].name, deltas[0].arguments) == (0, "get_weather", "")
    assert deltas[0].id is not None
    assert deltas[0].id.startswith("call_")
    assert (deltas[1].index, deltas[1].id, deltas[1].arguments) == (0, None, '{"city":"Tokyo"}')
    assert not any(isinstance(e, TextDelta) for e in events)

    response = final(events).response
    [call] = response.tool_calls
    assert (call.id, call.name, call.arguments) == (deltas[0].id, "get_weather", {"city": "Tokyo"})
    assert response.stop_reason == "tool_use"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (169, 15)

    # The deltas alone rebuild the same calls (what a consumer without `Done` sees).
    rebuilt = ResponseAssembler()
    for event in events[:-1]:
        rebuilt.add(event)
    assert rebuilt.response().tool_calls == response.tool_calls


async def test_text_then_several_tool_calls_get_increasing_indexes() -> None:
    lines = [
        {"model": "qwen3", "message": {"role": "assistant", "content": "Checking."}, "done": False},
        {
            "model": "qwen3",
            "message": {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"function": {"name": "get_weather", "arguments": {"city": "Tokyo"}}},
                    {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                ],
            },
            "done": False,
        },
        {
            "model": "qwen3",
            "message": {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"function": {"name": "get_time", "arguments": {}}}],
            },
            "done": False,
        },
        {"model": "qwen3", "message": {"role": "assistant", "content": ""}, "done": True},
    ]
    model, _ = chat_model(stream_reply(lines), name="qwen3")
    events = await collect(model)
    assert sorted({e.index for e in events if isinstance(e, ToolCallDelta)}) == [0, 1, 2]
    response = final(events).response
    assert response.text == "Checking."
    assert [c.name for c in response.tool_calls] == ["get_weather", "get_weather", "get_time"]
    assert len({c.id for c in response.tool_calls}) == 3
    assert response.stop_reason == "tool_use"


async def test_length_and_missing_counts() -> None:
    lines = [
        {"model": "m", "message": {"role": "assistant", "content": "Once"}, "done": False},
        {"model": "m", "message": {"role": "assistant", "content": ""}, "done": True,
         "done_reason": "length"},
    ]  # fmt: skip
    model, _ = chat_model(stream_reply(lines))
    response = final(await collect(model, max_tokens=1)).response
    assert response.stop_reason == "max_tokens"
    assert response.usage.total_tokens == 0


# ------------------------------------------------------------- split anywhere


def _run(body: bytes, cuts: list[int]) -> list[StreamEvent]:
    points = sorted({c for c in cuts if 0 < c < len(body)})
    pieces = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]

    async def stream() -> Any:
        for piece in pieces:
            yield piece

    model, _ = chat_model(lambda r: HTTPResponse(200, {}, b"", stream=stream()), validate=False)
    return asyncio.run(collect(model))


def _comparable(events: list[StreamEvent]) -> list[Any]:
    """Events without what differs run to run (generated ids, durations)."""
    out = []
    for event in events:
        data = event.model_dump()
        if isinstance(event, Done):
            data["response"]["duration"] = None
            for call in data["response"]["tool_calls"]:
                call["id"] = "id"
        if isinstance(event, ToolCallDelta) and event.id:
            data["id"] = "id"
        out.append(data)
    return out


UNICODE = b"".join(
    json.dumps(line, ensure_ascii=False).encode() + b"\n"
    for line in [
        {"model": "m", "message": {"role": "assistant", "content": "It is 11°C"}, "done": False},
        {"model": "m", "message": {"role": "assistant", "content": " 🌤 in Tōkyō"}, "done": False},
        {"model": "m", "message": {"role": "assistant", "content": ""}, "done": True,
         "done_reason": "stop", "prompt_eval_count": 3, "eval_count": 4},
    ]
)  # fmt: skip
BODIES = {
    "text": ndjson_body("stream_text"),
    "tools": ndjson_body("stream_tool_calls"),
    "unicode": UNICODE,
    "crlf": ndjson_body("stream_text").replace(b"\n", b"\r\n"),
}


@pytest.mark.parametrize("name", sorted(BODIES))
def test_every_single_byte_split_decodes_the_same(name: str) -> None:
    body = BODIES[name]
    whole = _comparable(_run(body, []))
    assert whole[-1]["type"] == "done"
    for cut in range(1, len(body)):
        assert _comparable(_run(body, [cut])) == whole, cut


def test_byte_by_byte_decodes_the_same() -> None:
    for body in BODIES.values():
        assert _comparable(_run(body, list(range(len(body))))) == _comparable(_run(body, []))


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(BODIES)),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=40),
)
def test_any_split_decodes_the_same(name: str, cuts: list[int]) -> None:
    body = BODIES[name]
    assert _comparable(_run(body, cuts)) == _comparable(_run(body, []))


def test_the_unicode_body_really_holds_multibyte_text() -> None:
    assert "°".encode() in UNICODE
    assert "🌤".encode() in UNICODE
    response = final(_run(UNICODE, [])).response
    assert response.text == "It is 11°C 🌤 in Tōkyō"


async def test_blank_lines_and_a_missing_last_newline_are_fine() -> None:
    body = b"\n" + ndjson_body("stream_text").replace(b"\n", b"\n\n").rstrip(b"\n")
    model, _ = chat_model(lambda r: ndjson_response(body, chunk_size=7), validate=False)
    assert final(await collect(model)).response.text == "The sky is blue."


# ------------------------------------------------------------------------ failures


async def test_error_object_mid_stream_is_a_server_error_after_the_text() -> None:
    model, _ = chat_model(stream_reply("stream_error"), name="gemma3")
    seen: list[StreamEvent] = []
    with pytest.raises(ServerError, match="an error was encountered while running the model") as e:
        await collect_into(seen, model)
    assert "".join(x.text for x in seen if isinstance(x, TextDelta)) == " Yes.Ican"
    assert e.value.provider == "ollama"
    assert e.value.status_code is None


async def test_error_mid_stream_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-secret-key-123")
    lines = [{"error": "upstream rejected Bearer ollama-secret-key-123"}]
    model, _ = chat_model(stream_reply(lines))
    with pytest.raises(ServerError) as caught:
        await collect(model)
    assert "ollama-secret-key-123" not in str(caught.value)
    assert "ollama-secret-key-123" not in (caught.value.body or "")


async def test_stream_without_done_is_a_connection_error() -> None:
    lines = load_lines("stream_text")[:-1]
    model, _ = chat_model(stream_reply(lines))
    seen: list[StreamEvent] = []
    with pytest.raises(APIConnectionError, match="no final `done` object"):
        await collect_into(seen, model)
    assert len(seen) == 4


async def test_stream_cut_mid_line() -> None:
    body = ndjson_body("stream_text")
    cut = body[: body.rindex(b"\n", 0, len(body) - 1) + 20]
    model, _ = chat_model(lambda r: ndjson_response(cut), validate=False)
    with pytest.raises(APIConnectionError, match="ended in the middle of a line"):
        await collect(model)


async def test_a_line_that_is_not_json() -> None:
    body = b'{"model":"m","message":{"content":"a"},"done":false}\n<html>oops</html>\n'
    model, _ = chat_model(lambda r: ndjson_response(body))
    with pytest.raises(APIConnectionError, match="not valid JSON"):
        await collect(model)


async def test_a_line_that_is_not_an_object() -> None:
    model, _ = chat_model(lambda r: ndjson_response(b"[1, 2]\n"))
    with pytest.raises(APIConnectionError, match="not an object"):
        await collect(model)


async def test_the_byte_stream_failing_is_a_connection_error_naming_ollama() -> None:
    async def stream() -> Any:
        yield ndjson_body("stream_text")[:50]
        raise APIConnectionError("the connection closed mid-answer from POST http://x/api/chat")

    model, _ = chat_model(lambda r: HTTPResponse(200, {}, b"", stream=stream()), validate=False)
    with pytest.raises(APIConnectionError, match="closed mid-answer") as caught:
        await collect(model)
    assert caught.value.provider == "ollama"


async def test_objects_after_done_are_ignored() -> None:
    lines = [*load_lines("stream_text"), {"model": "m", "message": {"content": "late"}}]
    model, _ = chat_model(stream_reply(lines))
    assert final(await collect(model)).response.text == "The sky is blue."


async def test_closing_the_stream_early_closes_the_connection() -> None:
    closed: list[bool] = []

    async def on_close() -> None:
        closed.append(True)

    async def handler(request: HTTPRequest) -> HTTPResponse:
        response = ndjson_response(ndjson_body("stream_text"), chunk_size=40)
        response.on_close = on_close
        return response

    model, _ = chat_model(handler)
    stream = model.stream("Hi")
    first = await anext(stream)
    assert isinstance(first, TextDelta)
    await stream.aclose()  # type: ignore[attr-defined]
    assert closed == [True]


async def test_the_assembler_alone() -> None:
    assembler = StreamAssembler(provider="ollama")
    for line in load_lines("stream_text"):
        assembler.feed(line)
    assert assembler.finished
    assert assembler.done_reason == "stop"
    done = assembler.done(1.5)
    assert done.response.duration == 1.5
    assert done.response.text == "The sky is blue."


def test_stream_sync_twin() -> None:
    model, _ = chat_model(stream_reply("stream_text"))
    events = list(model.stream_sync("why is the sky blue?"))
    assert final(events).response.text == "The sky is blue."
    model.close()
