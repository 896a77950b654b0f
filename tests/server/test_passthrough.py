"""Forwarded answers as bytes: the model renamed, the usage read, the text counted,
without a JSON round trip; events framed whole whatever the splits; an error event
in a relayed stream still a typed error."""

from __future__ import annotations

import asyncio
import json

import pytest

from conduit import errors
from conduit.server.passthrough import delivered_chars, renamed, take_usage, usage_in
from conduit.transport import HTTPClient, MockTransport, sse_response
from conduit.transport.sse import SSEDecoder, SSEFramer

CHUNKS = [
    {"id": "c", "model": "up-1", "choices": [{"index": 0, "delta": {"role": "assistant"}}]},
    {"id": "c", "model": "up-1", "choices": [{"index": 0, "delta": {"content": 'say "model":'}}]},
    {
        "id": "c",
        "model": "up-1",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [{"index": 0, "function": {"name": "f", "arguments": '{"a":1}'}}]
                },
            }
        ],
    },
    {
        "id": "c",
        "model": "up-1",
        "choices": [],
        "usage": {
            "prompt_tokens": 5,
            "completion_tokens": 7,
            "prompt_tokens_details": {"cached_tokens": 2},
        },
    },
]


def _sse(chunks: list[dict[str, object]], separators: tuple[str, str] = (": ", "\n")) -> bytes:
    colon, newline = separators
    return (
        "".join(f"data{colon}{json.dumps(c)}{newline}{newline}" for c in chunks).encode()
        + f"data{colon}[DONE]{newline}{newline}".encode()
    )


def test_the_model_is_renamed_and_nothing_else_changes() -> None:
    raw = _sse(CHUNKS)
    out = renamed(raw, 'group "g"')
    events = [json.loads(e.data) for e in SSEDecoder().feed(out) if e.data != "[DONE]"]
    assert [e["model"] for e in events] == ['group "g"'] * 4
    for event, chunk in zip(events, CHUNKS, strict=True):
        assert {**event, "model": chunk["model"]} == chunk  # the text's "model": untouched


def test_usage_is_read_from_the_bytes() -> None:
    answer = {"id": "x", "model": "m", "choices": [], "usage": CHUNKS[-1]["usage"]}
    assert usage_in(json.dumps(answer).encode()) == CHUNKS[-1]["usage"]
    assert usage_in(json.dumps(answer, indent=2).encode()) == CHUNKS[-1]["usage"]
    assert usage_in(b'{"id": "x", "usage": null}') is None
    assert usage_in(b'{"id": "x"}') is None
    deep = {"usage": {"prompt_tokens": 1, "a": {"b": {"c": 1}}}}  # deeper than real ones
    assert usage_in(json.dumps(deep).encode()) == deep["usage"]


@pytest.mark.parametrize("keep", [True, False])
def test_the_usage_chunk_is_read_and_kept_only_when_asked(keep: bool) -> None:
    frames, usage = take_usage(_sse(CHUNKS).replace(b"data: [DONE]\n\n", b""), keep)
    assert usage == CHUNKS[-1]["usage"]
    sent = [json.loads(e.data) for e in SSEDecoder().feed(frames)]
    assert sent == (CHUNKS if keep else CHUNKS[:-1])


def test_delivered_text_is_counted() -> None:
    assert delivered_chars(_sse(CHUNKS)) == len('say \\"model\\":') + len('{\\"a\\":1}')


@pytest.mark.parametrize("separators", [(": ", "\n"), (":", "\r\n"), (": ", "\r")])
def test_frames_are_whole_events_however_the_bytes_are_split(
    separators: tuple[str, str],
) -> None:
    raw = b"\xef\xbb\xbf" + _sse(CHUNKS, separators)
    expected = [e.data for e in SSEDecoder().feed(raw)]
    for size in (1, 2, 3, 7, 50, len(raw)):
        framer = SSEFramer()
        framed = []
        for start in range(0, len(raw), size):
            out = framer.feed(raw[start : start + size])
            if out:
                assert out.endswith(b"\n\n")
                framed.append(out)
        assert not framer.incomplete
        decoded = [e.data for e in SSEDecoder().feed(b"".join(framed))]
        assert decoded == expected, size


def _client(body: bytes, chunk_size: int) -> HTTPClient:
    transport = MockTransport(lambda request: sse_response(body, chunk_size=chunk_size))
    return HTTPClient(transport, provider="up")


@pytest.mark.parametrize("chunk_size", [5, 4096])
def test_relayed_frames_stop_at_done(chunk_size: int) -> None:
    body = _sse(CHUNKS) + b"data: after the end\n\n"

    async def frames() -> bytes:
        client = _client(body, chunk_size)
        return b"".join([f async for f in client.stream_sse_frames("http://x/v1", {})])

    got = asyncio.run(frames())
    assert [json.loads(e.data) for e in SSEDecoder().feed(got)] == CHUNKS


def test_an_error_event_in_a_relayed_stream_is_a_typed_error() -> None:
    error = {"error": {"message": "overloaded", "type": "server_error"}}
    body = (
        _sse(CHUNKS[:2]).replace(b"data: [DONE]\n\n", b"")
        + f"data: {json.dumps(error)}\n\n".encode()
    )
    seen: list[bytes] = []

    async def frames() -> None:
        async for frame in _client(body, 4096).stream_sse_frames("http://x/v1", {}):
            seen.append(frame)

    with pytest.raises(errors.ServerError, match="overloaded"):
        asyncio.run(frames())
    # The events before the error went out first.
    assert [json.loads(e.data) for e in SSEDecoder().feed(b"".join(seen))] == CHUNKS[:2]


def test_a_stream_cut_mid_event_is_a_connection_error() -> None:
    body = _sse(CHUNKS[:1]).replace(b"data: [DONE]\n\n", b"") + b'data: {"cut'

    async def frames() -> None:
        async for _ in _client(body, 4096).stream_sse_frames("http://x/v1", {}):
            pass

    with pytest.raises(errors.APIConnectionError, match="middle of an event"):
        asyncio.run(frames())
