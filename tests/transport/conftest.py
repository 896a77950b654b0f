"""Scripted HTTP servers on 127.0.0.1 for the transport tests.

Two kinds: `web_server` (aiohttp.web, for ordinary answers) and `raw_server` (plain
asyncio sockets, for byte-level control: splitting, stalling, cutting, resetting).
Each answers successive requests with successive scripted handlers; the last handler
answers every request after that.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from conduit import _json
from conduit.transport import HTTPClient, RetryPolicy, Timeout
from conduit.transport.aiohttp_transport import AiohttpTransport

WebHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    """A request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return _json.loads(self.body)


def reply(
    status: int = 200,
    body: Any = None,
    *,
    text: str | None = None,
    headers: dict[str, str] | None = None,
    content_type: str | None = None,
) -> WebHandler:
    """A handler answering `status` with `body` as JSON (or `text` as it is)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if text is not None:
            return web.Response(
                status=status,
                text=text,
                headers=headers,
                content_type=content_type or "text/plain",
            )
        return web.Response(
            status=status,
            body=_json.dumps(body if body is not None else {}),
            headers=headers,
            content_type="application/json",
        )

    return handler


class WebServer:
    """An aiohttp.web server answering with scripted handlers."""

    def __init__(self) -> None:
        self.handlers: list[WebHandler] = [reply(200, {"ok": True})]
        self.requests: list[Seen] = []
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self.server = TestServer(app, host="127.0.0.1")

    def answer(self, *handlers: WebHandler) -> None:
        self.handlers = list(handlers)

    def url(self, path: str = "/v1/chat") -> str:
        return str(self.server.make_url(path))

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(Seen(request.method, request.path_qs, dict(request.headers), body))
        handler = self.handlers.pop(0) if len(self.handlers) > 1 else self.handlers[0]
        return await handler(request)


RawScript = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> Seen:
    """Read one HTTP/1.1 request (head and Content-Length body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Seen(method, path, headers, body)


def response_head(
    status: int = 200,
    headers: dict[str, str] | None = None,
    *,
    chunked: bool = False,
    length: int | None = None,
) -> bytes:
    lines = [f"HTTP/1.1 {status} Status"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    elif length is not None:
        lines.append(f"Content-Length: {length}")
    else:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body."""
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"


def reset(writer: asyncio.StreamWriter) -> None:
    """Close the socket with a TCP RST (SO_LINGER 0) instead of a clean FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@dataclass
class RawServer:
    """A TCP server whose connections run scripted coroutines, byte for byte."""

    scripts: list[RawScript] = field(default_factory=list)
    requests: list[Seen] = field(default_factory=list)
    connections: int = 0
    got_request: asyncio.Event = field(default_factory=asyncio.Event)
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)
    server: asyncio.Server | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def answer(self, *scripts: RawScript) -> None:
        self.scripts = list(scripts)

    def url(self, path: str = "/v1/chat") -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        self.connections += 1
        try:
            while True:
                try:
                    seen = await read_request(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return  # the client closed its side
                self.requests.append(seen)
                self.got_request.set()
                script = self.scripts.pop(0) if len(self.scripts) > 1 else self.scripts[0]
                await script(reader, writer)
                if writer.is_closing():
                    return
        except ConnectionError:
            pass
        finally:
            writer.close()
            self.disconnected.set()
            self.tasks.discard(task)

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.server.wait_closed()


async def wait_for_client_to_leave(reader: asyncio.StreamReader) -> None:
    """Block until the client closes the connection (a stall that ends with the test)."""
    while await reader.read(65536):
        pass


@pytest.fixture
async def web_server() -> AsyncIterator[WebServer]:
    server = WebServer()
    await server.server.start_server()
    yield server
    await server.server.close()


@pytest.fixture
async def raw_server() -> AsyncIterator[RawServer]:
    server = RawServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def transport() -> AsyncIterator[AiohttpTransport]:
    t = AiohttpTransport(timeout=Timeout(connect=2, read=2, total=5))
    yield t
    await t.aclose()


class _AsyncioWithFakeSleep:
    """`asyncio` as `conduit.transport.client` sees it, with `sleep` recorded, not waited."""

    def __init__(self, asked: list[float]) -> None:
        self.asked = asked

    async def sleep(self, delay: float, result: Any = None) -> Any:
        self.asked.append(delay)
        return await asyncio.sleep(0, result)

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits HTTPClient asks for between retries (only its own sleeps are faked)."""
    asked: list[float] = []
    monkeypatch.setattr("conduit.transport.client.asyncio", _AsyncioWithFakeSleep(asked))
    return asked


def make_client(
    transport: AiohttpTransport,
    *,
    max_retries: int = 2,
    secrets: tuple[str, ...] = (),
    headers: dict[str, str] | None = None,
    timeout: Timeout | None = None,
    max_retry_after: float = 60.0,
) -> HTTPClient:
    return HTTPClient(
        transport,
        provider="testprov",
        retry=RetryPolicy(max_retries=max_retries, max_retry_after=max_retry_after),
        secrets=secrets,
        headers=headers,
        timeout=timeout,
    )
