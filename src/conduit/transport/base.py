"""The transport interface: send one HTTP request, get a response or a byte stream.

This is the strict cut-off between Conduit and the network library (the same idea as
httpx's `BaseTransport`): everything above speaks `HTTPRequest`/`HTTPResponse`; only
`AiohttpTransport` knows aiohttp, and `MockTransport` stands in for it in tests.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conduit.core.policy import Timeout

__all__ = ["HTTPRequest", "HTTPResponse", "Timeout", "Transport"]


@dataclass(slots=True)
class HTTPRequest:
    """One outgoing request; `content` is the body, already encoded.

    Example:
        >>> HTTPRequest("POST", "http://127.0.0.1/v1/x", content=b'{"a": 1}').json()
        {'a': 1}
    """

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    timeout: Timeout | None = None

    def json(self) -> Any:
        """The body parsed as JSON (for tests and handlers)."""
        from conduit import _json

        return _json.loads(self.content or b"null")


@dataclass(slots=True)
class HTTPResponse:
    """A response: `content` holds the whole body, or `stream` yields it in chunks.

    `headers` may be any mapping; look headers up with `header(name)`, which is
    case-insensitive for both aiohttp's headers and plain dicts with lower-case keys.
    """

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes = b""
    stream: AsyncIterator[bytes] | None = None
    on_close: Callable[[], Awaitable[None]] | None = None

    def header(self, name: str) -> str | None:
        """A header's value, or None (names compared case-insensitively)."""
        value = self.headers.get(name.lower())
        if value is None:
            value = self.headers.get(name)
        return value

    async def aread(self) -> bytes:
        """The whole body (draining and closing a stream)."""
        if self.stream is not None:
            parts = [self.content] if self.content else []
            try:
                async for chunk in self.stream:
                    parts.append(chunk)
            finally:
                await self.aclose()
            self.content = b"".join(parts)
            self.stream = None
        return self.content

    async def aiter_bytes(self) -> AsyncGenerator[bytes, None]:
        """The body in chunks as they arrive."""
        if self.stream is None:
            if self.content:
                yield self.content
            return
        async for chunk in self.stream:
            yield chunk

    async def aclose(self) -> None:
        """Release the connection (idempotent).

        An unfinished body stream that is an async generator is closed too, so its
        cleanup runs now rather than whenever the garbage collector finds it."""
        closer, self.on_close = self.on_close, None
        try:
            stream_close = getattr(self.stream, "aclose", None)
            if stream_close is not None:
                with contextlib.suppress(RuntimeError):  # it is being iterated elsewhere
                    await stream_close()
        finally:
            if closer is not None:
                await closer()


class Transport(ABC):
    """Sends requests. Implementations translate their library's errors into
    `conduit.errors.APIConnectionError` / `TimeoutError` at this boundary."""

    @abstractmethod
    async def send(self, request: HTTPRequest, *, stream: bool = False) -> HTTPResponse:
        """Send `request`; with `stream=True` the body is left unread in `response.stream`."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, nothing to close by default
        """Close pooled connections."""
