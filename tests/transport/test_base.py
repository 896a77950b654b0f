"""HTTPRequest / HTTPResponse / Timeout and the Transport base class."""

from __future__ import annotations

from collections.abc import AsyncIterator

from conduit.transport import HTTPRequest, HTTPResponse, Timeout, Transport


def test_timeout_defaults() -> None:
    assert Timeout() == Timeout(connect=10.0, read=600.0, total=None)


def test_request_json() -> None:
    assert HTTPRequest("POST", "http://t/", content=b'{"a": 1}').json() == {"a": 1}
    assert HTTPRequest("GET", "http://t/").json() is None


async def test_response_content_only() -> None:
    response = HTTPResponse(200, {}, b"body")
    assert [c async for c in response.aiter_bytes()] == [b"body"]
    assert await response.aread() == b"body"
    assert [c async for c in HTTPResponse(204).aiter_bytes()] == []
    await response.aclose()  # nothing to close: harmless


async def test_aread_drains_and_closes_once() -> None:
    closed: list[bool] = []

    async def body() -> AsyncIterator[bytes]:
        yield b"a"
        yield b"b"

    async def on_close() -> None:
        closed.append(True)

    response = HTTPResponse(200, {}, b"", stream=body(), on_close=on_close)
    assert await response.aread() == b"ab"
    assert await response.aread() == b"ab"
    assert response.stream is None
    await response.aclose()
    assert closed == [True]


async def test_aclose_closes_an_unfinished_stream() -> None:
    finished: list[str] = []

    async def body() -> AsyncIterator[bytes]:
        try:
            yield b"a"
            yield b"b"
        finally:
            finished.append("generator cleaned up")

    response = HTTPResponse(200, {}, stream=body())
    chunks = response.aiter_bytes()
    assert await anext(chunks) == b"a"
    await chunks.aclose()
    await response.aclose()
    assert finished == ["generator cleaned up"]


async def test_default_transport_aclose() -> None:
    class Echo(Transport):
        async def send(self, request: HTTPRequest, *, stream: bool = False) -> HTTPResponse:
            return HTTPResponse(200, {}, request.content or b"")

    transport = Echo()
    assert (await transport.send(HTTPRequest("POST", "u", content=b"x"))).content == b"x"
    await transport.aclose()
