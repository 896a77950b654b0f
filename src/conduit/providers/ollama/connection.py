"""What the Ollama chat model and embedder share: where Ollama runs, the optional key,
the HTTP client, and the errors that deserve an Ollama-specific hint.

`OLLAMA_HOST` is read the way Ollama's own CLI and Python library read it: a bare
`host`, `host:port` or `:port` means plain HTTP, port 11434 unless given; a value with a
scheme is a URL as it is (`https://ollama.com`).

Example:
    >>> ollama_base_url("0.0.0.0")
    'http://0.0.0.0:11434'
    >>> ollama_base_url("https://ollama.com/")
    'https://ollama.com'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import urlsplit

from conduit import _json
from conduit.errors import APIConnectionError, NotFoundError, TimeoutError, ValidationError
from conduit.providers.endpoint import build_client, resolve_endpoint
from conduit.providers.registry import ProviderSpec
from conduit.transport import HTTPRequest, HTTPResponse, RetryPolicy, Timeout, Transport

if TYPE_CHECKING:
    import aiohttp

__all__ = ["DEFAULT_PORT", "OllamaConnection", "OllamaConnectionOptions", "ollama_base_url"]

DEFAULT_PORT = 11434


class OllamaConnectionOptions(TypedDict, total=False):
    """How to reach Ollama; the keyword arguments of `OllamaChatModel` and `OllamaEmbedder`
    besides the model name.

    - `base_url`: where Ollama runs; defaults to `OLLAMA_HOST`, then http://127.0.0.1:11434.
    - `api_key`: sent as `Authorization: Bearer ...`; defaults to `OLLAMA_API_KEY`. A local
      Ollama needs none; ollama.com (or a proxy in front of Ollama) does.
    - `headers`: extra request headers.
    - `timeout`: a `Timeout` (connect 10 s, read 600 s by default: loading a model into
      memory can take a while before the first token).
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


def ollama_base_url(host: str) -> str:
    """An `OLLAMA_HOST`-style value as a base URL (no trailing slash).

    Example:
        >>> ollama_base_url("localhost:8080"), ollama_base_url(":9000")
        ('http://localhost:8080', 'http://127.0.0.1:9000')
    """
    text = host.strip().rstrip("/")
    if "://" in text:
        if not text.startswith(("http://", "https://")):
            raise ValidationError(f"Ollama's URL must start with http:// or https://, got {host!r}")
        return text
    parts = urlsplit(f"http://{text}")
    try:
        port = parts.port
    except ValueError:
        raise ValidationError(f"not a valid Ollama host:port: {host!r}") from None
    name = parts.hostname or "127.0.0.1"
    if ":" in name:  # an IPv6 address goes back into brackets
        name = f"[{name}]"
    return f"http://{name}:{port or DEFAULT_PORT}{parts.path}"


class OllamaConnection:
    """Resolves Ollama's URL and key and owns the HTTP client.

    Two failures get a hint a generic message lacks: a connection that cannot be made
    (Ollama not started, or another host or port) and a 404 (the model is not pulled).
    """

    __slots__ = ("base_url", "client", "model", "spec")

    def __init__(
        self,
        provider: ProviderSpec | str,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
        max_retries: int | RetryPolicy = 2,
        transport: Transport | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        endpoint = resolve_endpoint(
            provider,
            api_key=api_key,
            base_url=base_url,
            normalize=ollama_base_url,
            example_url="http://127.0.0.1:11434",
        )
        self.spec = endpoint.spec
        self.model = model
        self.base_url = endpoint.base_url
        self.client = build_client(
            endpoint,
            auth=lambda key: {"authorization": f"Bearer {key}"},
            headers=headers,
            timeout=timeout,
            max_retries=max_retries,
            transport=transport,
            session=session,
        )

    async def send(self, path: str, payload: Any, *, stream: bool = False) -> HTTPResponse:
        """POST `payload` to `path` (e.g. `/api/chat`); a response with status < 400 or a
        typed error, with Ollama's hints added."""
        client = self.client
        headers = client.headers
        if stream:
            headers = {**headers, "accept": "application/x-ndjson"}
        request = HTTPRequest(
            "POST", f"{self.base_url}{path}", headers, _json.dumps(payload), client.timeout
        )
        failure: Exception
        try:
            return await client.send(request, stream=stream)
        except TimeoutError:
            raise  # Ollama did answer the connection; it is just slow (loading a model?)
        except APIConnectionError as exc:
            failure = APIConnectionError(
                f"could not connect to Ollama at {self.base_url}: is it running? Start it "
                f"with `ollama serve`, or set OLLAMA_HOST (or base_url=) to where it runs. "
                f"({exc.message})",
                provider=exc.provider,
            )
        except NotFoundError as exc:
            failure = NotFoundError(
                f"{exc.message} (if the model is not downloaded yet: `ollama pull {self.model}`)",
                provider=exc.provider,
                status_code=exc.status_code,
                request_id=exc.request_id,
                body=exc.body,
            )
        # Raised outside the `except`, like the transport's own errors: nothing to chain.
        raise failure

    async def post_json(self, path: str, payload: Any) -> Any:
        """POST `payload`, return the parsed JSON answer."""
        response = await self.send(path, payload)
        try:
            return _json.loads(response.content)
        except _json.JSONDecodeError:
            excerpt = response.content[:200].decode("utf-8", "replace")
            raise APIConnectionError(
                self.client.redact(f"the answer was not valid JSON: {excerpt!r}"),
                provider=self.spec.name,
                status_code=response.status,
            ) from None

    async def aclose(self) -> None:
        """Close the pooled connections (on the current event loop)."""
        await self.client.transport.aclose()
