"""The transport layer: the only code in Conduit that does HTTP.

`HTTPClient` is what providers use (JSON, SSE and NDJSON, retries, typed errors, redaction);
it sends through a `Transport`: `AiohttpTransport` for real, `MockTransport` in tests.
aiohttp itself loads on first use, not at `import conduit`.

Example:
    >>> from conduit.transport import HTTPClient, MockTransport, json_response
    >>> client = HTTPClient(MockTransport(lambda r: json_response({})), provider="demo")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conduit.transport.base import HTTPRequest, HTTPResponse, Timeout, Transport
from conduit.transport.client import HTTPClient
from conduit.transport.mock import Handler, MockTransport, json_response, sse_response
from conduit.transport.ndjson import NDJSONDecoder, iter_ndjson
from conduit.transport.redact import Redactor, redact
from conduit.transport.retry import RetryPolicy, parse_retry_after
from conduit.transport.sse import SSEDecoder, SSEEvent, SSEFramer, iter_sse

if TYPE_CHECKING:
    from conduit.transport.aiohttp_transport import AiohttpTransport

__all__ = [
    "AiohttpTransport",
    "HTTPClient",
    "HTTPRequest",
    "HTTPResponse",
    "Handler",
    "MockTransport",
    "NDJSONDecoder",
    "Redactor",
    "RetryPolicy",
    "SSEDecoder",
    "SSEEvent",
    "SSEFramer",
    "Timeout",
    "Transport",
    "iter_ndjson",
    "iter_sse",
    "json_response",
    "parse_retry_after",
    "redact",
    "sse_response",
]


def __getattr__(name: str) -> Any:
    if name == "AiohttpTransport":  # imports aiohttp: only when asked for
        from conduit.transport.aiohttp_transport import AiohttpTransport

        return AiohttpTransport
    raise AttributeError(f"module 'conduit.transport' has no attribute {name!r}")
