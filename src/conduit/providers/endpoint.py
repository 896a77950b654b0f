"""What every HTTP adapter does before its first request: find the base URL and the key,
then build the HTTP client that carries them. One place, so the rules are the same for
every provider:

- `base_url=` wins, then the provider's base-URL variable, then its default.
- The key is required only at the provider's own default URL; a URL of your own (a
  proxy, a gateway, a local stand-in) may go without one.
- The key lives only in the client's headers and in its list of secrets to redact.

Example:
    >>> from conduit.providers.registry import ProviderSpec
    >>> spec = ProviderSpec("acme", base_url="https://api.acme.test/v1", key_env="ACME_KEY")
    >>> found = resolve_endpoint(spec, api_key="sk-1")
    >>> found.base_url, found.key
    ('https://api.acme.test/v1', 'sk-1')
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from conduit.catalog import require_key, resolve_key
from conduit.errors import ValidationError
from conduit.providers.registry import ProviderSpec, get_provider
from conduit.transport import HTTPClient, RetryPolicy, Timeout, Transport

if TYPE_CHECKING:
    import aiohttp

__all__ = ["Endpoint", "build_client", "resolve_endpoint"]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A provider, the URL to reach it at, and the key to use (if any)."""

    spec: ProviderSpec
    base_url: str
    key: str | None

    def __repr__(self) -> str:  # the key never shows
        return f"Endpoint({self.spec.name!r}, {self.base_url!r})"


def _check_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ValidationError(f"base_url must start with http:// or https://, got {url!r}")
    return url.rstrip("/")


def resolve_endpoint(
    provider: ProviderSpec | str,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    normalize: Callable[[str], str] = _check_url,
    example_url: str = "http://127.0.0.1:8000/v1",
) -> Endpoint:
    """The base URL (`normalize`d) and key for `provider`, by the rules above.

    Example:
        >>> resolve_endpoint("openai-compatible", base_url="http://127.0.0.1:8080/v1/")
        Endpoint('openai-compatible', 'http://127.0.0.1:8080/v1')
    """
    spec = get_provider(provider) if isinstance(provider, str) else provider
    if base_url is None and spec.base_url_env:
        base_url = os.environ.get(spec.base_url_env, "").strip() or None
    url = base_url or spec.base_url
    if not url:
        raise ValidationError(
            f"provider {spec.name!r} needs base_url=, e.g. base_url={example_url!r}"
        )
    if spec.key_required and spec.key_env and base_url is None:
        key: str | None = require_key(api_key, spec.key_env, spec.name)
    else:
        key = resolve_key(api_key, spec.key_env, spec.name)
    return Endpoint(spec, normalize(url), key)


def build_client(
    endpoint: Endpoint,
    *,
    auth: Callable[[str], Mapping[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: Timeout | float | None = None,
    max_retries: int | RetryPolicy = 2,
    transport: Transport | None = None,
    session: aiohttp.ClientSession | None = None,
    client_class: type[HTTPClient] = HTTPClient,
) -> HTTPClient:
    """The HTTP client for `endpoint`: the headers `auth(key)` makes (only when there is a
    key), then `headers`, which win; aiohttp unless a `transport` is given.

    Example:
        >>> from conduit.transport import MockTransport, json_response
        >>> found = resolve_endpoint("openai-compatible", base_url="http://127.0.0.1:1/v1")
        >>> client = build_client(found, transport=MockTransport(lambda r: json_response({})))
        >>> client.provider
        'openai-compatible'
    """
    wire: dict[str, str] = dict(auth(endpoint.key)) if auth and endpoint.key else {}
    wire.update(headers or {})
    if transport is None:
        from conduit.transport.aiohttp_transport import AiohttpTransport

        transport = AiohttpTransport(timeout=Timeout.of(timeout), session=session)
    return client_class(
        transport,
        provider=endpoint.spec.name,
        headers=wire,
        retry=RetryPolicy.of(max_retries),
        secrets=[endpoint.key],
    )
