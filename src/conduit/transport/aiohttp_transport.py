"""The aiohttp transport: the only module in Conduit that imports aiohttp.

One `ClientSession` (one connection pool) per event loop: a model used both from the
sync bridge's loop and from the user's loop keeps a pool on each, because aiohttp
sessions are bound to the loop that made them. Each session is closed by `aclose()`,
or, when its loop shuts down (`asyncio.run()` ending, the sync bridge exiting), by an
async generator whose `finally` closes it: `loop.shutdown_asyncgens()` runs that
`finally` on the right loop, so no "Unclosed client session" warning is left behind.

Proxies: the standard variables (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`, ...) are read
once per origin and cached. aiohttp's own `trust_env=True` is not used: it looks the
environment and `~/.netrc` up again on every request, in a thread (measured: +390 µs
per call, a third of the calls/s), and a netrc entry for the API host makes aiohttp
refuse our `Authorization` header.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.request
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn

import aiohttp

from conduit.errors import APIConnectionError, TimeoutError
from conduit.transport.base import HTTPRequest, HTTPResponse, Timeout, Transport

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

__all__ = ["AiohttpTransport"]


def _client_timeout(timeout: Timeout, *, stream: bool) -> aiohttp.ClientTimeout:
    """Our timeouts in aiohttp's terms.

    A stream gets `read` as the limit between chunks (a stall is caught mid-stream). A
    whole answer arrives at once when generation ends, so there `read` bounds the whole
    wait instead: aiohttp's between-reads timer re-arms on every read, which measured
    +15-20 µs of CPU per call at 100 in flight.
    """
    if stream:
        return aiohttp.ClientTimeout(
            total=timeout.total, sock_connect=timeout.connect, sock_read=timeout.read
        )
    limits = [t for t in (timeout.total, timeout.read) if t is not None]
    return aiohttp.ClientTimeout(
        total=min(limits) if limits else None, sock_connect=timeout.connect
    )


class AiohttpTransport(Transport):
    """Sends requests with aiohttp, pooling connections per event loop.

    Pass `session=` to use your own `aiohttp.ClientSession` (proxies, TLS settings,
    tracing); Conduit then never closes it.

    Example:
        >>> transport = AiohttpTransport(timeout=Timeout(connect=5, read=60), limit=50)
    """

    def __init__(
        self,
        *,
        timeout: Timeout | float | None = None,
        limit: int = 100,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.timeout = Timeout.of(timeout) or Timeout()
        self._explicit_timeout = timeout is not None
        self.limit = limit
        self._whole_timeout = _client_timeout(self.timeout, stream=False)
        self._stream_timeout = _client_timeout(self.timeout, stream=True)
        self._user_session = session
        self._sessions: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[aiohttp.ClientSession, AsyncGenerator[None, None]]
        ] = weakref.WeakKeyDictionary()
        # Fast path: the session used last, and its loop (held weakly).
        self._last_loop: weakref.ref[asyncio.AbstractEventLoop] | None = None
        self._last_session: aiohttp.ClientSession | None = None
        self._proxies: dict[str, str | None] = {}
        # Per open pool, what closes it if this transport is dropped unclosed (below).
        self._finalizers: dict[aiohttp.ClientSession, weakref.finalize[..., Any]] = {}

    def __repr__(self) -> str:
        return f"AiohttpTransport(timeout={self.timeout!r}, limit={self.limit})"

    def _current_session(self) -> aiohttp.ClientSession | None:
        """The caller's session, or the pool used last if it is this loop's and open:
        the common case, answered without a coroutine of its own."""
        if self._user_session is not None:
            return self._user_session
        last = self._last_session
        if (
            last is not None
            and not last.closed
            and self._last_loop is not None
            and self._last_loop() is asyncio.get_running_loop()
        ):
            return last
        return None

    async def _session(self) -> aiohttp.ClientSession:
        """The session to use: `_current_session()`, else this loop's pool, made (and
        registered for closing) on first use."""
        current = self._current_session()
        if current is not None:
            return current
        loop = asyncio.get_running_loop()
        entry = self._sessions.get(loop)
        if entry is not None and not entry[0].closed:
            session = entry[0]
        else:
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.limit, ttl_dns_cache=300),
                timeout=self._whole_timeout,
                auto_decompress=True,
                trust_env=False,
            )
            closer = self._close_at_loop_shutdown(loop, session)
            await closer.__anext__()  # registered with the loop's async-generator hooks
            self._sessions[loop] = (session, closer)
            # A transport dropped without `aclose()` while its loop runs on (a model let
            # go of, a cache eviction) closes its pool on that loop, instead of aiohttp
            # warning "Unclosed client session" whenever the collector finds it.
            self._finalizers[session] = weakref.finalize(self, _close_dropped, loop, session)
        self._last_loop = weakref.ref(loop)
        self._last_session = session
        return session

    def _proxy(self, url: str) -> str | None:
        """The proxy for `url`'s origin from the environment (cached per origin)."""
        end = url.find("/", url.find("//") + 2)
        origin = url if end < 0 else url[:end]
        try:
            return self._proxies[origin]
        except KeyError:
            pass
        scheme, _, host = origin.partition("://")
        proxies = urllib.request.getproxies()
        proxy = proxies.get(scheme.lower()) or proxies.get("all")
        if proxy and urllib.request.proxy_bypass(host.rpartition("@")[2]):
            proxy = None
        self._proxies[origin] = proxy or None
        return proxy or None

    async def _close_at_loop_shutdown(
        self, loop: asyncio.AbstractEventLoop, session: aiohttp.ClientSession
    ) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            entry = self._sessions.get(loop)
            if entry is not None and entry[0] is session:
                del self._sessions[loop]
            if self._last_session is session:
                self._last_session = None
                self._last_loop = None
            self._forget(session)
            if not session.closed:
                await session.close()

    def _forget(self, session: aiohttp.ClientSession) -> None:
        finalizer = self._finalizers.pop(session, None)
        if finalizer is not None:
            finalizer.detach()

    async def send(self, request: HTTPRequest, *, stream: bool = False) -> HTTPResponse:
        session = self._current_session() or await self._session()
        timeout: aiohttp.ClientTimeout | None
        if request.timeout is not None:
            timeout = _client_timeout(request.timeout, stream=stream)
        elif self._user_session is not None and not self._explicit_timeout:
            timeout = None  # a caller's own session keeps its own timeouts
        else:
            timeout = self._stream_timeout if stream else self._whole_timeout
        proxy = None if self._user_session is not None else self._proxy(request.url)
        try:
            if timeout is None:
                resp = await session.request(
                    request.method,
                    request.url,
                    data=request.content,
                    headers=request.headers,
                    proxy=proxy,
                )
            else:
                resp = await session.request(
                    request.method,
                    request.url,
                    data=request.content,
                    headers=request.headers,
                    proxy=proxy,
                    timeout=timeout,
                )
            if not stream:
                try:
                    content = await resp.read()
                finally:
                    resp.release()
                return HTTPResponse(resp.status, resp.headers, content)
        except BaseException as exc:
            _reraise(exc, request)
        return HTTPResponse(
            resp.status, resp.headers, b"", stream=_iter_body(resp, request), on_close=_closer(resp)
        )

    async def aclose(self) -> None:
        """Close this loop's pool (other loops' pools close when their loops shut down)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - aclose is async, a loop always runs
            return
        entry = self._sessions.pop(loop, None)
        if entry is not None:
            session, closer = entry
            if self._last_session is session:
                self._last_session = None
                self._last_loop = None
            self._forget(session)
            await session.close()
            await closer.aclose()


_closing: set[asyncio.Future[None]] = set()  # pools being closed for dropped transports


def _close_dropped(loop: asyncio.AbstractEventLoop, session: aiohttp.ClientSession) -> None:
    """Close the pool of a transport that was dropped open, on its own loop (called by
    the collector, from any thread); nothing to do once the pool or its loop is closed."""
    if session.closed or loop.is_closed():
        return
    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
        loop.call_soon_threadsafe(_start_closing, session)


def _start_closing(session: aiohttp.ClientSession) -> None:
    task = asyncio.ensure_future(session.close())
    _closing.add(task)
    task.add_done_callback(_closing.discard)


def _closer(resp: aiohttp.ClientResponse) -> Callable[[], Awaitable[None]]:
    async def close() -> None:
        resp.close()

    return close


async def _iter_body(resp: aiohttp.ClientResponse, request: HTTPRequest) -> AsyncIterator[bytes]:
    try:
        async for chunk in resp.content.iter_any():
            yield chunk
    except BaseException as exc:
        resp.close()
        _reraise(exc, request)
    resp.release()


def _reraise(exc: BaseException, request: HTTPRequest) -> NoReturn:
    """Raise Conduit's error for `exc`, or `exc` itself (cancellation, generator exit)
    unchanged: chaining an exception to itself would make it its own cause."""
    translated = _translate(exc, request)
    if translated is exc:
        raise exc
    raise translated from exc


def _translate(exc: BaseException, request: HTTPRequest) -> BaseException:
    """aiohttp/asyncio errors → Conduit's; anything else (cancellation!) passes unchanged."""
    if isinstance(exc, asyncio.CancelledError):
        return exc
    where = f"{request.method} {_origin(request.url)}"
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return TimeoutError(f"timed out waiting for {where}")
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError):
        return APIConnectionError(f"the connection closed mid-answer from {where}: {exc}")
    if isinstance(exc, aiohttp.ClientError | OSError):
        return APIConnectionError(f"could not reach {where}: {type(exc).__name__}: {exc}")
    return exc


def _origin(url: str) -> str:
    # Only scheme://host:port/path: query strings may carry keys (Gemini's ?key=).
    return url.split("?", 1)[0]
