"""Per-request authorization: a `Transport` that lets a callback add headers to each
request just before it is sent (a fresh OAuth token, a SigV4 signature), so a retry is
signed again and a token refreshed while the model lives.

Example:
    >>> import asyncio
    >>> from conduit.transport import HTTPRequest, MockTransport, json_response
    >>> async def stamp(request: HTTPRequest) -> None:
    ...     request.headers["authorization"] = "Bearer t-1"
    >>> inner = MockTransport(lambda r: json_response({}))
    >>> _ = asyncio.run(AuthTransport(inner, stamp).send(HTTPRequest("GET", "http://127.0.0.1/")))
    >>> inner.requests[0].headers["authorization"]
    'Bearer t-1'
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from conduit.errors import AuthenticationError, ProviderError
from conduit.transport import HTTPRequest, HTTPResponse, Timeout, Transport

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "AuthTransport",
    "TokenProvider",
    "bearer_authorizer",
    "default_transport",
    "with_auth_hint",
]

Authorizer = Callable[[HTTPRequest], Awaitable[None]]
TokenProvider = Callable[[], "str | Awaitable[str]"]
"""A callable returning a bearer token (or an awaitable of one), called before each request."""


class AuthTransport(Transport):
    """Sends through `inner` after `authorize` has added its headers to a copy of each
    request (the caller's request object is never changed)."""

    __slots__ = ("_authorize", "inner")

    def __init__(self, inner: Transport, authorize: Authorizer) -> None:
        self.inner = inner
        self._authorize = authorize

    async def send(self, request: HTTPRequest, *, stream: bool = False) -> HTTPResponse:
        signed = HTTPRequest(
            request.method, request.url, dict(request.headers), request.content, request.timeout
        )
        await self._authorize(signed)
        return await self.inner.send(signed, stream=stream)

    async def aclose(self) -> None:
        await self.inner.aclose()


def bearer_authorizer(provider: TokenProvider) -> Authorizer:
    """An authorizer setting `authorization: Bearer <token>` from `provider()` (sync or
    async; it is called for every request, so it should cache its token)."""

    async def authorize(request: HTTPRequest) -> None:
        token = provider()
        if inspect.isawaitable(token):
            token = await token
        request.headers["authorization"] = f"Bearer {token}"

    return authorize


def default_transport(
    transport: Transport | None,
    *,
    timeout: Timeout | float | None = None,
    session: aiohttp.ClientSession | None = None,
) -> Transport:
    """`transport`, or the aiohttp transport every adapter uses by default."""
    if transport is not None:
        return transport
    from conduit.transport.aiohttp_transport import AiohttpTransport

    return AiohttpTransport(timeout=timeout, session=session)


def with_auth_hint(exc: ProviderError, hint: str) -> ProviderError:
    """`exc` with `hint` (how to get fresh credentials) added when it is an
    `AuthenticationError`; any other error is returned as it is.

    Example:
        >>> with_auth_hint(AuthenticationError("expired"), "log in again").message
        'expired (log in again)'
    """
    if not isinstance(exc, AuthenticationError) or hint in exc.message:
        return exc
    return AuthenticationError(
        f"{exc.message} ({hint})",
        provider=exc.provider,
        status_code=exc.status_code,
        request_id=exc.request_id,
        body=exc.body,
    )
