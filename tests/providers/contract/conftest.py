"""Every contract behaviour runs twice: on the `MockTransport` as written ("mock"), and
over real HTTP on 127.0.0.1 ("http").

In "http" mode each `MockTransport.send` goes through Conduit's aiohttp transport to a
loopback server; the server rebuilds the request from the bytes it received (method, the
original URL, headers, body), asks the kit's handler (with its SDK-type checks) for the
answer, and writes it back (streams chunk by chunk, as the handler splits them). A
handler that raises `APIConnectionError` makes the server drop the connection; any other
exception in the handler (a failed request check) is raised in the test.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web

from conduit.errors import APIConnectionError
from conduit.transport import HTTPRequest, HTTPResponse, MockTransport
from conduit.transport.aiohttp_transport import AiohttpTransport

# Headers aiohttp adds or that describe the framing of one hop, not the request itself.
_HOP = frozenset({"host", "content-length", "transfer-encoding", "connection", "keep-alive"})


class LoopbackServer:
    """An aiohttp server on its own loop in a thread, answering with registered handlers."""

    def __init__(self) -> None:
        self.handlers: dict[str, Any] = {}
        self.failures: dict[str, BaseException] = {}
        self._ids = itertools.count()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    async def _start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{token}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}"

    def register(self, handler: Any) -> str:
        token = f"h{next(self._ids)}"
        self.handlers[token] = handler
        return token

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        body = await request.read()
        original = HTTPRequest(
            request.method,
            request.query["u"],
            {k.lower(): v for k, v in request.headers.items() if k.lower() not in _HOP},
            body or None,
        )
        try:
            result = self.handlers[token](original)
            answer: HTTPResponse = await result if inspect.isawaitable(result) else result
        except APIConnectionError:
            assert request.transport is not None
            request.transport.close()  # what a network failure looks like to the client
            return web.Response()
        except BaseException as exc:  # a failed request check: raised in the test
            self.failures[token] = exc
            return web.Response(status=599)
        headers = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP}
        if answer.stream is None:
            return web.Response(status=answer.status, headers=headers, body=answer.content)
        response = web.StreamResponse(status=answer.status, headers=headers)
        await response.prepare(request)
        if answer.content:
            await response.write(answer.content)
        async for chunk in answer.stream:
            await response.write(chunk)
        await response.write_eof()
        return response

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture(scope="session")
def loopback() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    yield server
    server.stop()


@pytest.fixture(params=["mock", "http"], autouse=True)
async def wire(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[str]:
    if request.param == "mock":
        yield "mock"
        return
    server: LoopbackServer = request.getfixturevalue("loopback")

    async def send_over_http(
        self: MockTransport, sent: HTTPRequest, *, stream: bool = False
    ) -> HTTPResponse:
        self.requests.append(sent)
        token = server.register(self.handler)
        forwarded = HTTPRequest(
            sent.method,
            f"{server.url}/{token}?u={quote(sent.url, safe='')}",
            dict(sent.headers),
            sent.content,
            sent.timeout,
        )
        # A client per request, closed with its response: calls come from several event
        # loops (the test's, the sync bridge's, `asyncio.run`'s), each ending on its own.
        client = AiohttpTransport()
        try:
            response = await client.send(forwarded, stream=stream)
        except BaseException:
            await client.aclose()
            raise
        failure = server.failures.pop(token, None)
        if failure is not None or response.stream is None:
            if response.stream is not None:
                await response.aread()
            await client.aclose()
            if failure is not None:
                raise failure
            return response
        release = response.on_close

        async def close_both() -> None:
            try:
                if release is not None:
                    await release()
            finally:
                await client.aclose()

        response.on_close = close_both
        return response

    monkeypatch.setattr(MockTransport, "send", send_over_http)
    yield "http"
