"""The gateway's connections: timeouts for slow clients, a cap on open connections, and
OpenAI-shaped JSON for errors the HTTP layer answers itself.

A gateway on the internet meets clients that connect and send nothing, send a request's
headers a byte at a time (slowloris), or open more sockets than the process may hold
files. aiohttp's server closes an idle connection only after `keepalive_timeout` and has
no limit on open connections, so this module adds, per connection:

- **header timeout** (`header_timeout` seconds): a request's head (the request line and
  headers) must arrive whole within that time from the connection's start, or from its
  first byte after a keep-alive pause; otherwise the gateway answers 408 and closes;
- **idle keep-alive** (`keepalive_timeout`): a connection that sends nothing after an
  answer is closed after that long (aiohttp's own timer, which also closes a connection
  whose head is still incomplete when it fires);
- **body timeout** (`body_timeout`): the route reads the body within that time
  (`read_body`), else 408;
- **a cap on open connections** (`max_connections`, and never more than half the files
  the process may open, so accepting never fails with "too many open files"): at the cap,
  a new connection closes the connection that has waited longest without a request in
  progress (a slowloris socket, or an idle keep-alive one), so slow sockets cannot keep a
  normal client out; when every connection has a request in progress, the new one gets a
  503 with `Retry-After` and is closed.

aiohttp answers requests it cannot parse (a bad request line, headers too long) before
any route runs; `GuardedHandler.handle_error` makes those answers OpenAI's JSON error
shape too.

Everything here uses aiohttp's public server pieces: a `web.RequestHandler` subclass as
the protocol, made by `Listener` for a runner's `server`, served by
`loop.create_server`.

Example:
    >>> limits = ConnectionLimits(header_timeout=10, body_timeout=30, keepalive_timeout=15,
    ...                           max_connections=100_000)
    >>> limits.effective_max(open_files=1024)
    480
"""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from conduit import _json
from conduit.server.errors import error_body

if TYPE_CHECKING:
    from aiohttp.web_request import BaseRequest

__all__ = [
    "ConnectionLimits",
    "Connections",
    "GuardedHandler",
    "Listener",
    "read_body",
]

_log = logging.getLogger("conduit.server.connections")
# Files a process keeps for itself (the database, Redis, logs, the listening socket).
_RESERVED_FILES = 64


def _raw_error(status: int, reason: str, message: str, kind: str, retry: int | None) -> bytes:
    body = _json.dumps(error_body(message, kind))
    head = [
        f"HTTP/1.1 {status} {reason}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    if retry is not None:
        head.append(f"Retry-After: {retry}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


_REFUSED = _raw_error(
    503,
    "Service Unavailable",
    "the gateway has as many connections open as it may; retry in a moment",
    "service_unavailable",
    1,
)
_HEAD_TIMEOUT = _raw_error(
    408,
    "Request Timeout",
    "the request's headers did not arrive in time; send them whole",
    "invalid_request_error",
    None,
)


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """Seconds a client has to send a request's head (`header_timeout`) and body
    (`body_timeout`), to keep an idle connection (`keepalive_timeout`), and how many
    connections may be open at once (`max_connections`)."""

    header_timeout: float
    body_timeout: float
    keepalive_timeout: float
    max_connections: int

    def effective_max(self, open_files: int | None = None) -> int:
        """`max_connections`, but at most half the files this process may open (less a
        few it keeps for itself): each request in flight needs a file for its client
        and one for its upstream call."""
        if open_files is None:
            open_files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if open_files == resource.RLIM_INFINITY or open_files <= 0:
            return self.max_connections
        return max(1, min(self.max_connections, (open_files - _RESERVED_FILES) // 2))


class Connections:
    """The open connections of one gateway: those waiting for a request (`idle`, the
    longest-waiting first) and those with a request in progress (`busy`), and counts of
    what the guards did.

    Example:
        >>> Connections(10).counts()
        {'open': 0, 'busy': 0, 'refused': 0, 'evicted': 0, 'timed_out': 0}
    """

    def __init__(self, max_connections: int) -> None:
        self.max_connections = max_connections
        self.idle: dict[GuardedHandler, None] = {}
        self.busy: dict[GuardedHandler, None] = {}
        self.refused = 0
        self.evicted = 0
        self.timed_out = 0

    def __len__(self) -> int:
        return len(self.idle) + len(self.busy)

    def counts(self) -> dict[str, int]:
        """How many connections are open and busy, and how many were refused, evicted
        and timed out since the gateway started."""
        return {
            "open": len(self),
            "busy": len(self.busy),
            "refused": self.refused,
            "evicted": self.evicted,
            "timed_out": self.timed_out,
        }

    def admit(self, handler: GuardedHandler) -> bool:
        """Make room for a new connection: False when every open one is busy."""
        if len(self) >= self.max_connections:
            if not self.idle:
                self.refused += 1
                return False
            victim = next(iter(self.idle))
            self.evicted += 1
            victim.close_now()
        self.idle[handler] = None
        return True

    def start(self, handler: GuardedHandler) -> None:
        if self.idle.pop(handler, 0) is None:
            self.busy[handler] = None

    def finish(self, handler: GuardedHandler) -> None:
        if self.busy.pop(handler, 0) is None:
            self.idle[handler] = None  # the newest idle one: evicted last

    def drop(self, handler: GuardedHandler) -> None:
        self.idle.pop(handler, None)
        self.busy.pop(handler, None)


class GuardedHandler(web.RequestHandler):
    """aiohttp's request handler (one per connection) with the header timeout, the
    connection cap and JSON errors (see the module's text)."""

    def __init__(
        self,
        manager: web.Server,
        connections: Connections,
        *,
        header_timeout: float,
        loop: asyncio.AbstractEventLoop,
        **kwargs: Any,
    ) -> None:
        super().__init__(manager, loop=loop, **kwargs)
        self._connections = connections
        self._header_timeout = header_timeout
        self._timer: asyncio.TimerHandle | None = None
        self._known = False  # counted in `connections`
        self._in_request = False
        self._event_loop = loop

    # -- the header timeout ------------------------------------------------------------

    def _arm(self) -> None:
        if self._timer is None and self._header_timeout > 0:
            self._timer = self._event_loop.call_later(self._header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _too_slow(self) -> None:
        self._timer = None
        if self._in_request or self.transport is None:
            return
        self._connections.timed_out += 1
        transport = self.transport
        if not transport.is_closing():
            transport.write(_HEAD_TIMEOUT)
        self.force_close()

    def request_started(self) -> None:
        """A request's head came whole (its route runs now): no header timeout, and
        the connection is busy (never closed to make room)."""
        self._in_request = True
        self._disarm()
        self._connections.start(self)

    def request_finished(self) -> None:
        """The route answered: the connection waits for the next request."""
        self._in_request = False
        self._connections.finish(self)

    @property
    def fresh(self) -> bool:
        """Accepted, and no request's head read on it yet (its first is on its way)."""
        return self._known and self._request_count == 0 and not self._in_request

    def close_now(self) -> None:
        """Close at once (to make room for a new connection)."""
        self._disarm()
        self._connections.drop(self)
        self.force_close()

    # -- the protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if not self._connections.admit(self):
            assert isinstance(transport, asyncio.Transport)
            transport.write(_REFUSED)
            self.force_close()
            return
        self._known = True
        self._arm()

    def data_received(self, data: bytes) -> None:
        if not self._known:
            super().data_received(data)
            return
        if not self._in_request and data:
            self._arm()  # the first byte of the next request's head
        before = self._request_count
        super().data_received(data)
        if self._request_count != before:
            self.request_started()  # a head came whole (or could not be parsed)

    async def _handle_request(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super()._handle_request(*args, **kwargs)
        finally:
            self.request_finished()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm()
        if self._known:
            self._connections.drop(self)
        super().connection_lost(exc)

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """The answer to a request the HTTP layer could not parse (4xx), or to a route
        that failed unexpectedly (500), as OpenAI's JSON error shape."""
        if request.writer.output_size > 0:
            raise ConnectionError("the answer had started; the connection is closed")
        error_id = None
        if status >= 500:
            error_id = uuid.uuid4().hex
            _log.error("request %s failed (%d)", error_id, status, exc_info=exc)
            text = f"the gateway failed on this request; see its log (error id {error_id})"
            kind = "server_error"
        else:
            text = f"the request could not be read: {message or exc or 'bad request'}"
            kind = "invalid_request_error"
        body = error_body(text[:500], kind)
        if error_id is not None:
            body["error"]["id"] = error_id
        response = web.Response(
            body=_json.dumps(body),
            status=status,
            content_type="application/json",
        )
        response.force_close()
        return response


class Listener:
    """Serves `runner`'s application on `host:port` through `GuardedHandler`s (instead
    of `web.TCPSite`); `close()` stops accepting (the runner closes what is open).

    Example:
        >>> Listener.__name__
        'Listener'
    """

    def __init__(
        self, runner: web.AppRunner, limits: ConnectionLimits, **handler_settings: Any
    ) -> None:
        self.runner = runner
        self.limits = limits
        self.connections = Connections(limits.effective_max())
        self._settings = handler_settings
        self._server: asyncio.base_events.Server | None = None

    def _protocol(self) -> GuardedHandler:
        server = self.runner.server
        assert server is not None, "the runner is not set up"
        return GuardedHandler(
            server,
            self.connections,
            header_timeout=self.limits.header_timeout,
            loop=asyncio.get_running_loop(),
            keepalive_timeout=self.limits.keepalive_timeout,
            **self._settings,
        )

    async def start(self, host: str, port: int, *, sock: socket.socket | None = None) -> int:
        """Listen (on `sock` when given: a listening socket); returns the port bound."""
        loop = asyncio.get_running_loop()
        if sock is not None:
            self._server = await loop.create_server(self._protocol, sock=sock, backlog=1024)
        else:
            self._server = await loop.create_server(
                self._protocol, host, port, reuse_address=True, backlog=1024
            )
        bound: int = self._server.sockets[0].getsockname()[1]
        return bound

    async def settle(self, limit: float) -> None:
        """Once no longer accepting: wait (up to `limit` seconds) until each connection
        accepted has had its first request's head read, so stopping answers the
        requests of connections accepted just before instead of closing them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        # Polled (a short, bounded wait at shutdown): no hook per handler for it.
        while any(h.fresh for h in self.connections.idle) and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    def close(self) -> None:
        """Stop accepting connections."""
        if self._server is not None:
            self._server.close()
            self._server = None


async def read_body(request: web.Request, seconds: float) -> bytes:
    """The request's body, read within `seconds` (0: no limit); a `TimeoutError` when
    the client is slower."""
    if seconds <= 0:
        return await request.read()
    async with asyncio.timeout(seconds):
        return await request.read()
