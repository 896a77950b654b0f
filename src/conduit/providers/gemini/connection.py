"""What the Gemini chat model and embedder share: base URL, key, headers, HTTP client.

The key goes in the `x-goog-api-key` header (https://ai.google.dev/api#api-keys), never in
the URL, so it cannot reach a log line or an error that quotes the URL; the client's
redactor removes it from anything else it could appear in. Error answers are read as
Google error bodies (`conduit.providers.gemini.errors`).

Example:
    >>> from conduit.transport import MockTransport, json_response
    >>> conn = GeminiConnection("gemini", api_key="test-key",
    ...                         transport=MockTransport(lambda r: json_response({})))
    >>> conn.model_url("gemini-2.5-flash", "generateContent")
    'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent'
    >>> "test-key" in repr(conn)
    False
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypedDict
from urllib.parse import quote

from conduit.errors import ProviderError
from conduit.providers.endpoint import build_client, resolve_endpoint
from conduit.providers.gemini.errors import google_error_info, refine_error
from conduit.providers.registry import ProviderSpec
from conduit.transport import HTTPClient, HTTPResponse, RetryPolicy, Timeout, Transport

if TYPE_CHECKING:
    import aiohttp

__all__ = ["GeminiConnection", "GeminiHTTPClient", "GeminiOptions"]


class GeminiOptions(TypedDict, total=False):
    """How to reach the Gemini API; the keyword arguments of `GeminiChatModel` and
    `GeminiEmbedder` besides the model name.

    - `api_key`: defaults to `GEMINI_API_KEY`.
    - `base_url`: the API root; defaults to `GEMINI_BASE_URL`, then
      `https://generativelanguage.googleapis.com/v1beta`.
    - `headers`: extra request headers.
    - `timeout`: a `Timeout` (connect 10 s, read 600 s by default).
    - `max_retries`: retries of 408/409/429/5xx and connection failures (default 2).
    - `transport`: a `Transport` (a `MockTransport` in tests); default aiohttp.
    - `session`: your own `aiohttp.ClientSession` (never closed by Conduit).
    """

    api_key: str | None
    base_url: str | None
    headers: Mapping[str, str] | None
    timeout: Timeout | float | None
    max_retries: int | RetryPolicy
    transport: Transport | None
    session: aiohttp.ClientSession | None


class GeminiHTTPClient(HTTPClient):
    """An `HTTPClient` that reads error answers as Google error bodies."""

    __slots__ = ()

    def retry_after(self, response: HTTPResponse, content: bytes) -> float | None:
        # Google says how long to wait in the body (`google.rpc.RetryInfo.retryDelay`),
        # rarely in a header: retry after that, not after our shorter backoff.
        header = super().retry_after(response, content)
        delay: float | None = google_error_info(content)["retry_delay"] if content else None
        return header if header is not None else delay

    def error(
        self, status: int, content: bytes, response: HTTPResponse, retry_after: float | None
    ) -> ProviderError:
        return refine_error(super().error(status, content, response, retry_after), content)


class GeminiConnection:
    """Resolves the key and base URL for the Gemini API and owns the HTTP client."""

    __slots__ = ("base_url", "client", "spec")

    def __init__(
        self,
        provider: ProviderSpec | str = "gemini",
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
        max_retries: int | RetryPolicy = 2,
        transport: Transport | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        endpoint = resolve_endpoint(provider, api_key=api_key, base_url=base_url)
        self.spec = endpoint.spec
        self.base_url = endpoint.base_url
        self.client = build_client(
            endpoint,
            auth=lambda key: {"x-goog-api-key": key},  # a header: never in the URL
            headers=headers,
            timeout=timeout,
            max_retries=max_retries,
            transport=transport,
            session=session,
            client_class=GeminiHTTPClient,
        )

    def model_url(self, model: str, method: str) -> str:
        """`{base}/models/{model}:{method}`; a name with a collection (`tunedModels/x`)
        is used as it is."""
        path = model if "/" in model else f"models/{model}"
        return f"{self.base_url}/{quote(path, safe='/')}:{method}"

    def __repr__(self) -> str:
        return f"GeminiConnection({self.spec.name!r}, base_url={self.base_url!r})"

    async def aclose(self) -> None:
        """Close the pooled connections (on the current event loop)."""
        await self.client.transport.aclose()
