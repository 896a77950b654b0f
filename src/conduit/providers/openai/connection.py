"""What the OpenAI chat model and embedder share: base URL, key, headers, HTTP client."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from conduit.catalog import require_key, resolve_key
from conduit.errors import ValidationError
from conduit.providers.registry import ProviderSpec, get_provider
from conduit.transport import HTTPClient, RetryPolicy, Timeout, Transport

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
    timeout: Timeout | None
    max_retries: int
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
        timeout: Timeout | None = None,
        max_retries: int = 2,
        transport: Transport | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        spec = get_provider(provider) if isinstance(provider, str) else provider
        self.spec = spec
        if base_url is None and spec.base_url_env:
            # Like the official SDK: OPENAI_BASE_URL points a whole program at a proxy
            # or a compatible server without code changes.
            base_url = os.environ.get(spec.base_url_env) or None
        url = base_url or spec.base_url
        if not url:
            raise ValidationError(
                f"provider {spec.name!r} needs base_url=, e.g. base_url='http://127.0.0.1:8000/v1'"
            )
        if not url.startswith(("http://", "https://")):
            raise ValidationError(f"base_url must start with http:// or https://, got {url!r}")
        self.base_url = url.rstrip("/")
        if spec.key_required and spec.key_env and base_url is None:
            key: str | None = require_key(api_key, spec.key_env, spec.name)
        else:
            key = resolve_key(api_key, spec.key_env)
        wire_headers: dict[str, str] = {}
        if key:
            wire_headers["authorization"] = f"Bearer {key}"
        if organization:
            wire_headers["openai-organization"] = organization
        if project:
            wire_headers["openai-project"] = project
        if headers:
            wire_headers.update(headers)
        if transport is None:
            from conduit.transport.aiohttp_transport import AiohttpTransport

            transport = AiohttpTransport(timeout=timeout, session=session)
        self.client = HTTPClient(
            transport,
            provider=spec.name,
            headers=wire_headers,
            retry=RetryPolicy(max_retries=max_retries),
            secrets=[key],
        )

    def option(self, name: str, default: Any) -> Any:
        """A provider-specific setting from the registry entry."""
        return self.spec.options.get(name, default)

    async def aclose(self) -> None:
        """Close the pooled connections (on the current event loop)."""
        await self.client.transport.aclose()
