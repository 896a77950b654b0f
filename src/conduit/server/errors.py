"""OpenAI-shaped error bodies for the gateway, and the HTTP status of each Conduit error.

Every error the gateway answers is `{"error": {"message", "type", "param", "code"}}`,
the shape OpenAI's API reference documents ("Error codes"), so OpenAI clients raise
their usual exception classes (401 → `AuthenticationError`, 429 → `RateLimitError`).
Upstream errors keep their status where it means the same to the caller (400, 404, 408,
413, 422, 429); an upstream 401/403 is the gateway's configuration problem, not the
caller's, so it becomes 502, as does any other upstream failure. A spent budget is 429
`insufficient_quota` (OpenAI's answer to a spent quota), bad input 400. Messages never
carry keys (the transport redacts them). Only `conduit.errors` is read here: what each
error means comes from the spine, not from a face's own classes.

Example:
    >>> from conduit import errors
    >>> status, body = error_for(errors.RateLimitError("slow down", retry_after=2.0))
    >>> status, body["error"]["type"]
    (429, 'rate_limit_error')
"""

from __future__ import annotations

from typing import Any

from conduit import errors

__all__ = ["GatewayError", "error_body", "error_for"]


def error_body(
    message: str, type: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """`{"error": {...}}` as OpenAI sends it.

    Example:
        >>> error_body("no such model", "invalid_request_error", "model_not_found", "model")
        {'error': {'message': 'no such model', 'type': 'invalid_request_error', 'param': 'model', 'code': 'model_not_found'}}
    """  # noqa: E501
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


class GatewayError(errors.ConduitError):
    """An error the gateway itself answers with (bad key, unknown model, limits).

    Example:
        >>> GatewayError("bad key", status=401, type="invalid_request_error").status
        401
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        type: str,
        code: str | None = None,
        param: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status, retry_after=retry_after)
        self.status = status
        self.type = type
        self.code = code
        self.param = param


_TYPES = {
    400: "invalid_request_error",
    404: "invalid_request_error",
    408: "timeout",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}
_PASSED_THROUGH = frozenset(_TYPES)


def error_for(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """The status and body to answer `exc` with: Conduit's errors by what they mean to
    the caller, anything else a 500 that shows no detail (it is in the log)."""
    if isinstance(exc, GatewayError):
        return exc.status, error_body(exc.message, exc.type, exc.code, exc.param)
    if isinstance(exc, errors.BudgetExceededError):
        # OpenAI answers a spent quota with 429 insufficient_quota.
        return 429, error_body(exc.message, "insufficient_quota", "budget_exceeded")
    if isinstance(exc, errors.ContextWindowExceededError):
        return 400, error_body(exc.message, "invalid_request_error", "context_length_exceeded")
    if isinstance(exc, errors.ContentFilterError):
        return 400, error_body(exc.message, "invalid_request_error", "content_filter")
    if isinstance(exc, errors.ValidationError):
        return 400, error_body(exc.message, "invalid_request_error")
    if isinstance(exc, errors.RateLimitError):
        return 429, error_body(exc.message, "rate_limit_error", "rate_limit_exceeded")
    if isinstance(exc, errors.TimeoutError):
        return 504, error_body(exc.message, "timeout", "upstream_timeout")
    if isinstance(exc, errors.APIConnectionError):
        return 502, error_body(exc.message, "api_error", "upstream_unreachable")
    if isinstance(exc, errors.AuthenticationError | errors.PermissionDeniedError):
        return 502, error_body(
            "the gateway's upstream refused its credentials; tell the gateway's operator",
            "api_error",
            "upstream_auth",
        )
    if isinstance(exc, errors.ConduitError):
        status = exc.status_code
        if status is not None and status in _PASSED_THROUGH:
            return status, error_body(exc.message, _TYPES[status])
        if isinstance(exc, errors.ProviderError):
            return 502, error_body(exc.message, "api_error", "upstream_error")
        return 500, error_body(exc.message, "server_error")
    return 500, error_body("the gateway failed on this request; see its log", "server_error")
