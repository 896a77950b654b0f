"""`GET /v1/models/{id}`: one model group, as OpenAI's `model` object
(`client.models.retrieve(id)`) with the fields of Anthropic's too (`type`,
`display_name`, `created_at`: its SDK's `models.retrieve`, the key in `x-api-key` or
`Authorization`); 404 for a group this gateway does not have or the key may not call
(a key's scope does not reveal the groups outside it).

Example:
    >>> model_json("chat")["owned_by"], model_json("chat")["type"]
    ('conduit', 'model')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from conduit.server.errors import GatewayError
from conduit.server.responses import error_response, json_response

if TYPE_CHECKING:
    from conduit.server.app import Gateway

__all__ = ["MODEL_ROUTE", "ModelRoute", "model_json"]

MODEL_ROUTE = "/v1/models/{model:.+}"


def model_json(name: str) -> dict[str, Any]:
    """The `model` object of the group `name`."""
    return {
        "id": name,
        "object": "model",
        "created": 0,
        "owned_by": "conduit",
        "type": "model",
        "display_name": name,
        "created_at": "1970-01-01T00:00:00Z",
    }


class ModelRoute:
    """`GET /v1/models/{id}` of `gateway`.

    Example:
        >>> ModelRoute.__name__
        'ModelRoute'
    """

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def handle(self, request: web.Request) -> web.Response:
        """The group named in the path, or 404."""
        gw = self.gateway
        name = request.match_info["model"]
        try:
            given = request.headers.get("x-api-key")
            header = f"Bearer {given}" if given else request.headers.get("Authorization")
            key = await gw.guard.authenticate(header)
            if name not in gw.router.groups or not key.allows(name):
                raise GatewayError(
                    f"The model {name!r} does not exist on this gateway; see GET /v1/models.",
                    status=404,
                    type="invalid_request_error",
                    code="model_not_found",
                    param="model",
                )
        except GatewayError as exc:
            return error_response(exc)
        return json_response(model_json(name))
