"""Newline-delimited JSON: the decoder, `iter_ndjson`, and `HTTPClient.stream_ndjson` over
a mock and over real HTTP (awkward splits, error lines, cuts, early close)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conduit import errors
from conduit.transport import (
    HTTPClient,
    HTTPResponse,
    MockTransport,
    NDJSONDecoder,
    Timeout,
    iter_ndjson,
    json_response,
)
from conduit.transport.aiohttp_transport import AiohttpTransport

from .conftest import (
    LAST_CHUNK,
    RawScript,
    RawServer,
    chunk,
    make_client,
    response_head,
    wait_for_client_to_leave,
)

NDJSON_HEADERS = {"Content-Type": "application/x-ndjson"}

VALUES: list[Any] = [
    {"model": "m", "message": {"content": "caf\u00e9 \U0001f642"}, "done": False},
    {"n": 1},
    [1, 2, 3],
    "a string",
    42,
    None,
    {"model": "m", "message": {"content": "\u65e5\u672c\u8a9e"}, "done": True},
]
AWKWARD = (
    "\n".join(json.dumps(v, ensure_ascii=False) for v in VALUES[:2])
    + "\r\n\r\n"  # CRLF and a blank line
    + "  "
    + json.dumps(VALUES[2])
    + "  \n"  # surrounding whitespace
    + "\n".join(json.dumps(v, ensure_ascii=False) for v in VALUES[3:])
    + "\n"
).encode()


def pieces_of(body: bytes, cuts: Sequence[int]) -> list[bytes]:
    points = sorted({c for c in cuts if 0 < c < len(body)})
    return [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]


def decode(pieces: Sequence[bytes]) -> list[Any]:
    decoder = NDJSONDecoder()
    lines = [line for piece in pieces for line in decoder.feed(piece)]
    tail = decoder.flush()
    if tail is not None:
        lines.append(tail)
    return [json.loads(line) for line in lines]


def streamed(pieces: Sequence[bytes], *, on_close: Any = None) -> HTTPResponse:
    async def body() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    return HTTPResponse(200, NDJSON_HEADERS, b"", stream=body(), on_close=on_close)


async def collect_into(got: list[Any], values: AsyncIterator[Any]) -> None:
    """Collect values until the iteration ends or fails (what came before stays in `got`)."""
    async for value in values:
        got.append(value)


async def values_of(response: HTTPResponse, **kwargs: Any) -> list[Any]:
    kwargs.setdefault("provider", "testprov")
    return [v async for v in iter_ndjson(response, **kwargs)]


# --------------------------------------------------------------------------- decoder


def test_decoder_whole() -> None:
    assert decode([AWKWARD]) == VALUES


def test_decoder_every_split_point() -> None:
    for cut in range(1, len(AWKWARD)):
        assert decode(pieces_of(AWKWARD, [cut])) == VALUES, cut


def test_decoder_byte_by_byte() -> None:
    assert decode(pieces_of(AWKWARD, range(len(AWKWARD)))) == VALUES


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(AWKWARD)), max_size=60))
def test_decoder_any_split(cuts: list[int]) -> None:
    assert decode(pieces_of(AWKWARD, cuts)) == VALUES


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=8,
        ),
        max_size=8,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=30),
)
def test_any_values_split_anywhere_come_back(values: list[Any], cuts: list[int]) -> None:
    body = b"".join(json.dumps(v, ensure_ascii=False).encode() + b"\n" for v in values)
    assert decode(pieces_of(body, cuts)) == values


def test_decoder_empty_feeds_and_state() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b"") == []
    assert not decoder.incomplete
    assert decoder.feed(b"  \r") == []
    assert not decoder.incomplete  # whitespace alone waits for nothing
    assert decoder.feed(b"\n{") == []
    assert decoder.incomplete
    assert decoder.feed(b"}") == []
    assert decoder.flush() == b"{}"
    assert decoder.flush() is None
    assert not decoder.incomplete


# ------------------------------------------------------------------------ iter_ndjson


async def test_iter_ndjson_values_and_close() -> None:
    closed: list[bool] = []

    async def on_close() -> None:
        closed.append(True)

    assert await values_of(streamed(pieces_of(AWKWARD, [5, 17, 40]), on_close=on_close)) == VALUES
    assert closed == [True]


async def test_iter_ndjson_whole_body_without_stream() -> None:
    response = HTTPResponse(200, NDJSON_HEADERS, b'{"a": 1}\n{"b": 2}')
    assert await values_of(response) == [{"a": 1}, {"b": 2}]


async def test_iter_ndjson_error_line_is_typed_and_redacted() -> None:
    body = b'{"n": 1}\n{"error": "rate limit reached for key sk-abcdefghijklmnop"}\n{"n": 2}\n'
    got: list[Any] = []
    with pytest.raises(errors.ServerError) as caught:
        await collect_into(got, iter_ndjson(streamed([body]), provider="testprov"))
    assert got == [{"n": 1}]
    assert "rate limit reached" in caught.value.message
    assert "sk-abcdefghijklmnop" not in str(caught.value)
    assert caught.value.provider == "testprov"


async def test_iter_ndjson_error_line_with_a_type() -> None:
    body = b'{"error": {"type": "rate_limit_error", "message": "slow down"}}\n'
    with pytest.raises(errors.RateLimitError, match="slow down"):
        await values_of(streamed([body]))


async def test_iter_ndjson_empty_error_is_just_a_value() -> None:
    assert await values_of(streamed([b'{"error": null, "n": 1}\n'])) == [{"error": None, "n": 1}]


async def test_iter_ndjson_bad_line_quotes_it_redacted() -> None:
    body = b'{"n": 1}\nnot json, secret hunter2hunter2\n'
    with pytest.raises(errors.APIConnectionError, match="not valid JSON") as caught:
        await values_of(streamed([body]), redact=lambda t: t.replace("hunter2hunter2", "[X]"))
    assert "hunter2hunter2" not in str(caught.value)
    assert "[X]" in str(caught.value)


async def test_iter_ndjson_cut_mid_line() -> None:
    with pytest.raises(errors.APIConnectionError, match="ended in the middle of a line"):
        await values_of(streamed([b'{"n": 1}\n{"n": ']))


async def test_iter_ndjson_last_line_without_newline_is_kept() -> None:
    assert await values_of(streamed([b'{"n": 1}\n{"n": 2}'])) == [{"n": 1}, {"n": 2}]


async def test_iter_ndjson_byte_stream_failure_names_the_provider_and_redacts() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b'{"n": 1}\n'
        raise errors.APIConnectionError(
            "the connection closed mid-answer from POST http://h/x?key=AIzaSyDUMMYDUMMYDUMMYDUMMY12",
            status_code=200,
        )

    got: list[Any] = []
    response = HTTPResponse(200, stream=body())
    with pytest.raises(errors.APIConnectionError, match="closed mid-answer") as caught:
        await collect_into(got, iter_ndjson(response, provider="testprov"))
    assert got == [{"n": 1}]
    error = caught.value
    assert error.provider == "testprov"
    assert error.status_code == 200
    assert "AIzaSy" not in str(error)
    assert error.__cause__ is None
    assert error.__context__ is None


async def test_iter_ndjson_timeout_keeps_its_type() -> None:
    async def body() -> AsyncIterator[bytes]:
        raise errors.TimeoutError("timed out")
        yield b""  # pragma: no cover - makes this an async generator

    with pytest.raises(errors.TimeoutError):
        await values_of(HTTPResponse(200, stream=body()))


async def test_iter_ndjson_closed_early_closes_the_response() -> None:
    closed: list[bool] = []

    async def on_close() -> None:
        closed.append(True)

    values = iter_ndjson(streamed([b"1\n2\n3\n"], on_close=on_close), provider="testprov")
    assert await anext(values) == 1
    await values.aclose()
    assert closed == [True]


# ----------------------------------------------------------- HTTPClient.stream_ndjson


async def test_stream_ndjson_through_a_mock() -> None:
    transport = MockTransport(lambda request: streamed(pieces_of(AWKWARD, [3, 9])))
    client = HTTPClient(transport, provider="testprov", headers={"authorization": "Bearer k"})
    got = [v async for v in client.stream_ndjson("http://127.0.0.1/api/chat", {"stream": True})]
    assert got == VALUES
    [request] = transport.requests
    assert request.json() == {"stream": True}
    assert request.headers["accept"] == "application/x-ndjson"
    assert request.headers["authorization"] == "Bearer k"


async def test_stream_ndjson_http_error_before_the_stream() -> None:
    transport = MockTransport(lambda request: json_response({"error": "model not found"}, 404))
    client = HTTPClient(transport, provider="testprov", retry=None)
    with pytest.raises(errors.NotFoundError, match="model not found"):
        await collect_into([], client.stream_ndjson("http://127.0.0.1/api/chat", {}))


async def test_stream_ndjson_closed_early_closes_the_response() -> None:
    closed: list[bool] = []

    async def on_close() -> None:
        closed.append(True)

    transport = MockTransport(lambda request: streamed([b"1\n2\n"], on_close=on_close))
    stream = HTTPClient(transport, provider="testprov").stream_ndjson("http://127.0.0.1/", {})
    assert await anext(stream) == 1
    await stream.aclose()
    assert closed == [True]


# ------------------------------------------------------------------------ real HTTP


def ndjson_script(pieces: Sequence[bytes], *, end: str = "finish", pause: float = 0.0) -> RawScript:
    """Answer with `pieces` as a chunked body, each flushed on its own; `end` is
    "finish" (a proper last chunk), "cut" (close the socket) or "stall"."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(response_head(200, NDJSON_HEADERS, chunked=True))
        await writer.drain()
        for piece in pieces:
            writer.write(chunk(piece))
            await writer.drain()
            await asyncio.sleep(pause)
        if end == "finish":
            writer.write(LAST_CHUNK)
            await writer.drain()
        elif end == "cut":
            writer.close()
        else:
            await wait_for_client_to_leave(reader)

    return script


async def collect(client: HTTPClient, url: str) -> list[Any]:
    return [v async for v in client.stream_ndjson(url, {"stream": True})]


async def test_real_http_byte_by_byte(raw_server: RawServer, transport: AiohttpTransport) -> None:
    raw_server.answer(ndjson_script(pieces_of(AWKWARD, range(len(AWKWARD))), pause=0.0002))
    assert await collect(make_client(transport), raw_server.url("/api/chat")) == VALUES
    [seen] = raw_server.requests
    assert seen.path == "/api/chat"
    assert seen.headers["accept"] == "application/x-ndjson"
    assert seen.json() == {"stream": True}


async def test_real_http_connection_is_reused(
    raw_server: RawServer, transport: AiohttpTransport
) -> None:
    raw_server.answer(ndjson_script([b'{"a": 1}\n']))
    client = make_client(transport)
    for _ in range(3):
        assert await collect(client, raw_server.url()) == [{"a": 1}]
    assert raw_server.connections == 1


async def test_real_http_error_line_mid_stream(
    raw_server: RawServer, transport: AiohttpTransport
) -> None:
    raw_server.answer(ndjson_script([b'{"n": 1}\n', b'{"error": "model crashed"}\n']))
    got: list[Any] = []
    with pytest.raises(errors.ServerError, match="model crashed"):
        await collect_into(got, make_client(transport).stream_ndjson(raw_server.url(), {}))
    assert got == [{"n": 1}]


async def test_real_http_cut_mid_line(raw_server: RawServer, transport: AiohttpTransport) -> None:
    raw_server.answer(ndjson_script([b'{"n": 1}\n{"n"'], end="cut"))
    with pytest.raises(errors.APIConnectionError) as caught:
        await collect(make_client(transport), raw_server.url())
    assert caught.value.provider == "testprov"


async def test_real_http_cut_streams_are_not_retried(
    raw_server: RawServer, transport: AiohttpTransport
) -> None:
    raw_server.answer(ndjson_script([b'{"n": 1}\n'], end="cut"))
    with pytest.raises(errors.APIConnectionError):
        await collect(make_client(transport, max_retries=3), raw_server.url())
    assert len(raw_server.requests) == 1


async def test_real_http_read_timeout_mid_stream(
    raw_server: RawServer, transport: AiohttpTransport
) -> None:
    raw_server.answer(ndjson_script([b'{"n": 1}\n'], end="stall"))
    # The first line is sent at once; the limit leaves room for a busy machine's pauses.
    client = make_client(transport, timeout=Timeout(read=1))
    got: list[Any] = []
    with pytest.raises(errors.TimeoutError):
        await collect_into(got, client.stream_ndjson(raw_server.url(), {}))
    assert got == [{"n": 1}]


async def test_real_http_aclose_early_closes_the_connection(
    raw_server: RawServer, transport: AiohttpTransport
) -> None:
    raw_server.answer(ndjson_script([b"1\n", b"2\n"], end="stall"))
    stream = make_client(transport).stream_ndjson(raw_server.url(), {})
    assert await anext(stream) == 1
    assert not raw_server.disconnected.is_set()
    await stream.aclose()
    await asyncio.wait_for(raw_server.disconnected.wait(), 30)
