"""The gateway's JSON answers: a body with a status, and an error as OpenAI sends it
(with `Retry-After` when the client may retry later, and `x-should-retry: false` when
retrying cannot help).

Example:
    >>> from conduit.server.errors import GatewayError
    >>> answer = error_response(GatewayError("slow down", status=429, type="rate_limit_error",
    ...                                      retry_after=1.5))
    >>> answer.status, answer.headers["Retry-After"]
    (429, '2')
"""

from __future__ import annotations

import logging
import math
from typing import Any

from aiohttp import web

from conduit import _json
from conduit.errors import BudgetExceededError
from conduit.server.errors import error_for

__all__ = ["JSON", "error_response", "failure_response", "json_response"]

JSON = "application/json"

_log = logging.getLogger("conduit.server")


def json_response(data: Any, status: int = 200) -> web.Response:
    """`data` as a JSON answer."""
    return web.Response(body=_json.dumps(data), status=status, content_type=JSON)


def error_response(exc: BaseException, error_id: str | None = None) -> web.Response:
    """The answer to `exc` (`conduit.server.errors.error_for`), with its headers; a 500
    names `error_id` (see `failure_response`)."""
    status, body = error_for(exc)
    if status == 500 and error_id:
        error = body["error"]
        error["message"] = f"{error['message']} (error id {error_id})"
        error["id"] = error_id
    response = json_response(body, status)
    retry = getattr(exc, "retry_after", None)
    if retry:
        response.headers["Retry-After"] = str(max(1, math.ceil(retry)))
    if isinstance(exc, BudgetExceededError) or isinstance(exc.__cause__, BudgetExceededError):
        # Retrying at once cannot help (OpenAI's and Anthropic's SDKs read this header).
        response.headers["x-should-retry"] = "false"
    return response


def failure_response(exc: BaseException, error_id: str) -> tuple[int, web.Response]:
    """The status and answer to a request that failed with `exc`. A 500 (the gateway's
    own failure, never an upstream's) is logged with its traceback under `error_id`, the
    request's id, and its body says the same id (`error.id`, and in the message), so
    an operator finds the exception from what the client saw, and the ledger row (whose
    id is the request's) from either.

    Example:
        >>> status, answer = failure_response(KeyError("x"), "req1")
        >>> status, b'"id":"req1"' in answer.body
        (500, True)
    """
    answer = error_response(exc, error_id)
    if answer.status == 500:
        _log.error("request %s failed (500)", error_id, exc_info=exc)
    return answer.status, answer
