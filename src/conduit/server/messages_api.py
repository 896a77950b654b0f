"""`POST /v1/messages` and `POST /v1/messages/count_tokens`: Anthropic's Messages API,
served by any model group (`conduit.server.anthropic_wire` translates, the typed path
of `conduit.server.faces` does the rest, with the key's limits, budget and usage as on
`/v1/chat/completions`).

The key comes in `x-api-key` (as Anthropic's SDK sends it) or `Authorization: Bearer`;
errors are in Anthropic's shape (`{"type": "error", "error": {"type", "message"}}`).
`count_tokens` counts the input for the group's first deployment (exact for OpenAI and
local models, an estimate otherwise, as `conduit.count_tokens`); it calls no model and
is not a ledger event.

Example:
    >>> MessagesRoute.route
    '/v1/messages'
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiohttp import web

from conduit import _json
from conduit.api import count_tokens
from conduit.server.anthropic_wire import MessagesEncoder, anthropic_error, message_json, to_face
from conduit.server.faces import FaceCall, FaceEncoder, FaceRoute
from conduit.server.responses import error_response, json_response
from conduit.server.usage import Call

if TYPE_CHECKING:
    from conduit.schema import Response

__all__ = ["COUNT_ROUTE", "MESSAGES_ROUTE", "MessagesRoute"]

MESSAGES_ROUTE = "/v1/messages"
COUNT_ROUTE = "/v1/messages/count_tokens"


def _authorization(request: web.Request) -> str | None:
    key = request.headers.get("x-api-key")
    return f"Bearer {key}" if key else request.headers.get("Authorization")


def _error(exc: BaseException) -> web.Response:
    # The chat route's answer (its status and headers: Retry-After, x-should-retry),
    # with Anthropic's body.
    response = error_response(exc)
    response.body = _json.dumps(anthropic_error(exc)[1])
    return response


class MessagesRoute(FaceRoute):
    """`POST /v1/messages` (JSON, or Anthropic's events with `"stream": true`), and
    `count_tokens` (see the module's text)."""

    route = MESSAGES_ROUTE

    def authorization(self, request: web.Request) -> str | None:
        """`x-api-key`, else `Authorization`."""
        return _authorization(request)

    def error_response(self, exc: BaseException) -> web.Response:
        """`exc` in Anthropic's error shape."""
        return _error(exc)

    async def parse(self, body: dict[str, Any], call: Call) -> FaceCall:
        """The Messages body (`conduit.server.anthropic_wire.to_face`)."""
        return to_face(body)

    def answer(self, response: Response, face: FaceCall, call: Call) -> dict[str, Any]:
        """A `message` object."""
        return message_json(response, call.model)

    def encoder(self, face: FaceCall, call: Call) -> FaceEncoder:
        """Anthropic's stream events."""
        return MessagesEncoder(call.model, input_tokens=face.input_tokens)

    async def count(self, request: web.Request) -> web.Response:
        """`POST /v1/messages/count_tokens`: `{"input_tokens": n}`."""
        gw = self.gateway
        try:
            key = await gw.guard.authenticate(_authorization(request))
            body = await gw.read_json(request)
            call = Call(key, COUNT_ROUTE)
            gw.pick_group(body, call)
            face = to_face({**body, "max_tokens": 1})  # count_tokens takes no max_tokens
            deployment = gw.router.deployments(call.model)[0]
            found = await asyncio.to_thread(
                count_tokens,
                deployment.model,
                face.messages,
                tools=face.options.tools,
                tool_choice=face.options.tool_choice,
            )
        except Exception as exc:
            return _error(exc)
        return json_response({"input_tokens": found})
