"""`AnthropicChatModel`: Claude through Anthropic's Messages API (`POST /v1/messages`).

Authentication is the `x-api-key` header with the `anthropic-version` header
(https://docs.anthropic.com/en/api/versioning). Error answers
(`{"type": "error", "error": {"type", "message"}}`, https://docs.anthropic.com/en/api/errors)
become Conduit's typed errors in the transport, by status: 400 `BadRequestError` (a
"prompt is too long" one `ContextWindowExceededError`), 401 `AuthenticationError`, 403
`PermissionDeniedError`, 404 `NotFoundError`, 429 `RateLimitError` with `retry_after`,
500 and 529 (`overloaded_error`) `ServerError`, both retried; 402 (`billing_error`) is a
`PermissionDeniedError` here: the account, not the request, needs fixing. The `request-id`
header becomes the error's `request_id`.

Example:
    >>> model = AnthropicChatModel("claude-sonnet-4-5", api_key="sk-ant-test")
    >>> model.model_info.ref, model.base_url
    ('anthropic/claude-sonnet-4-5', 'https://api.anthropic.com/v1')
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from conduit import _json
from conduit.catalog.registry import describe_model
from conduit.core.protocols import BaseChatModel, Capabilities, ModelInfo
from conduit.errors import APIConnectionError, PermissionDeniedError, ProviderError, ValidationError
from conduit.providers.anthropic.request import (
    DEFAULT_MAX_TOKENS,
    build_messages_payload,
    json_output,
)
from conduit.providers.anthropic.response import parse_message_response
from conduit.providers.anthropic.stream import StreamAssembler
from conduit.providers.endpoint import build_client, resolve_endpoint
from conduit.providers.registry import ProviderSpec, get_provider
from conduit.schema import ChatOptions, Message, Response, StreamEvent
from conduit.transport import HTTPClient, HTTPResponse, Redactor, RetryPolicy, Timeout, Transport
from conduit.transport.errors import error_for_event

if TYPE_CHECKING:
    import aiohttp

__all__ = ["ANTHROPIC_VERSION", "AnthropicChatModel", "AnthropicConnectionOptions"]

ANTHROPIC_VERSION = "2023-06-01"
"""The `anthropic-version` header: the current (and only) version of the Messages API."""


class AnthropicConnectionOptions(TypedDict, total=False):
    """How to reach the Messages API; keyword arguments of `AnthropicChatModel`.

    - `api_key`: defaults to the provider's key variable (`ANTHROPIC_API_KEY`).
    - `base_url`: the API root, `/v1` included; defaults to `ANTHROPIC_BASE_URL` (which,
      as for the official SDK, may leave `/v1` out), then Anthropic's.
    - `headers`: extra request headers (e.g. `anthropic-beta`); they win over ours.
    - `timeout`: a `Timeout` (connect 10 s, read 600 s by default).
    - `max_retries`: retries of 408/409/429/5xx (529 included) and connection failures
      (default 2).
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


class _AnthropicHTTPClient(HTTPClient):
    """The transport's client with Anthropic's one status the shared table gets wrong."""

    __slots__ = ()

    def error(
        self, status: int, content: bytes, response: HTTPResponse, retry_after: float | None
    ) -> ProviderError:
        exc = super().error(status, content, response, retry_after)
        if status == 402:  # billing_error: fix the account, retrying or rephrasing won't help
            return PermissionDeniedError(
                exc.message,
                provider=exc.provider,
                status_code=exc.status_code,
                request_id=exc.request_id,
                retry_after=exc.retry_after,
                body=exc.body,
            )
        return exc


def _env_base_url(name: str | None) -> str | None:
    """The base-URL variable's value with `/v1` added when missing: the official SDK's
    `ANTHROPIC_BASE_URL` is the host (`https://api.anthropic.com`), our base URLs the API
    root (`.../v1`)."""
    value = (os.environ.get(name) or "").strip().rstrip("/") if name else ""
    if not value:
        return None
    return value if value.endswith("/v1") else f"{value}/v1"


class AnthropicChatModel(BaseChatModel):
    """Chat with Claude through Anthropic's Messages API.

    `default_max_tokens` fills the required `max_tokens` when a call sets none. The key is
    sent only in the `x-api-key` header: it never appears in `repr()`, errors or logs.

    Example:
        >>> from conduit.transport import MockTransport, json_response
        >>> import asyncio
        >>> answer = {"id": "msg_1", "type": "message", "role": "assistant",
        ...     "model": "claude-haiku-4-5", "content": [{"type": "text", "text": "Hello!"}],
        ...     "stop_reason": "end_turn", "stop_sequence": None,
        ...     "usage": {"input_tokens": 8, "output_tokens": 3}}
        >>> model = AnthropicChatModel("claude-haiku-4-5", api_key="sk-ant-test",
        ...     transport=MockTransport(lambda request: json_response(answer)))
        >>> asyncio.run(model.chat("Hi")).text
        'Hello!'
        >>> model
        AnthropicChatModel('anthropic/claude-haiku-4-5')
    """

    def __init__(
        self,
        name: str,
        *,
        provider: ProviderSpec | str = "anthropic",
        capabilities: Capabilities | None = None,
        default_max_tokens: int = DEFAULT_MAX_TOKENS,
        **connection: Unpack[AnthropicConnectionOptions],
    ) -> None:
        if default_max_tokens <= 0:
            raise ValidationError(f"default_max_tokens must be positive, got {default_max_tokens}")
        # A base URL other than the provider's (given, or from the environment) may be a
        # proxy or gateway that holds the key itself: the key is optional then.
        spec = get_provider(provider) if isinstance(provider, str) else provider
        endpoint = resolve_endpoint(
            spec,
            api_key=connection.get("api_key"),
            base_url=connection.get("base_url") or _env_base_url(spec.base_url_env),
        )
        self._client = build_client(
            endpoint,
            auth=lambda key: {"x-api-key": key},
            headers={"anthropic-version": ANTHROPIC_VERSION, **(connection.get("headers") or {})},
            timeout=connection.get("timeout"),
            max_retries=connection.get("max_retries", 2),
            transport=connection.get("transport"),
            session=connection.get("session"),
            client_class=_AnthropicHTTPClient,
        )
        self._base_url = endpoint.base_url
        self._url = f"{self._base_url}/messages"
        self._stream_url = self._url  # a hook: Vertex AI streams from another URL
        self._default_max_tokens = default_max_tokens
        self._info = describe_model(
            spec.name, name, fallback=Capabilities(vision=True), capabilities=capabilities
        )

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    @property
    def base_url(self) -> str:
        """The API root requests go to."""
        return self._base_url

    def payload(
        self, messages: list[Message], options: ChatOptions, *, stream: bool
    ) -> dict[str, Any]:
        """The exact JSON body this model sends (useful for debugging and tests)."""
        return build_messages_payload(
            self._info.name,
            messages,
            options,
            stream=stream,
            default_max_tokens=self._default_max_tokens,
        )

    def _event_error(self, data: str) -> ProviderError:
        return error_for_event(
            self._client.redact(data), provider=self._info.provider, redactor=Redactor()
        )

    async def _chat(self, messages: list[Message], options: ChatOptions) -> Response:
        started = time.perf_counter()
        payload = self.payload(messages, options, stream=False)
        data = await self._client.post_json(self._url, payload)
        if isinstance(data, dict) and data.get("type") == "error":
            # A 200 carrying an error body (some gateways answer so): still a typed error.
            raise self._event_error(_json.dumps(data).decode())
        return parse_message_response(
            data,
            provider=self._info.provider,
            duration=time.perf_counter() - started,
            redact=self._client.redact,
            json_output=json_output(options),
        )

    async def _stream(
        self, messages: list[Message], options: ChatOptions
    ) -> AsyncIterator[StreamEvent]:
        started = time.perf_counter()
        payload = self.payload(messages, options, stream=True)
        assembler = StreamAssembler(provider=self._info.provider, json_output=json_output(options))
        loads = _json.loads
        events = self._client.stream_sse(self._stream_url, payload)
        try:
            async for event in events:
                try:
                    data = loads(event.data)
                except _json.JSONDecodeError:
                    data = None
                if not isinstance(data, dict):
                    raise APIConnectionError(
                        self._client.redact(f"malformed stream event: {event.data[:200]!r}"),
                        provider=self._info.provider,
                    )
                if data.get("type") == "error":
                    # The transport raises on `event: error`; this catches an error event
                    # whose `event:` line is missing or named otherwise.
                    raise self._event_error(event.data)
                for out in assembler.feed(data):
                    yield out
        finally:
            await events.aclose()  # an early close ends the HTTP response now
        if not assembler.finished:
            raise APIConnectionError(
                "the stream ended before the answer was complete (no message_stop)",
                provider=self._info.provider,
            )
        yield assembler.done(time.perf_counter() - started)

    async def aclose(self) -> None:
        await self._client.transport.aclose()
