"""OpenAI-shaped error bodies for the gateway, and the HTTP status of each Conduit error.

Every error the gateway answers is `{"error": {"message", "type", "param", "code"}}`,
the shape OpenAI's API reference documents ("Error codes"), so OpenAI clients raise
their usual exception classes (401 → `AuthenticationError`, 429 → `RateLimitError`).
Upstream errors keep their status where it means the same to the caller (400, 404, 408,
413, 422, 429); an upstream 401/403 is the gateway's configuration problem, not the
caller's, so it becomes 502, as does any other upstream failure. A spent budget is 429
`insufficient_quota` (OpenAI's answer to a spent quota), bad input 400. Messages never
carry keys (the transport redacts them), nor where the upstream lives: URLs, addresses
and `host:port`s in an upstream's message are replaced (`scrub`), since a deployment's
address is the operator's business. Only `conduit.errors` is read here: what each error
means comes from the spine, not from a face's own classes.

Example:
    >>> from conduit import errors
    >>> status, body = error_for(errors.RateLimitError("slow down", retry_after=2.0))
    >>> status, body["error"]["type"]
    (429, 'rate_limit_error')
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from conduit import errors

__all__ = ["CLIENT_CLOSED", "GatewayError", "as_gateway_error", "error_body", "error_for", "scrub"]

CLIENT_CLOSED = 499
"""The status recorded for a request whose client went away before its answer ended
(nginx's "client closed request"): never a server error."""

# Where an upstream lives, as error messages spell it: URLs, IP addresses, host:port.
_WHERE = re.compile(
    r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>)\]]+"
    r"|\[[0-9a-fA-F:.]+\](?::\d{1,5})?"
    r"|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b"
    r"|\b(?:localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+):\d{1,5}\b"
)


def scrub(message: str) -> str:
    """`message` without URLs, IP addresses or `host:port`s (each becomes `<upstream>`).

    Example:
        >>> scrub("Cannot connect to host llm.internal:8000 (http://10.0.0.7/v1 said 502)")
        'Cannot connect to host <upstream> (<upstream> said 502)'
    """
    return _WHERE.sub("<upstream>", message)


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
        self.openai_code = code  # `code` is the spine's own (from the class name)
        self.param = param

    def payload(self) -> dict[str, Any]:
        """The error as OpenAI's JSON (`body`, as on every Conduit error, is an
        upstream's raw answer).

        Example:
            >>> GatewayError("no", status=400, type="invalid_request_error").payload()["error"]
            {'message': 'no', 'type': 'invalid_request_error', 'param': None, 'code': None}
        """
        return error_body(self.message, self.type, self.openai_code, self.param)


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
    the caller (upstream messages `scrub`bed), a client that went away 499, anything
    else a 500 that shows no detail (it is in the log)."""
    if isinstance(exc, GatewayError):
        return exc.status, exc.payload()
    if isinstance(exc, ConnectionError | asyncio.CancelledError):
        return CLIENT_CLOSED, error_body("the client closed the connection", "client_closed")
    if not isinstance(exc, errors.ConduitError):
        return 500, error_body("the gateway failed on this request; see its log", "server_error")
    message = exc.message if isinstance(exc, errors.ValidationError) else scrub(exc.message)
    if isinstance(exc, errors.MissingDependencyError):
        # The gateway's setup lacks a package (an embedded model's): not the caller's
        # fault, and not a crash; the message holds the pip line that fixes it.
        return 503, error_body(message, "server_error", "missing_dependency")
    if isinstance(exc, errors.BudgetExceededError):
        # OpenAI answers a spent quota with 429 insufficient_quota.
        return 429, error_body(message, "insufficient_quota", "budget_exceeded")
    if isinstance(exc, errors.ContextWindowExceededError):
        return 400, error_body(message, "invalid_request_error", "context_length_exceeded")
    if isinstance(exc, errors.ContentFilterError):
        return 400, error_body(message, "invalid_request_error", "content_filter")
    if isinstance(exc, errors.ValidationError):
        return 400, error_body(message, "invalid_request_error")
    if isinstance(exc, errors.RateLimitError):
        return 429, error_body(message, "rate_limit_error", "rate_limit_exceeded")
    if isinstance(exc, errors.TimeoutError):
        return 504, error_body(message, "timeout", "upstream_timeout")
    if isinstance(exc, errors.APIConnectionError):
        return 502, error_body(message, "api_error", "upstream_unreachable")
    if isinstance(exc, errors.AuthenticationError | errors.PermissionDeniedError):
        return 502, error_body(
            "the gateway's upstream refused its credentials; tell the gateway's operator",
            "api_error",
            "upstream_auth",
        )
    status = exc.status_code
    if status is not None and status in _PASSED_THROUGH:
        return status, error_body(message, _TYPES[status])
    if isinstance(exc, errors.ProviderError):
        return 502, error_body(message, "api_error", "upstream_error")
    return 500, error_body(message, "server_error")


def as_gateway_error(exc: BaseException) -> GatewayError:
    """`exc` as the `GatewayError` the gateway answers it with (its status, type, code
    and scrubbed message; `Retry-After` kept), so whatever records the request records
    the status the client got.

    Example:
        >>> as_gateway_error(errors.APIConnectionError("refused by 10.0.0.7:80")).status
        502
    """
    if isinstance(exc, GatewayError):
        return exc
    status, body = error_for(exc)
    error = body["error"]
    found = GatewayError(
        error["message"],
        status=status,
        type=error["type"],
        code=error["code"],
        param=error["param"],
        retry_after=getattr(exc, "retry_after", None),
    )
    found.__cause__ = exc
    return found
