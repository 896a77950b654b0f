"""Server-sent events over real HTTP: awkward splits, sentinels, errors, cuts, early close."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import traceback
from collections.abc import Sequence

import pytest
from aiohttp import web

from conduit import errors
from conduit.transport import HTTPClient, SSEEvent, Timeout
from conduit.transport.aiohttp_transport import AiohttpTransport
from conduit.transport.sse import SSEDecoder

from .conftest import (
    LAST_CHUNK,
    RawScript,
    RawServer,
    WebServer,
    chunk,
    make_client,
    reply,
    response_head,
    wait_for_client_to_leave,
)

SSE_HEADERS = {"Content-Type": "text/event-stream"}


def sse_script(
    pieces: Sequence[bytes],
    *,
    chunked: bool = True,
    end: str = "finish",
    status: int = 200,
    pause: float = 0.0,
) -> RawScript:
    """Answer with `pieces`, each written (and flushed) on its own.

    `end`: "finish" ends the body properly; "cut" closes the socket right after the last
    piece; "stall" keeps the connection open until the client leaves."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(response_head(status, SSE_HEADERS, chunked=chunked))
        await writer.drain()
        for piece in pieces:
            writer.write(chunk(piece) if chunked else piece)
            await writer.drain()
            await asyncio.sleep(pause)
        if end == "finish":
            if chunked:
                writer.write(LAST_CHUNK)
                await writer.drain()
            else:
                writer.close()
        elif end == "cut":
            writer.close()
        else:
            await wait_for_client_to_leave(reader)

    return script


def byte_by_byte(body: bytes) -> list[bytes]:
    return [body[i : i + 1] for i in range(len(body))]


class RecordingDecoder(SSEDecoder):
    """An SSEDecoder that remembers the chunks it was fed."""

    fed: list[bytes] = []

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        RecordingDecoder.fed.append(chunk)
        return super().feed(chunk)


@pytest.fixture
def fed(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    RecordingDecoder.fed = []
    monkeypatch.setattr("conduit.transport.client.SSEDecoder", RecordingDecoder)
    return RecordingDecoder.fed


async def collect(client: HTTPClient, url: str) -> list[SSEEvent]:
    return [event async for event in client.stream_sse(url, {"stream": True})]


async def drain(client: HTTPClient, url: str, into: list[str]) -> None:
    """Read the stream, keeping each event's data in `into` (so it survives an error)."""
    async for event in client.stream_sse(url, {}):
        into.append(event.data)


AWKWARD = (
    ": keep-alive comment\r\n"
    "event: delta\r\n"
    "id: 7\r\n"
    'data: {"text": "caf\u00e9 \U0001f642"}\r\n'
    "\r\n"
    "data: line one\r\n"
    "data: line two\r\n"
    "\r\n"
    "data:no-space\n"
    "\n"
    "data: cr only\r"
    "\r"
    "data: \u65e5\u672c\u8a9e\n\n"
).encode()

AWKWARD_EVENTS = [
    SSEEvent('{"text": "caf\u00e9 \U0001f642"}', "delta", "7"),
    SSEEvent("line one\nline two", "message", "7"),
    SSEEvent("no-space", "message", "7"),
    SSEEvent("cr only", "message", "7"),
    SSEEvent("\u65e5\u672c\u8a9e", "message", "7"),
]


async def test_byte_by_byte(
    raw_server: RawServer, transport: AiohttpTransport, fed: list[bytes]
) -> None:
    raw_server.answer(sse_script(byte_by_byte(AWKWARD), pause=0.0005))
    events = await collect(make_client(transport), raw_server.url())
    assert events == AWKWARD_EVENTS
    assert b"".join(fed) == AWKWARD
    # The bytes really arrived in many pieces, some of them inside "\r\n" and inside
    # a multi-byte UTF-8 sequence.
    assert len(fed) > 20
    ends = set()
    position = 0
    for piece in fed[:-1]:
        position += len(piece)
        ends.add(position)
    assert any(AWKWARD[p - 1 : p + 1] == b"\r\n" for p in ends)
    assert any(0x80 <= AWKWARD[p] < 0xC0 for p in ends)  # next byte is a continuation byte
    # Request side: the stream was asked for as SSE, the payload sent as JSON.
    seen = raw_server.requests[0]
    assert seen.headers["accept"] == "text/event-stream"
    assert seen.json() == {"stream": True}


@pytest.mark.parametrize(
    "cuts",
    [
        # Splits inside "\r\n", inside the 4-byte emoji, right after "\r" of "\r\r".
        [AWKWARD.index(b"\r\n") + 1, AWKWARD.index("\U0001f642".encode()) + 2],
        [AWKWARD.index(b"cr only\r") + 8, AWKWARD.index(b"cr only\r") + 9],
        [AWKWARD.index("\u65e5".encode()) + 1],
    ],
)
async def test_chosen_splits(
    raw_server: RawServer, transport: AiohttpTransport, cuts: list[int]
) -> None:
    bounds = [0, *cuts, len(AWKWARD)]
    pieces = [AWKWARD[a:b] for a, b in itertools.pairwise(bounds)]
    raw_server.answer(sse_script(pieces, pause=0.01))
    assert await collect(make_client(transport), raw_server.url()) == AWKWARD_EVENTS


async def test_done_sentinel_stops_without_waiting_for_eof(
    raw_server: RawServer, transport: AiohttpTransport
) -> None:
    body = [b"data: 1\n\n", b"data: 2\n\ndata: [DONE]\n\ndata: after\n\n"]
    raw_server.answer(sse_script(body, end="stall"))
    events = await asyncio.wait_for(collect(make_client(transport), raw_server.url()), 30)
    assert [e.data for e in events] == ["1", "2"]
    # Returning at [DONE] closed the connection, which ends the server's stall.
    await asyncio.wait_for(raw_server.disconnected.wait(), 30)


async def test_clean_end_without_done(raw_server: RawServer, transport: AiohttpTransport) -> None:
    raw_server.answer(sse_script([b"event: message_start\ndata: {}\n\n", b"data: 2\n\n"]))
    events = await collect(make_client(transport), raw_server.url())
    assert [(e.event, e.data) for e in events] == [("message_start", "{}"), ("message", "2")]


async def test_close_delimited_stream(raw_server: RawServer, transport: AiohttpTransport) -> None:
    raw_server.answer(sse_script([b"data: a\r\n", b"\r\ndata: b\r\n\r\n"], chunked=False))
    events = await collect(make_client(transport), raw_server.url())
    assert [e.data for e in events] == ["a", "b"]


async def test_event_error_mid_stream(raw_server: RawServer, transport: AiohttpTransport) -> None:
    # Anthropic's shape: an `event: error` after the answer had begun.
    body = [
        b'event: content_block_delta\ndata: {"delta": "Hel"}\n\n',
        b'event: error\ndata: {"type": "error", "error": '
        b'{"type": "overloaded_error", "message": "Overloaded"}}\n\n',
        b"data: never\n\n",
    ]
    raw_server.answer(sse_script(body))
    got: list[str] = []
    with pytest.raises(errors.ServerError) as info:
        await drain(make_client(transport), raw_server.url(), got)
    assert got == ['{"delta": "Hel"}']
    assert info.value.message == "Overloaded"
    assert info.value.provider == "testprov"
    assert info.value.body is not None
    assert "overloaded_error" in info.value.body


@pytest.mark.parametrize(
    ("payload", "cls"),
    [
        (
            b'{"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}',
            errors.RateLimitError,
        ),
        (
            b'{"error": {"message": "maximum context length is 8192 tokens", '
            b'"type": "invalid_request_error"}}',
            errors.ContextWindowExceededError,
        ),
        (b'{"error": {"message": "boom", "type": "server_error"}}', errors.ServerError),
        (b'{"error": "something broke"}', errors.ServerError),
    ],
)
async def test_data_error_mid_stream(
    raw_server: RawServer,
    transport: AiohttpTransport,
    payload: bytes,
    cls: type[errors.ProviderError],
) -> None:
    raw_server.answer(sse_script([b'data: {"x": 1}\n\n', b"data: " + payload + b"\n\n"]))
    got: list[str] = []
    with pytest.raises(cls) as info:
        await drain(make_client(transport), raw_server.url(), got)
    assert type(info.value) is cls
    assert got == ['{"x": 1}']


async def test_timeout_error_event_is_not_rewrapped(
    raw_server: RawServer, transport: AiohttpTransport
) -> None:
    # A `timeout_error` event maps to conduit's TimeoutError, an APIConnectionError:
    # it must come out as built (with its body), not be mistaken for a network failure.
    payload = b'{"type": "error", "error": {"type": "timeout_error", "message": "slow"}}'
    raw_server.answer(sse_script([b"event: error\ndata: " + payload + b"\n\n"]))
    with pytest.raises(errors.TimeoutError) as info:
        await collect(make_client(transport), raw_server.url())
    assert info.value.message == "slow"
    assert info.value.body == payload.decode()


async def test_non_json_error_event(raw_server: RawServer, transport: AiohttpTransport) -> None:
    raw_server.answer(sse_script([b"event: error\ndata: upstream died\n\n"]))
    with pytest.raises(errors.ServerError) as info:
        await collect(make_client(transport), raw_server.url())
    assert "upstream died" in info.value.message


@pytest.mark.parametrize("chunked", [True, False])
async def test_cut_mid_event(
    raw_server: RawServer, transport: AiohttpTransport, chunked: bool
) -> None:
    # The server closes the connection in the middle of the second event: with chunked
    # framing HTTP sees the cut; with a close-delimited body only the SSE framing does.
    body = [b"data: first\n\n", b'data: {"partial": "sec']
    raw_server.answer(sse_script(body, chunked=chunked, end="cut"))
    got: list[str] = []
    with pytest.raises(errors.APIConnectionError) as info:
        await drain(make_client(transport), raw_server.url(), got)
    assert type(info.value) is errors.APIConnectionError
    assert info.value.provider == "testprov"
    assert got == ["first"]


async def test_cut_mid_stream_traceback_holds_no_secret(
    raw_server: RawServer, transport: AiohttpTransport
) -> None:
    key = "LEAK-plain-0123456789abcdef"
    raw_server.answer(sse_script([b"data: first\n\n", b"data: {"], end="cut"))
    client = make_client(transport, secrets=(key,), headers={"authorization": f"Bearer {key}"})
    with pytest.raises(errors.APIConnectionError) as info:
        await collect(client, raw_server.url(f"/v1/chat?key={key}"))
    assert info.value.__cause__ is None
    assert info.value.__context__ is None
    assert key not in "".join(traceback.format_exception(info.value))


async def test_cut_after_data_line_before_blank_line(
    raw_server: RawServer, transport: AiohttpTransport
) -> None:
    raw_server.answer(sse_script([b"data: first\n\ndata: second\n"], chunked=False, end="cut"))
    with pytest.raises(errors.APIConnectionError, match="middle of an event"):
        await collect(make_client(transport), raw_server.url())


async def test_cut_streams_are_not_retried_after_first_byte(
    raw_server: RawServer, transport: AiohttpTransport
) -> None:
    raw_server.answer(sse_script([b"data: first\n\ndata: sec"], end="cut"))
    with pytest.raises(errors.APIConnectionError):
        await collect(make_client(transport, max_retries=3), raw_server.url())
    assert len(raw_server.requests) == 1


async def test_read_timeout_mid_stream(raw_server: RawServer, transport: AiohttpTransport) -> None:
    raw_server.answer(sse_script([b"data: first\n\n"], end="stall"))
    # The first event is sent at once; the limit leaves room for a busy machine's pauses.
    client = make_client(transport, timeout=Timeout(read=1))
    got: list[str] = []
    with pytest.raises(errors.TimeoutError) as info:
        await drain(client, raw_server.url(), got)
    assert got == ["first"]
    assert info.value.provider == "testprov"


async def test_aclose_early_closes_the_connection(
    raw_server: RawServer, transport: AiohttpTransport
) -> None:
    raw_server.answer(sse_script([b"data: 1\n\n", b"data: 2\n\n"], end="stall"))
    stream = make_client(transport).stream_sse(raw_server.url(), {})
    first = await anext(stream)
    assert first.data == "1"
    assert not raw_server.disconnected.is_set()
    await stream.aclose()
    await asyncio.wait_for(raw_server.disconnected.wait(), 30)


async def test_break_out_of_aclosing_loop_closes_the_connection(
    raw_server: RawServer, transport: AiohttpTransport
) -> None:
    raw_server.answer(sse_script([b"data: 1\n\n"] * 3, end="stall"))
    client = make_client(transport)
    async with contextlib.aclosing(client.stream_sse(raw_server.url(), {})) as stream:
        async for event in stream:
            assert event.data == "1"
            break
    await asyncio.wait_for(raw_server.disconnected.wait(), 30)
    # The pool still works afterwards.
    raw_server.answer(sse_script([b"data: again\n\n"]))
    assert [e.data for e in await collect(client, raw_server.url())] == ["again"]


async def test_stream_429_is_retried_before_the_first_byte(
    raw_server: RawServer, transport: AiohttpTransport, sleeps: list[float]
) -> None:
    async def limited(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = b'{"error": {"message": "slow down"}}'
        headers = {"Content-Type": "application/json", "retry-after": "0.01"}
        writer.write(response_head(429, headers, length=len(body)) + body)
        await writer.drain()

    raw_server.answer(limited, sse_script([b"data: ok\n\n"]))
    events = await collect(make_client(transport), raw_server.url())
    assert [e.data for e in events] == ["ok"]
    assert sleeps == [0.01]


async def test_stream_400_raises_typed_error(
    raw_server: RawServer, transport: AiohttpTransport, sleeps: list[float]
) -> None:
    async def bad(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = b'{"error": {"message": "unknown parameter"}}'
        headers = {"Content-Type": "application/json", "x-request-id": "req_s"}
        writer.write(response_head(400, headers, chunked=True) + chunk(body) + LAST_CHUNK)
        await writer.drain()

    raw_server.answer(bad)
    with pytest.raises(errors.BadRequestError) as info:
        await collect(make_client(transport), raw_server.url())
    assert info.value.message == "unknown parameter"
    assert info.value.request_id == "req_s"
    assert sleeps == []


async def test_stream_error_body_cut_is_a_connection_failure(
    raw_server: RawServer, transport: AiohttpTransport, sleeps: list[float]
) -> None:
    async def cut_503(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(response_head(503, {"Content-Type": "application/json"}, chunked=True))
        writer.write(chunk(b'{"error": {"mess'))
        await writer.drain()
        writer.close()

    raw_server.answer(cut_503, sse_script([b"data: ok\n\n"]))
    events = await collect(make_client(transport), raw_server.url())
    assert [e.data for e in events] == ["ok"]
    assert len(sleeps) == 1

    raw_server.answer(cut_503)
    with pytest.raises(errors.APIConnectionError) as info:
        await collect(make_client(transport, max_retries=0), raw_server.url())
    assert info.value.provider == "testprov"


async def test_web_server_stream(transport: AiohttpTransport, web_server: WebServer) -> None:
    # The same through aiohttp.web's own StreamResponse (chunked, as real servers send).
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers=SSE_HEADERS)
        await response.prepare(request)
        for piece in byte_by_byte(b"data: he\xc3\xa9\r\n\r\ndata: [DONE]\r\n\r\n"):
            await response.write(piece)
        await response.write_eof()
        return response

    web_server.answer(handler, reply(200))
    events = await collect(make_client(transport), web_server.url())
    assert [e.data for e in events] == ["he\u00e9"]


# ------------------------------------------------------- connection reuse after [DONE]


def _sse_with_done(*, end_body: bool) -> RawScript:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(response_head(200, {"Content-Type": "text/event-stream"}, chunked=True))
        writer.write(chunk(b"data: hello\n\n"))
        writer.write(chunk(b"data: [DONE]\n\n"))
        await writer.drain()
        if end_body:
            await asyncio.sleep(0.01)  # the body's end arrives in a later packet
            writer.write(LAST_CHUNK)
            await writer.drain()
        else:
            await wait_for_client_to_leave(reader)  # never ends the body

    return script


async def test_connection_is_reused_after_done(
    raw_server: RawServer, transport: AiohttpTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The body's end comes 0.01 s after [DONE]; on a busy machine that can be later than
    # the drain's usual 0.25 s, so the drain waits as long as it takes here.
    monkeypatch.setattr("conduit.transport.client._DRAIN_SECONDS", 30.0)
    raw_server.answer(_sse_with_done(end_body=True))
    client = make_client(transport)
    for _ in range(3):
        assert [e.data for e in await collect(client, raw_server.url())] == ["hello"]
    assert raw_server.connections == 1


async def test_a_body_that_never_ends_after_done_is_closed_not_awaited(
    raw_server: RawServer, transport: AiohttpTransport
) -> None:
    raw_server.answer(_sse_with_done(end_body=False))
    client = make_client(transport)
    for _ in range(2):
        # The body never ends: a drain that awaited it would hang until the guard.
        events = await asyncio.wait_for(collect(client, raw_server.url()), 30)
        assert [e.data for e in events] == ["hello"]
    assert raw_server.connections == 2  # each stalled connection was dropped


async def test_a_flood_after_done_is_not_read_to_the_end(
    raw_server: RawServer, transport: AiohttpTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With an hour's drain time, only the byte limit can end the drain before the guard.
    monkeypatch.setattr("conduit.transport.client._DRAIN_SECONDS", 3600.0)

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(response_head(200, {"Content-Type": "text/event-stream"}, chunked=True))
        writer.write(chunk(b"data: hello\n\ndata: [DONE]\n\n"))
        with contextlib.suppress(ConnectionError):
            for _ in range(400):  # up to 1.6 MiB after the end, the body never ending
                writer.write(chunk(b": " + b"x" * 4094 + b"\n"))
                await writer.drain()
                await asyncio.sleep(0.001)
        await wait_for_client_to_leave(reader)

    raw_server.answer(flood)
    client = make_client(transport)
    events = await asyncio.wait_for(collect(client, raw_server.url()), 60)
    assert [e.data for e in events] == ["hello"]
    assert [e.data for e in await collect(client, raw_server.url())] == ["hello"]
    assert raw_server.connections == 2  # given up on, not reused
