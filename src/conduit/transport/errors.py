"""Translate an HTTP error answer (status + body) into Conduit's typed errors.

Error bodies differ by provider, but share a few shapes, all handled here:
OpenAI `{"error": {"message", "type", "code"}}`, Anthropic
`{"type": "error", "error": {"type", "message"}}`, Gemini `{"error": {"code", "message",
"status"}}`, Ollama `{"error": "..."}`, and FastAPI-style `{"detail": ...}`. A body that
is not JSON still maps by status, with a short excerpt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conduit import _json
from conduit.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    ContextWindowExceededError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    ServerError,
    TimeoutError,
)
from conduit.transport.redact import Redactor

__all__ = ["error_detail", "error_for_event", "error_for_status", "refine_error_class"]

EXCERPT = 300
REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "x-goog-request-id")

_CONTEXT_MARKERS = (
    "context_length_exceeded",
    "maximum context length",
    "context window",
    "prompt is too long",
    "too many tokens",
    "exceeds the context",
    "input is too long",
)
# Not a bare "safety": OpenAI's `safety_identifier` parameter errors would match it.
_FILTER_MARKERS = ("content_filter", "content_policy_violation", "responsible ai", "safety system")

_STATUS_CLASSES: dict[int, type[ProviderError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: TimeoutError,
    413: BadRequestError,
    422: BadRequestError,
    429: RateLimitError,
}

# Error `type` strings that providers put in bodies and stream error events.
_TYPE_CLASSES: dict[str, type[ProviderError]] = {
    "invalid_request_error": BadRequestError,
    "authentication_error": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "rate_limit_error": RateLimitError,
    "rate_limit_exceeded": RateLimitError,
    "insufficient_quota": RateLimitError,
    "overloaded_error": ServerError,
    "api_error": ServerError,
    "server_error": ServerError,
    "timeout_error": TimeoutError,
}


def error_detail(body: Any) -> tuple[str | None, str | None, str | None]:
    """(message, type, code) from a parsed error body of any common shape.

    Example:
        >>> error_detail({"error": {"message": "Bad key", "type": "invalid_request_error",
        ...                         "code": "invalid_api_key"}})
        ('Bad key', 'invalid_request_error', 'invalid_api_key')
        >>> error_detail({"error": "model not found"})  # Ollama
        ('model not found', None, None)
    """
    if isinstance(body, list) and body:
        body = body[0]  # Gemini streams errors as a one-item JSON array
    if not isinstance(body, dict):
        return None, None, None
    err = body.get("error", body)
    if isinstance(err, str):
        return err, None, None
    if not isinstance(err, dict):
        return None, None, None
    message = err.get("message")
    if message is None and "detail" in err:
        message = err["detail"] if isinstance(err["detail"], str) else str(err["detail"])
    etype = err.get("type") if isinstance(err.get("type"), str) else err.get("status")
    code = err.get("code")
    return (
        str(message) if message is not None else None,
        str(etype) if etype is not None else None,
        str(code) if code is not None else None,
    )


def refine_error_class(cls: type[ProviderError], text: str) -> type[ProviderError]:
    """A plain `BadRequestError` class narrowed by what the error text says: a context
    window overflow or a content filter (providers word these differently).

    Example:
        >>> refine_error_class(BadRequestError, "maximum context length is 8192").__name__
        'ContextWindowExceededError'
    """
    if issubclass(cls, BadRequestError) and cls is BadRequestError:
        low = text.lower()
        if any(m in low for m in _CONTEXT_MARKERS):
            return ContextWindowExceededError
        if any(m in low for m in _FILTER_MARKERS):
            return ContentFilterError
    return cls


def error_for_status(
    status: int,
    content: bytes,
    header: Callable[[str], str | None],
    *,
    provider: str,
    redactor: Redactor,
    retry_after: float | None = None,
) -> ProviderError:
    """The typed error for an HTTP answer with status >= 400."""
    request_id = next((v for h in REQUEST_ID_HEADERS if (v := header(h))), None)
    raw = content.decode("utf-8", "replace")
    try:
        parsed = _json.loads(content) if content else None
    except _json.JSONDecodeError:
        parsed = None
    message, etype, code = error_detail(parsed)
    if message is None:
        excerpt = raw.strip()[:EXCERPT]
        message = f"{excerpt!r}" if excerpt else "(empty body)"
        message = f"HTTP {status} with a body that is not a JSON error: {message}"
    cls = _STATUS_CLASSES.get(status)
    if cls is None:
        if status >= 500:
            cls = ServerError
        elif status == 409:
            cls = ProviderError
        else:
            cls = BadRequestError
    cls = refine_error_class(cls, f"{message} {etype or ''} {code or ''}")
    return cls(
        redactor.redact(message),
        provider=provider,
        status_code=status,
        request_id=request_id,
        retry_after=retry_after,
        body=redactor.redact(raw[: EXCERPT * 4]),
    )


def error_for_event(
    data: str, *, provider: str, redactor: Redactor, event: str = "error"
) -> ProviderError:
    """The typed error for an error that arrives inside a stream (status was already 200)."""
    try:
        parsed = _json.loads(data)
    except _json.JSONDecodeError:
        parsed = None
    message, etype, code = error_detail(parsed)
    if message is None:
        message = f"error event in the stream: {data[:EXCERPT]!r}"
    cls = _TYPE_CLASSES.get(etype or "") or _TYPE_CLASSES.get(code or "") or ServerError
    cls = refine_error_class(cls, f"{message} {etype or ''} {code or ''}")
    return cls(
        redactor.redact(message),
        provider=provider,
        body=redactor.redact(data[: EXCERPT * 4]),
    )


def connection_error(
    exc: APIConnectionError, provider: str, redactor: Redactor
) -> APIConnectionError:
    """The same connection error with the provider filled in (and the text redacted)."""
    return type(exc)(
        redactor.redact(exc.message),
        provider=provider,
        status_code=exc.status_code,
        request_id=exc.request_id,
    )
