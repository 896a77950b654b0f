"""`MockTransport(handler)`: a transport whose answers come from a Python function.

Used by Conduit's own tests and by users testing code that calls Conduit: no network,
exact control of status, headers, body and how a stream is split into chunks.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from conduit import _json
from conduit.transport.base import HTTPRequest, HTTPResponse, Transport

__all__ = ["Handler", "MockTransport", "json_response", "sse_response"]

Handler = Callable[[HTTPRequest], HTTPResponse | Awaitable[HTTPResponse]]


class MockTransport(Transport):
    """Answers each request with `handler(request)` (sync or async); records requests.

    The handler may raise `conduit.errors.APIConnectionError` to simulate a network
    failure.

    Example:
        >>> from conduit.transport import HTTPClient
        >>> import asyncio
        >>> t = MockTransport(lambda req: json_response({"echo": req.json()}))
        >>> asyncio.run(HTTPClient(t, provider="x").post_json("http://test/", [1]))
        {'echo': [1]}
        >>> len(t.requests)
        1
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[HTTPRequest] = []
        self.closed = False

    async def send(self, request: HTTPRequest, *, stream: bool = False) -> HTTPResponse:
        self.requests.append(request)
        result = self.handler(request)
        response = await result if inspect.isawaitable(result) else result
        if not stream and response.stream is not None:
            await response.aread()
        return response

    async def aclose(self) -> None:
        self.closed = True


def _lower(headers: dict[str, str] | None) -> dict[str, str]:
    return {k.lower(): v for k, v in (headers or {}).items()}


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> HTTPResponse:
    """A JSON answer.

    Example:
        >>> json_response({"a": 1}, status=201).status
        201
    """
    return HTTPResponse(
        status, {"content-type": "application/json", **_lower(headers)}, _json.dumps(data)
    )


def sse_response(
    events: Sequence[str | dict[str, Any]] | bytes,
    *,
    chunk_size: int | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    done: bool = True,
) -> HTTPResponse:
    """A server-sent-events answer: each item becomes `data: <item>\\n\\n` (dicts as JSON).

    `chunk_size` splits the bytes into chunks of that size to exercise buffering;
    `done=False` leaves out the `data: [DONE]` sentinel; raw `bytes` are sent as they are.

    Example:
        >>> sse_response([{"x": 1}], chunk_size=3).status
        200
    """
    if isinstance(events, bytes):
        body = events
    else:
        parts = []
        for event in events:
            text = event if isinstance(event, str) else _json.dumps(event).decode()
            parts.append(f"data: {text}\n\n".encode())
        if done:
            parts.append(b"data: [DONE]\n\n")
        body = b"".join(parts)
    size = chunk_size or len(body) or 1
    chunks = [body[i : i + size] for i in range(0, len(body), size)]

    async def stream() -> Any:
        for chunk in chunks:
            yield chunk

    return HTTPResponse(
        status, {"content-type": "text/event-stream", **_lower(headers)}, b"", stream=stream()
    )
