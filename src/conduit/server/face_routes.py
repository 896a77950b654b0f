"""The routes of the APIs besides Chat Completions: `GET /v1/models/{id}`
(`conduit.server.models_api`), `POST /v1/messages` and `/v1/messages/count_tokens`
(`conduit.server.messages_api`), `POST /v1/responses` and `GET /v1/responses/{id}`
(`conduit.server.responses_api`); each also without the `/v1` prefix.

Example:
    >>> add_face_routes.__name__
    'add_face_routes'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conduit.server.messages_api import COUNT_ROUTE, MESSAGES_ROUTE, MessagesRoute
from conduit.server.models_api import MODEL_ROUTE, ModelRoute

if TYPE_CHECKING:
    from aiohttp import web

    from conduit.server.app import Gateway

__all__ = ["add_face_routes"]


def add_face_routes(gateway: Gateway, router: web.UrlDispatcher) -> None:
    """Add the routes to `router` (see the module's text)."""
    messages = MessagesRoute(gateway)
    model = ModelRoute(gateway)
    for prefix in ("/v1", ""):
        router.add_get(MODEL_ROUTE.replace("/v1", prefix, 1), model.handle)
        router.add_post(MESSAGES_ROUTE.replace("/v1", prefix, 1), messages.handle)
        router.add_post(COUNT_ROUTE.replace("/v1", prefix, 1), messages.count)
