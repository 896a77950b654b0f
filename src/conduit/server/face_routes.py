"""The routes of the APIs besides Chat Completions: `GET /v1/models/{id}`
(`conduit.server.models_api`), `POST /v1/messages` and `/v1/messages/count_tokens`
(`conduit.server.messages_api`), `POST /v1/responses` and `GET`/`DELETE
/v1/responses/{id}` (`conduit.server.responses_api`); each also without the `/v1`
prefix.

Example:
    >>> add_face_routes.__name__
    'add_face_routes'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conduit.server.messages_api import COUNT_ROUTE, MESSAGES_ROUTE, MessagesRoute
from conduit.server.models_api import MODEL_ROUTE, ModelRoute
from conduit.server.responses_api import RESPONSE_ROUTE, RESPONSES_ROUTE, ResponsesRoute

if TYPE_CHECKING:
    from aiohttp import web

    from conduit.server.app import Gateway

__all__ = ["add_face_routes"]


def add_face_routes(gateway: Gateway, app: web.Application) -> None:
    """Add the routes to `app` (see the module's text); the response store closes with
    the app."""
    messages = MessagesRoute(gateway)
    model = ModelRoute(gateway)
    responses = ResponsesRoute(gateway)

    async def close(app: web.Application) -> None:
        await responses.aclose()

    app.on_cleanup.append(close)
    router = app.router
    for prefix in ("/v1", ""):

        def at(route: str, prefix: str = prefix) -> str:
            return route.replace("/v1", prefix, 1)

        router.add_get(at(MODEL_ROUTE), model.handle)
        router.add_post(at(MESSAGES_ROUTE), messages.handle)
        router.add_post(at(COUNT_ROUTE), messages.count)
        router.add_post(at(RESPONSES_ROUTE), responses.handle)
        router.add_get(at(RESPONSE_ROUTE), responses.retrieve)
        router.add_delete(at(RESPONSE_ROUTE), responses.delete)
