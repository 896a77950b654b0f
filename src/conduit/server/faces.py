"""The typed path shared by the gateway's routes that speak another wire than Chat
Completions (`/v1/messages`, `/v1/responses`): each route translates its body into
Conduit `Message`s and `ChatOptions` (a `FaceCall`) and Conduit's answer back into its
own shapes; `FaceRoute.handle` does the rest, the same as the chat route's typed path
(`conduit.server.chat`): the key (401), its requests in flight (429), the body, the
model group (404, 403), the key's rpm/tpm (429, at the call's worst case), the group's
routed model wrapped in the spine's `RecordUsage` and `Budget` interceptors, and the
books (`conduit.server.books`: one ledger event per request, with the status its client
got, 499 when it went away).

Streams are server-sent events with an event name (`event: name` then `data: {json}`),
as Anthropic and OpenAI's Responses API send them, written by `relay_named`; an error
after the stream started goes in the stream, in the route's error shape.

Example:
    >>> named_event("ping", {"type": "ping"})
    b'event: ping\\ndata: {"type":"ping"}\\n\\n'
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from conduit import _json
from conduit.interceptors import Budget, with_interceptors
from conduit.schema import ChatOptions, Done, Message, Response, StreamEvent, Usage
from conduit.server.errors import CLIENT_CLOSED, GatewayError, error_for
from conduit.server.keys import spend_limits
from conduit.server.responses import error_response, json_response
from conduit.server.stream import CoalescingWriter, Relayed
from conduit.server.usage import Call, ServedModel

if TYPE_CHECKING:
    from conduit.server.app import Gateway
    from conduit.server.keys import Admission

__all__ = ["FaceCall", "FaceEncoder", "FaceRoute", "input_tokens", "named_event", "relay_named"]


def named_event(name: str, data: Any) -> bytes:
    """One server-sent event named `name`, carrying `data` as JSON."""
    return b"event: " + name.encode() + b"\ndata: " + _json.dumps(data) + b"\n\n"


def input_tokens(messages: list[Message]) -> int:
    """The estimate budgets and limits reserve for `messages`: characters / 4 of their
    text and tool-call arguments, as the chat route and `Budget` count.

    Example:
        >>> from conduit.schema import user
        >>> input_tokens([user("12345678")])
        2
    """
    chars = 0
    for message in messages:
        chars += len(message.text)
        for call in message.tool_calls:
            chars += len(call.function.raw_arguments)
    return math.ceil(chars / 4)


@dataclass(slots=True)
class FaceCall:
    """A request translated into Conduit's terms: its `messages` and `options`, whether
    it streams, the longest answer it allows (`max_tokens`, None: not said), whom it is
    for (`user`) and what the route keeps for its answer (`extra`).

    Example:
        >>> from conduit.schema import user
        >>> FaceCall([user("Hi")], ChatOptions()).input_tokens
        1
    """

    messages: list[Message]
    options: ChatOptions
    stream: bool = False
    max_tokens: int | None = None
    user: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def input_tokens(self) -> int:
        """The input's estimate (`input_tokens`)."""
        return input_tokens(self.messages)


class FaceEncoder(Protocol):
    """Stream events as one route's server-sent events."""

    def start(self) -> bytes:
        """The events that open the stream."""
        ...

    def encode(self, event: StreamEvent) -> bytes:
        """The events for one stream event (empty when it sends nothing)."""
        ...

    def error(self, exc: BaseException) -> bytes:
        """The event telling the caller the stream broke with `exc`."""
        ...


async def relay_named(
    request: web.Request,
    first: StreamEvent,
    events: AsyncIterator[StreamEvent],
    encoder: FaceEncoder,
    relayed: Relayed,
    on_done: Any = None,
) -> web.StreamResponse:
    """Send a typed stream (`first`, then the rest of `events`) as `encoder`'s events;
    `await on_done(response)` runs when the `Done` comes, before its events are sent.
    `relayed.status` says how it ended, as `conduit.server.stream.relay` does."""
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    status = 200
    try:
        await response.prepare(request)
        writer = CoalescingWriter(response)
        try:
            await writer.send(encoder.start())
            try:
                event: StreamEvent | None = first
                while event is not None:
                    if isinstance(event, Done) and on_done is not None:
                        await on_done(event.response)
                    data = encoder.encode(event)
                    if data:
                        await writer.send(data)
                    event = await anext(events, None)
            except (ConnectionError, asyncio.CancelledError):
                raise
            except Exception as exc:
                relayed.error = exc
                status = error_for(exc)[0]
                await writer.send(encoder.error(exc))
            await writer.close()
            relayed.status = status
        except BaseException:
            writer.cancel()
            raise
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
    await response.write_eof()
    return response


class FaceRoute:
    """One route of `gateway` on the typed path (see the module's text). A subclass
    sets `route` and translates: `parse` (the body as a `FaceCall`, 400 naming the
    field), `answer` (a `Response` in its shape), `encoder` (its stream events), and may
    change `authorization` (where the key comes from), `error_response` (its error
    shape) and `completed` (what to do with an answer before it is sent).

    Example:
        >>> FaceRoute.route
        ''
    """

    route = ""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    # -- what a route translates -----------------------------------------------------

    def authorization(self, request: web.Request) -> str | None:
        """The `Authorization` header the key is read from."""
        return request.headers.get("Authorization")

    def error_response(self, exc: BaseException) -> web.Response:
        """The answer to `exc` (OpenAI's error shape unless the route says otherwise)."""
        return error_response(exc)

    async def parse(self, body: dict[str, Any], call: Call) -> FaceCall:
        """The checked body as a `FaceCall`."""
        raise NotImplementedError

    def answer(self, response: Response, face: FaceCall, call: Call) -> dict[str, Any]:
        """`response` in the route's shape."""
        raise NotImplementedError

    def encoder(self, face: FaceCall, call: Call) -> FaceEncoder:
        """The encoder of the route's stream events."""
        raise NotImplementedError

    async def completed(self, response: Response, face: FaceCall, call: Call) -> None:
        """Runs with the answer before it is sent (nothing by default)."""

    # -- the rest, as on every route ---------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The route's handler."""
        gw = self.gateway
        try:
            key = await gw.guard.authenticate(self.authorization(request))
        except GatewayError as exc:
            gw.metrics.observe(self.route, "", exc.status, 0.0)
            return self.error_response(exc)
        call = Call(key, self.route)
        admission: Admission | None = None
        occupied = False
        gw.metrics.in_flight += 1
        try:
            occupied = gw.guard.occupy(key)
            body = await gw.read_json(request)
            gw.pick_group(body, call)
            face = await self.parse(body, call)
            call.user = face.user
            longest = gw.books.longest_answer(call.model, face.max_tokens)
            admission = await gw.guard.admit(key, face.input_tokens + longest)
            return await self._typed(request, call, face, longest)
        except (asyncio.CancelledError, ConnectionError):
            call.status = CLIENT_CLOSED  # the client went away
            raise
        except web.HTTPException as exc:  # 413 from aiohttp: answered by the middleware
            call.status = exc.status
            raise
        except Exception as exc:
            call.status = error_for(exc)[0]
            return self.error_response(exc)
        finally:
            if occupied:
                gw.guard.vacate(key)
            await gw.books.finish(call, admission)

    def _options(self, face: FaceCall, call: Call) -> ChatOptions:
        update: dict[str, Any] = {"extra": {**face.options.extra, "labels": call.labels()}}
        ceiling = self.gateway.config.default_max_tokens
        if face.options.max_tokens is None and ceiling is not None:
            update["max_tokens"] = ceiling
        return face.options.model_copy(update=update)

    async def _typed(
        self, request: web.Request, call: Call, face: FaceCall, longest: int
    ) -> web.StreamResponse:
        gw = self.gateway
        options = self._options(face, call)
        served = ServedModel(gw.router.model(call.model), call.model)
        chain: list[object] = [gw.record]
        limits = spend_limits(call.key)
        if limits:
            budget = gw.books.budget(call.model)
            chain.append(Budget(gw.spend, limits, prices=budget.prices, max_output_tokens=longest))
        model = with_interceptors(served, chain)
        call.recorded = True  # from here on, RecordUsage writes the request's event
        if not face.stream:
            answer = await model.chat(face.messages, options)
            call.provider = served.model_info.provider
            call.usage, call.cost = answer.usage, answer.cost
            await self.completed(answer, face, call)
            call.status = 200
            return json_response(self.answer(answer, face, call))
        events = model.stream(face.messages, options)
        try:
            first = await anext(events)
        except BaseException:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
            raise
        relayed = Relayed()
        done: list[Response] = []

        async def on_done(response: Response) -> None:
            done.append(response)
            await self.completed(response, face, call)

        try:
            return await relay_named(
                request, first, events, self.encoder(face, call), relayed, on_done
            )
        finally:
            call.status = relayed.status
            call.provider = served.model_info.provider
            call.usage = done[0].usage if done else Usage()
            call.cost = done[0].cost if done else None
