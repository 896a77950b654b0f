"""Google error bodies → Conduit's typed errors.

The Gemini API answers errors in Google's standard shape (AIP-193,
https://google.aip.dev/193; https://ai.google.dev/gemini-api/docs/troubleshooting):

```json
{"error": {"code": 400, "message": "...", "status": "INVALID_ARGUMENT",
           "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID", ...}]}}
```

The transport maps by HTTP status first; the canonical `status` string and the
`ErrorInfo.reason` say more. A wrong key, for one, is an HTTP 400 `INVALID_ARGUMENT`
with reason `API_KEY_INVALID`: here it becomes an `AuthenticationError`, not a
`BadRequestError`. A `google.rpc.RetryInfo` detail's `retryDelay` fills `retry_after`
when no `Retry-After` header came.

Example:
    >>> from conduit.errors import BadRequestError
    >>> body = ('{"error": {"code": 400, "message": "API key not valid.", '
    ...         '"status": "INVALID_ARGUMENT", "details": [{"reason": "API_KEY_INVALID"}]}}')
    >>> err = BadRequestError("API key not valid.", provider="gemini", status_code=400)
    >>> type(refine_error(err, body)).__name__
    'AuthenticationError'
"""

from __future__ import annotations

import re
from typing import Any

from conduit import _json
from conduit.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ContextWindowExceededError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    ServerError,
    TimeoutError,
)

__all__ = ["GOOGLE_STATUS_CLASSES", "google_error_info", "refine_error"]

# Canonical codes (google.rpc.Code) as the Gemini API uses them; see its troubleshooting
# page. DEADLINE_EXCEEDED (HTTP 504) means the request took longer than the server's
# deadline, which Google's advice meets with a longer client timeout: a TimeoutError.
GOOGLE_STATUS_CLASSES: dict[str, type[ProviderError]] = {
    "INVALID_ARGUMENT": BadRequestError,
    "FAILED_PRECONDITION": BadRequestError,
    "OUT_OF_RANGE": BadRequestError,
    "UNAUTHENTICATED": AuthenticationError,
    "PERMISSION_DENIED": PermissionDeniedError,
    "NOT_FOUND": NotFoundError,
    "RESOURCE_EXHAUSTED": RateLimitError,
    "INTERNAL": ServerError,
    "UNAVAILABLE": ServerError,
    "UNKNOWN": ServerError,
    "DATA_LOSS": ServerError,
    "DEADLINE_EXCEEDED": TimeoutError,
}

# `ErrorInfo.reason` values that mean "the key is wrong", whatever the status says.
_KEY_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_NOT_FOUND"})
_KEY_MESSAGES = ("api key not valid", "api key expired", "api key not found")
# "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."
_CONTEXT_MESSAGES = ("exceeds the maximum number of tokens",)

# Fallbacks for an excerpt too long to have been kept whole (the transport truncates
# bodies it stores on errors): the fields are short and come early in Google's bodies.
_STATUS_RE = re.compile(r'"status"\s*:\s*"([A-Z_]+)"')
_REASON_RE = re.compile(r'"reason"\s*:\s*"([A-Z_]+)"')
_DELAY_RE = re.compile(r'"retryDelay"\s*:\s*"([0-9.]+)s"')
_CODE_RE = re.compile(r'"code"\s*:\s*([0-9]{3})\b')


def _seconds(value: Any) -> float | None:
    """A protobuf Duration in JSON ("26s", "0.5s") as seconds."""
    if isinstance(value, str) and value.endswith("s"):
        try:
            return max(float(value[:-1]), 0.0)
        except ValueError:
            return None
    return None


def google_error_info(body: str | bytes | None) -> dict[str, Any]:
    """`status`, `reasons`, `retry_delay` and `code` from a Google error body (or excerpt).

    Example:
        >>> info = google_error_info('{"error": {"code": 429, "message": "Quota", '
        ...     '"status": "RESOURCE_EXHAUSTED", "details": [{"@type": '
        ...     '"type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "26s"}]}}')
        >>> info["status"], info["retry_delay"], info["code"]
        ('RESOURCE_EXHAUSTED', 26.0, 429)
    """
    info: dict[str, Any] = {"status": None, "reasons": set(), "retry_delay": None, "code": None}
    if not body:
        return info
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        parsed = _json.loads(text)
    except _json.JSONDecodeError:
        parsed = None
    if isinstance(parsed, list) and parsed:
        parsed = parsed[0]  # streamGenerateContent without alt=sse wraps errors in an array
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict):
        status = error.get("status")
        info["status"] = status if isinstance(status, str) else None
        code = error.get("code")
        info["code"] = code if isinstance(code, int) and not isinstance(code, bool) else None
        for detail in error.get("details") or ():
            if not isinstance(detail, dict):
                continue
            if isinstance(detail.get("reason"), str):
                info["reasons"].add(detail["reason"])
            delay = _seconds(detail.get("retryDelay"))
            if delay is not None:
                info["retry_delay"] = delay
        return info
    # Not whole JSON (cut short, or not Google's shape): look for the fields themselves.
    if match := _STATUS_RE.search(text):
        info["status"] = match.group(1)
    info["reasons"] = set(_REASON_RE.findall(text))
    if match := _DELAY_RE.search(text):
        info["retry_delay"] = float(match.group(1))
    if match := _CODE_RE.search(text):
        info["code"] = int(match.group(1))
    return info


def refine_error(exc: ProviderError, body: str | bytes | None = None) -> ProviderError:
    """The typed error Google's body calls for; `exc` itself when it already is one.

    `body` defaults to `exc.body` (the redacted excerpt the transport kept). Connection
    errors and errors without a Google body pass through unchanged.
    """
    if isinstance(exc, APIConnectionError) and not isinstance(exc, TimeoutError):
        return exc
    info = google_error_info(body if body is not None else exc.body)
    status = info["status"]
    if status is None and not info["reasons"]:
        return exc
    cls: type[ProviderError] = GOOGLE_STATUS_CLASSES.get(status or "", type(exc))
    low = exc.message.lower()
    if info["reasons"] & _KEY_REASONS or any(m in low for m in _KEY_MESSAGES):
        cls = AuthenticationError
    elif cls is BadRequestError:
        if any(m in low for m in _CONTEXT_MESSAGES):
            cls = ContextWindowExceededError
        elif issubclass(type(exc), BadRequestError):
            # Keep the transport's finer reading (context window, content filter).
            cls = type(exc)
    retry_after = exc.retry_after if exc.retry_after is not None else info["retry_delay"]
    status_code = exc.status_code if exc.status_code is not None else info["code"]
    if cls is type(exc) and retry_after == exc.retry_after and status_code == exc.status_code:
        return exc
    return cls(
        exc.message,
        provider=exc.provider,
        status_code=status_code,
        request_id=exc.request_id,
        retry_after=retry_after,
        body=exc.body,
    )
