"""Gemini and Claude on Google Vertex AI.

`VertexGeminiChatModel` is the Gemini adapter on Vertex's URL shape
(`{location}-aiplatform.googleapis.com/v1/projects/{p}/locations/{l}/publishers/google/
models/{m}:generateContent`); `VertexAnthropicChatModel` is the Anthropic adapter on
`.../publishers/anthropic/models/{m}:rawPredict` and `:streamRawPredict`, with the model
in the URL and `anthropic_version: "vertex-2023-10-16"` in the body. Both send an OAuth
bearer token (`GoogleTokenSource`) on every request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict, Unpack
from urllib.parse import quote

from conduit.catalog.registry import describe_model
from conduit.core.protocols import Capabilities
from conduit.errors import ProviderError, ValidationError
from conduit.providers.anthropic.model import AnthropicChatModel, _AnthropicHTTPClient
from conduit.providers.anthropic.request import DEFAULT_MAX_TOKENS
from conduit.providers.endpoint import Endpoint, build_client
from conduit.providers.gemini.calls import CallMemory
from conduit.providers.gemini.connection import GeminiConnection, GeminiHTTPClient
from conduit.providers.gemini.model import GeminiChatModel
from conduit.providers.registry import ProviderSpec, get_provider
from conduit.providers.signing import (
    AuthTransport,
    bearer_authorizer,
    default_transport,
    with_auth_hint,
)
from conduit.providers.vertex.auth import GoogleTokenSource, find_location, vertex_base_url
from conduit.schema import ChatOptions, Message
from conduit.transport import HTTPClient, HTTPResponse, RetryPolicy, Timeout, Transport

if TYPE_CHECKING:
    import aiohttp

__all__ = ["ANTHROPIC_VERTEX_VERSION", "VertexAnthropicChatModel", "VertexGeminiChatModel"]

ANTHROPIC_VERTEX_VERSION = "vertex-2023-10-16"


class VertexOptions(TypedDict, total=False):
    """How to reach Vertex AI; keyword arguments of both Vertex chat models.

    - `project`, `location`: default to `GOOGLE_CLOUD_PROJECT` (else ADC's project) and
      `GOOGLE_CLOUD_LOCATION`.
    - `credentials`: google-auth credentials (default: Application Default Credentials).
    - `base_url`: another API root (a proxy, a local stand-in); defaults to
      `VERTEX_BASE_URL`, then Vertex's for the project and location.
    - `headers`, `timeout`, `max_retries`, `transport`, `session`: as for every adapter.
    """

    project: str | None
    location: str | None
    credentials: Any
    base_url: str | None
    headers: Mapping[str, str] | None
    timeout: Timeout | float | None
    max_retries: int | RetryPolicy
    transport: Transport | None
    session: aiohttp.ClientSession | None


_AUTH_HINT = (
    "refresh the Google credentials: run `gcloud auth application-default login`, or check "
    "the service account and its Vertex AI User role"
)


class _VertexGeminiClient(GeminiHTTPClient):
    __slots__ = ()

    def error(
        self, status: int, content: bytes, response: HTTPResponse, retry_after: float | None
    ) -> ProviderError:
        return with_auth_hint(super().error(status, content, response, retry_after), _AUTH_HINT)


class _VertexAnthropicClient(_AnthropicHTTPClient):
    __slots__ = ()

    def error(
        self, status: int, content: bytes, response: HTTPResponse, retry_after: float | None
    ) -> ProviderError:
        return with_auth_hint(super().error(status, content, response, retry_after), _AUTH_HINT)


def _connect(
    provider: ProviderSpec | str, options: VertexOptions, client_class: type[HTTPClient]
) -> tuple[ProviderSpec, str, HTTPClient]:
    spec = get_provider(provider) if isinstance(provider, str) else provider
    location = find_location(options.get("location"))
    project = (
        options.get("project")
        or os.environ.get("GOOGLE_CLOUD_PROJECT")
        or os.environ.get("CLOUDSDK_CORE_PROJECT")
    )
    tokens = GoogleTokenSource(options.get("credentials"))
    project = project or tokens.project
    if not project:
        raise ValidationError(
            "Vertex AI needs a Google Cloud project: set GOOGLE_CLOUD_PROJECT or pass project="
        )
    base = options.get("base_url") or os.environ.get(spec.base_url_env or "", "").strip()
    root = (
        f"{base.rstrip('/')}/projects/{project}/locations/{location}"
        if base
        else vertex_base_url(project, location)
    )
    wire = AuthTransport(
        default_transport(
            options.get("transport"), timeout=options.get("timeout"), session=options.get("session")
        ),
        bearer_authorizer(tokens.token),
    )
    quota = {"x-goog-user-project": tokens.quota_project} if tokens.quota_project else {}
    client = build_client(
        Endpoint(spec, root, None),
        headers={**quota, **(options.get("headers") or {})},
        max_retries=options.get("max_retries", 2),
        transport=wire,
        client_class=client_class,
    )
    return spec, root, client


class _VertexGeminiConnection(GeminiConnection):
    __slots__ = ()

    def __init__(self, provider: ProviderSpec | str, options: VertexOptions) -> None:
        spec, root, client = _connect(provider, options, _VertexGeminiClient)
        self.spec = spec
        self.base_url = f"{root}/publishers/google"
        self.client = client


class VertexGeminiChatModel(GeminiChatModel):
    """Gemini on Vertex AI (`"vertex/gemini-2.5-flash"`).

    Example:
        >>> class Token:  # stands in for google-auth credentials
        ...     token, expiry = "ya29.t", None
        >>> model = VertexGeminiChatModel("gemini-2.5-flash", project="p-1",
        ...                               location="us-central1", credentials=Token())
        >>> model.base_url
        'https://us-central1-aiplatform.googleapis.com/v1/projects/p-1/locations/us-central1/publishers/google'
    """

    def __init__(
        self,
        name: str,
        *,
        provider: ProviderSpec | str = "vertex",
        capabilities: Capabilities | None = None,
        **connection: Unpack[VertexOptions],
    ) -> None:
        self._conn = _VertexGeminiConnection(provider, connection)
        self._info = describe_model(
            self._conn.spec.name,
            name,
            fallback=Capabilities(vision=True, audio=True),
            capabilities=capabilities,
        )
        self._url = self._conn.model_url(name, "generateContent")
        self._stream_url = self._conn.model_url(name, "streamGenerateContent") + "?alt=sse"
        self.calls = CallMemory()


class VertexAnthropicChatModel(AnthropicChatModel):
    """Claude on Vertex AI (`"vertex-anthropic/claude-sonnet-4-5@20250929"`).

    Example:
        >>> class Token:
        ...     token, expiry = "ya29.t", None
        >>> from conduit.schema import user
        >>> model = VertexAnthropicChatModel("claude-haiku-4-5@20251001", project="p-1",
        ...                                  location="global", credentials=Token())
        >>> body = model.payload([user("Hi")], ChatOptions(max_tokens=5), stream=False)
        >>> body["anthropic_version"], "model" in body
        ('vertex-2023-10-16', False)
    """

    def __init__(
        self,
        name: str,
        *,
        provider: ProviderSpec | str = "vertex-anthropic",
        capabilities: Capabilities | None = None,
        default_max_tokens: int = DEFAULT_MAX_TOKENS,
        **connection: Unpack[VertexOptions],
    ) -> None:
        if default_max_tokens <= 0:
            raise ValidationError(f"default_max_tokens must be positive, got {default_max_tokens}")
        spec, root, client = _connect(provider, connection, _VertexAnthropicClient)
        self._client = client
        self._base_url = f"{root}/publishers/anthropic"
        model_url = f"{self._base_url}/models/{quote(name, safe='@')}"
        self._url = f"{model_url}:rawPredict"
        self._stream_url = f"{model_url}:streamRawPredict"
        self._default_max_tokens = default_max_tokens
        self._info = describe_model(
            spec.name, name, fallback=Capabilities(vision=True), capabilities=capabilities
        )

    def payload(
        self, messages: list[Message], options: ChatOptions, *, stream: bool
    ) -> dict[str, Any]:
        body = super().payload(messages, options, stream=stream)
        del body["model"]  # the model is in the URL
        return {"anthropic_version": ANTHROPIC_VERTEX_VERSION, **body}
