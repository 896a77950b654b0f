"""Reaching Azure OpenAI: the endpoint, the API version, and a key or an Entra ID token.

Two URL shapes (https://learn.microsoft.com/azure/ai-services/openai/reference):

- deployments: `{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...`
  for a dated `api_version` (`2024-10-21`, `2025-04-01-preview`, ...);
- v1: `{endpoint}/openai/v1/chat/completions` with the deployment as `model`, for
  `api_version="v1"` (or `"preview"`, sent as `?api-version=preview`).

The key goes in the `api-key` header; with `azure_ad_token_provider` (a callable
returning a Microsoft Entra ID token, sync or async) each request carries
`authorization: Bearer <token>` instead, asked for again before every request.

Example:
    >>> conn = AzureConnection(azure_endpoint="https://res.openai.azure.com/",
    ...                        api_key="k-1", api_version="2024-10-21")
    >>> conn.url("my-gpt4o", "chat/completions")
    'https://res.openai.azure.com/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21'
    >>> AzureConnection(azure_endpoint="https://res.openai.azure.com", api_key="k-1",
    ...                 api_version="v1").url("my-gpt4o", "chat/completions")
    'https://res.openai.azure.com/openai/v1/chat/completions'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, TypedDict
from urllib.parse import quote

from conduit.errors import AuthenticationError, ProviderError, ValidationError
from conduit.providers.azure.filters import refine_filter_error
from conduit.providers.endpoint import Endpoint, build_client
from conduit.providers.openai.connection import OpenAIConnection
from conduit.providers.registry import ProviderSpec, get_provider
from conduit.providers.signing import (
    AuthTransport,
    TokenProvider,
    bearer_authorizer,
    default_transport,
    with_auth_hint,
)
from conduit.transport import HTTPClient, HTTPResponse, RetryPolicy, Timeout, Transport

if TYPE_CHECKING:
    import aiohttp

__all__ = ["API_VERSION_ENV", "AzureConnection", "AzureOptions", "ENDPOINT_ENV"]

ENDPOINT_ENV = "AZURE_OPENAI_ENDPOINT"
API_VERSION_ENV = "OPENAI_API_VERSION"
_V1 = ("v1", "preview")
_AUTH_HINT = (
    "check AZURE_OPENAI_API_KEY and the endpoint, or that azure_ad_token_provider returns "
    "a fresh Entra ID token for https://cognitiveservices.azure.com/.default"
)


class AzureOptions(TypedDict, total=False):
    """How to reach Azure OpenAI; keyword arguments of `AzureOpenAIChatModel` and
    `AzureOpenAIEmbedder` besides the deployment name.

    - `azure_endpoint`: `https://<resource>.openai.azure.com`; defaults to
      `AZURE_OPENAI_ENDPOINT`.
    - `api_version`: a dated version, or `"v1"` for the `/openai/v1/` API; defaults to
      `OPENAI_API_VERSION`.
    - `api_key`: defaults to `AZURE_OPENAI_API_KEY`.
    - `azure_ad_token_provider`: a callable returning an Entra ID token (instead of a key).
    - `headers`, `timeout`, `max_retries`, `transport`, `session`: as for OpenAI.
    """

    azure_endpoint: str | None
    api_version: str | None
    api_key: str | None
    azure_ad_token_provider: TokenProvider | None
    headers: Mapping[str, str] | None
    timeout: Timeout | float | None
    max_retries: int | RetryPolicy
    transport: Transport | None
    session: aiohttp.ClientSession | None


class AzureHTTPClient(HTTPClient):
    """An `HTTPClient` that reads Azure's filtered-prompt errors into their categories."""

    __slots__ = ()

    def error(
        self, status: int, content: bytes, response: HTTPResponse, retry_after: float | None
    ) -> ProviderError:
        exc = refine_filter_error(super().error(status, content, response, retry_after), content)
        return with_auth_hint(exc, _AUTH_HINT)


def _env(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None


def _endpoint_root(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ValidationError(
            f"the Azure OpenAI endpoint must start with https://, got {url!r} "
            "(e.g. https://<resource>.openai.azure.com)"
        )
    url = url.rstrip("/")
    for suffix in ("/openai/v1", "/openai"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    return url


class AzureConnection(OpenAIConnection):
    """Resolves endpoint, API version and credentials for Azure OpenAI; owns the client.

    Every missing setting is one `ValidationError` (or `AuthenticationError` for the
    credentials) naming what to set, raised here, before any request.
    """

    __slots__ = ("api_version", "v1")

    def __init__(
        self,
        provider: ProviderSpec | str = "azure",
        *,
        azure_endpoint: str | None = None,
        api_version: str | None = None,
        api_key: str | None = None,
        azure_ad_token_provider: TokenProvider | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
        max_retries: int | RetryPolicy = 2,
        transport: Transport | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        spec = get_provider(provider) if isinstance(provider, str) else provider
        found = azure_endpoint or _env(spec.base_url_env or ENDPOINT_ENV)
        if not found:
            raise ValidationError(
                f"Azure OpenAI needs its endpoint: set {ENDPOINT_ENV} or pass "
                "azure_endpoint='https://<resource>.openai.azure.com'"
            )
        version = api_version or _env(API_VERSION_ENV)
        if not version:
            raise ValidationError(
                f"Azure OpenAI needs an API version: set {API_VERSION_ENV} (e.g. 2024-10-21) "
                "or pass api_version=; api_version='v1' uses the /openai/v1/ API"
            )
        key = api_key or _env(spec.key_env or "AZURE_OPENAI_API_KEY")
        if key is None and azure_ad_token_provider is None:
            raise AuthenticationError(
                f"no credentials for Azure OpenAI: set {spec.key_env or 'AZURE_OPENAI_API_KEY'}"
                ", pass api_key=, or pass azure_ad_token_provider= (Microsoft Entra ID)",
                provider=spec.name,
            )
        self.api_version = version
        self.v1 = version in _V1
        root = _endpoint_root(found)
        self.spec = spec
        self.base_url = f"{root}/openai/v1" if self.v1 else f"{root}/openai"
        wire = default_transport(transport, timeout=timeout, session=session)
        if azure_ad_token_provider is not None:
            wire = AuthTransport(wire, bearer_authorizer(azure_ad_token_provider))
            key = None  # the token, not a key, authenticates
        self.client = build_client(
            Endpoint(spec, self.base_url, key),
            auth=lambda value: {"api-key": value},
            headers=headers,
            max_retries=max_retries,
            transport=wire,
            client_class=AzureHTTPClient,
        )

    def url(self, deployment: str, path: str) -> str:
        """The URL of `path` (`chat/completions`, `embeddings`) for `deployment`."""
        if self.v1:
            query = "?api-version=preview" if self.api_version == "preview" else ""
            return f"{self.base_url}/{path}{query}"
        name = quote(deployment, safe="")
        return f"{self.base_url}/deployments/{name}/{path}?api-version={self.api_version}"

    def __repr__(self) -> str:
        return f"AzureConnection({self.base_url!r}, api_version={self.api_version!r})"
