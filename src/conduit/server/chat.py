"""`POST /v1/chat/completions`: the key, its model, the body checked against OpenAI's
schema, the key's limits, then the forwarding path or the typed path, and the books.

In order, before anything goes upstream: the key (401; 503 when the key table is down
and the key was not seen lately), the key's requests in flight (429), the body (JSON
within `body_timeout`, 413 over `max_request_bytes`), the model group (404, 403), every
field (400 naming it), the key's requests and tokens per minute (429; the tokens are the
call's worst case: its input and its longest possible answer), and on the forwarding
path its budget (429 `insufficient_quota`; on the typed path the `Budget` interceptor
does the same). Every request that passed authentication is one ledger event with the
status its client got: 499 when the client went away, never 500.

- Forwarding (`conduit.server.forward`): groups whose deployments all speak OpenAI's
  wire format get the body as it came, routed by `Router.route`; the books close before
  the stream's last event.
- Typed: any other group, through `with_interceptors(ServedModel(router.model(group)),
  [RecordUsage(recorder), Budget(spend, key limits)])`.

Example:
    >>> ChatRoute.__name__
    'ChatRoute'
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiohttp import web

from conduit.errors import ConduitError
from conduit.interceptors import Budget, with_interceptors
from conduit.schema import Usage
from conduit.server.errors import CLIENT_CLOSED, GatewayError
from conduit.server.fields import CHAT_FIELDS, passed_on
from conduit.server.forward import open_stream, openai_model, relay_forwarded, send_json
from conduit.server.keys import spend_limits
from conduit.server.openai_wire import (
    ChatCall,
    ChunkEncoder,
    check_chat,
    response_json,
    to_conduit,
)
from conduit.server.passthrough import renamed
from conduit.server.responses import JSON, error_response, failure_response, json_response
from conduit.server.stream import Relayed, relay
from conduit.server.usage import Call, ServedModel

if TYPE_CHECKING:
    from conduit.routing import Deployment
    from conduit.server.app import Gateway
    from conduit.server.keys import Admission

__all__ = ["CHAT_ROUTE", "ChatRoute"]

CHAT_ROUTE = "/v1/chat/completions"


class ChatRoute:
    """The chat route of `gateway` (see the module's text)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """`POST /v1/chat/completions` (JSON, or SSE with `"stream": true`)."""
        gw = self.gateway
        try:
            key = await gw.guard.authenticate(request.headers.get("Authorization"))
        except GatewayError as exc:
            gw.metrics.observe(CHAT_ROUTE, "", exc.status, 0.0)
            return error_response(exc)
        call = Call(key, CHAT_ROUTE)
        admission: Admission | None = None
        occupied = False
        gw.metrics.in_flight += 1
        try:
            occupied = gw.guard.occupy(key)
            body = await gw.read_json(request)
            gw.pick_group(body, call)
            passed = passed_on(body, CHAT_FIELDS)
            checked = check_chat(body)
            call.user = checked.user
            longest = gw.books.longest_answer(call.model, checked.max_tokens)
            admission = await gw.guard.admit(key, checked.input_tokens + longest)
            if gw.forwards(call.model):
                return await self._forward(request, call, body, passed, checked, admission)
            return await self._typed(request, call, body, checked, longest)
        except asyncio.CancelledError:
            call.status = CLIENT_CLOSED  # the client went away
            raise
        except ConnectionError:
            call.status = CLIENT_CLOSED  # it went away while the answer was written
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

    async def _typed(
        self,
        request: web.Request,
        call: Call,
        body: dict[str, Any],
        checked: ChatCall,
        longest: int,
    ) -> web.StreamResponse:
        """Any deployment: the body as Conduit's messages and options, through the
        group's routed model wrapped in the spine's interceptors, and back."""
        gw = self.gateway
        # The request's id labels the event `RecordUsage` writes, as `Call.event` would.
        messages, options = to_conduit(body, {**call.labels(), "id": call.id})
        if checked.max_tokens is None and gw.config.default_max_tokens is not None:
            options = options.model_copy(update={"max_tokens": gw.config.default_max_tokens})
        served = ServedModel(gw.router.model(call.model), call.model)
        chain: list[object] = [gw.record]
        limits = spend_limits(call.key)
        if limits:
            budget = gw.books.budget(call.model)
            chain.append(Budget(gw.spend, limits, prices=budget.prices, max_output_tokens=longest))
        model = with_interceptors(served, chain)
        call.recorded = True  # from here on, RecordUsage writes the request's event
        if not checked.stream:
            answer = await model.chat(messages, options)
            call.provider = served.model_info.provider
            call.usage, call.cost, call.status = answer.usage, answer.cost, 200
            return json_response(response_json(answer, call.model))
        events = model.stream(messages, options)
        try:
            first = await anext(events)
        except BaseException:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
            raise
        encoder = ChunkEncoder(call.model, include_usage=checked.include_usage)
        relayed = Relayed()
        try:
            return await relay(request, first, events, encoder, relayed)
        finally:
            call.status = relayed.status
            call.provider = served.model_info.provider
            done = encoder.response
            call.usage = encoder.usage or Usage()
            call.cost = None if done is None else done.cost

    async def _forward(
        self,
        request: web.Request,
        call: Call,
        body: dict[str, Any],
        passed: dict[str, Any],
        checked: ChatCall,
        admission: Admission | None,
    ) -> web.StreamResponse:
        """OpenAI-wire deployments: the body as it came, routed by the core router, paid
        for with the same spend store, buckets and recorder as the typed path."""
        gw = self.gateway
        stream = checked.stream
        payload = {"messages": body["messages"], **passed}
        if not stream:
            payload.pop("stream_options", None)
        ceiling = gw.config.default_max_tokens
        if checked.max_tokens is None and ceiling is not None:
            payload["max_tokens"] = ceiling
        longest = gw.books.longest_answer(call.model, checked.max_tokens)
        await gw.books.reserve(call, checked.input_tokens, longest)

        async def attempt(deployment: Deployment) -> Any:
            model = openai_model(deployment)
            if stream:
                return await open_stream(model, payload)
            return await send_json(model, payload)

        estimate = checked.input_tokens + longest
        routed = call.routed = await gw.router.route(call.model, attempt, tokens=estimate)
        deployment = routed.deployment
        call.provider = deployment.ref.partition("/")[0]
        if not stream:
            raw, call.usage = routed.value
            call.cost = deployment.cost(call.usage)
            call.status, call.paid = 200, True
            return web.Response(body=renamed(raw, call.model), content_type=JSON)
        relayed = Relayed()

        def account() -> None:
            # What was delivered is paid for, however the stream ended.
            call.status, call.paid = relayed.status, True
            call.usage = relayed.delivered(checked.input_tokens)
            call.cost = deployment.cost(call.usage)
            if isinstance(relayed.error, ConduitError):
                call.broke = (deployment, relayed.error)

        async def close_books() -> None:
            account()
            await gw.books.finish(call, admission)

        try:
            return await relay_forwarded(
                request,
                routed.value,
                model=call.model,
                wants_usage=checked.include_usage,
                relayed=relayed,
                before_done=close_books,
            )
        finally:
            if not call.closed:
                account()
