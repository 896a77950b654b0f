"""What the OpenAI chat model and embedder share: base URL, key, headers, HTTP client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from conduit.providers.endpoint import build_client, resolve_endpoint
from conduit.providers.registry import ProviderSpec
from conduit.transport import RetryPolicy, Timeout, Transport

if TYPE_CHECKING:
    import aiohttp

__all__ = ["ConnectionOptions", "OpenAIConnection"]


class ConnectionOptions(TypedDict, total=False):
    """How to reach an OpenAI-shaped API; the keyword arguments of `OpenAIChatModel` and
    `OpenAIEmbedder` besides the model name.

    - `api_key`: defaults to the provider's key variable (`OPENAI_API_KEY`).
    - `base_url`: the API root; defaults to `OPENAI_BASE_URL`, then OpenAI's.
    - `organization`, `project`: OpenAI's `OpenAI-Organization` / `OpenAI-Project` headers.
    - `headers`: extra request headers.
    - `timeout`: a `Timeout` (connect 10 s, read 600 s by default).
    - `max_retries`: retries of 408/409/429/5xx and connection failures (default 2).
    - `transport`: a `Transport` (a `MockTransport` in tests); default aiohttp.
    - `session`: your own `aiohttp.ClientSession` (never closed by Conduit).
    """

    api_key: str | None
    base_url: str | None
    organization: str | None
    project: str | None
    headers: Mapping[str, str] | None
    timeout: Timeout | float | None
    max_retries: int | RetryPolicy
    transport: Transport | None
    session: aiohttp.ClientSession | None


class OpenAIConnection:
    """Resolves the key and base URL for an OpenAI-shaped API and owns the HTTP client.

    The key is required only for a provider that needs one at its default base URL;
    a custom `base_url` (a local server) may go without. The key never appears in
    `repr()`; it lives only in the client's request headers.
    """

    __slots__ = ("base_url", "client", "spec")

    def __init__(
        self,
        provider: ProviderSpec | str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
        max_retries: int | RetryPolicy = 2,
        transport: Transport | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        # Like the official SDK: OPENAI_BASE_URL points a whole program at a proxy or a
        # compatible server without code changes (resolve_endpoint reads base_url_env).
        endpoint = resolve_endpoint(provider, api_key=api_key, base_url=base_url)
        self.spec = endpoint.spec
        self.base_url = endpoint.base_url
        fixed: dict[str, str] = {}
        if organization:
            fixed["openai-organization"] = organization
        if project:
            fixed["openai-project"] = project
        self.client = build_client(
            endpoint,
            auth=lambda key: {"authorization": f"Bearer {key}"},
            headers={**fixed, **(headers or {})},
            timeout=timeout,
            max_retries=max_retries,
            transport=transport,
            session=session,
        )

    def option(self, name: str, default: Any) -> Any:
        """A provider-specific setting from the registry entry."""
        return self.spec.options.get(name, default)

    async def aclose(self) -> None:
        """Close the pooled connections (on the current event loop)."""
        await self.client.transport.aclose()
