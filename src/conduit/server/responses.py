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

import math
from typing import Any

from aiohttp import web

from conduit import _json
from conduit.errors import BudgetExceededError
from conduit.server.errors import error_for

__all__ = ["JSON", "error_response", "json_response"]

JSON = "application/json"


def json_response(data: Any, status: int = 200) -> web.Response:
    """`data` as a JSON answer."""
    return web.Response(body=_json.dumps(data), status=status, content_type=JSON)


def error_response(exc: BaseException) -> web.Response:
    """The answer to `exc` (`conduit.server.errors.error_for`), with its headers."""
    status, body = error_for(exc)
    response = json_response(body, status)
    retry = getattr(exc, "retry_after", None)
    if retry:
        response.headers["Retry-After"] = str(max(1, math.ceil(retry)))
    if isinstance(exc, BudgetExceededError) or isinstance(exc.__cause__, BudgetExceededError):
        # Retrying at once cannot help (OpenAI's and Anthropic's SDKs read this header).
        response.headers["x-should-retry"] = "false"
    return response
