"""`POST /v1/embeddings`: routed by the core router over the group's embedders, with the
key's limits, budget and usage as for chats (`conduit.server.chat`).

Example:
    >>> EmbeddingsRoute.__name__
    'EmbeddingsRoute'
"""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING, Any

from aiohttp import web

from conduit.errors import ValidationError
from conduit.server.errors import CLIENT_CLOSED, GatewayError
from conduit.server.fields import EMBED_FIELDS, passed_on
from conduit.server.openai_wire import check_embeddings, embeddings_json
from conduit.server.responses import error_response, failure_response, json_response
from conduit.server.usage import Call

if TYPE_CHECKING:
    from conduit.routing import Deployment
    from conduit.server.app import Gateway
    from conduit.server.keys import Admission

__all__ = ["EMBED_ROUTE", "EmbeddingsRoute"]

EMBED_ROUTE = "/v1/embeddings"


class EmbeddingsRoute:
    """The embeddings route of `gateway`."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def handle(self, request: web.Request) -> web.Response:
        """`POST /v1/embeddings`."""
        gw = self.gateway
        try:
            key = await gw.guard.authenticate(request.headers.get("Authorization"))
        except GatewayError as exc:
            gw.metrics.observe(EMBED_ROUTE, "", exc.status, 0.0)
            return error_response(exc)
        call = Call(key, EMBED_ROUTE)
        admission: Admission | None = None
        occupied = False
        gw.metrics.in_flight += 1
        try:
            occupied = gw.guard.occupy(key)
            body = await gw.read_json(request)
            gw.pick_group(body, call)
            passed_on(body, EMBED_FIELDS | {"encoding_format"})
            checked = check_embeddings(body)
            call.user = checked.user
            tokens = math.ceil(sum(map(len, checked.texts)) / 4)
            admission = await gw.guard.admit(key, tokens)
            await gw.books.reserve(call, tokens, 1)

            async def attempt(deployment: Deployment) -> Any:
                embedder = deployment.embedder
                if checked.dimensions is not None:
                    from conduit.api import cached_embedder

                    if not isinstance(deployment.model, str):
                        raise ValidationError("this model group does not take 'dimensions'")
                    embedder = cached_embedder(
                        deployment.model, **deployment.connection, dimensions=checked.dimensions
                    )
                return await embedder.embed(checked.texts)

            routed = call.routed = await gw.router.route(call.model, attempt, tokens=tokens)
            found = routed.value
            call.provider = routed.deployment.ref.partition("/")[0]
            call.usage = found.usage
            call.cost = routed.deployment.cost(found.usage)
            call.status, call.paid = 200, True
            return json_response(embeddings_json(found, call.model, checked.encoding))
        except (asyncio.CancelledError, ConnectionError):
            call.status = CLIENT_CLOSED  # the client went away
            raise
        except web.HTTPException as exc:  # 413 from aiohttp: answered by the middleware
            call.status = exc.status
            raise
        except Exception as exc:
            call.status, answer = failure_response(exc, call.id)
            return answer
        finally:
            if occupied:
                gw.guard.vacate(key)
            await gw.books.finish(call, admission)
