"""`POST /v1/responses`, `GET /v1/responses/{id}` and `DELETE /v1/responses/{id}`:
OpenAI's Responses API, served by any model group (`conduit.server.responses_wire`
translates, the typed path of `conduit.server.faces` does the rest, with the key's
limits, budget and usage as on `/v1/chat/completions`).

State: a response made with `store` (the default) is kept in the gateway's store (a
`conduit.storage` `MessageStore` in the gateway's `database`: its SQLite file, or
PostgreSQL), with the conversation that led to it; `previous_response_id` continues
that conversation (its `instructions` are not carried over, as OpenAI does), and
`GET /v1/responses/{id}` reads it back. A response belongs to the key that made it:
another key gets 404.

Example:
    >>> ResponsesRoute.route
    '/v1/responses'
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiohttp import web

from conduit import _json
from conduit.server.errors import GatewayError
from conduit.server.faces import FaceCall, FaceEncoder, FaceRoute
from conduit.server.responses import error_response, json_response
from conduit.server.responses_stream import ResponsesEncoder
from conduit.server.responses_wire import (
    ResponsesCall,
    answer_message,
    check_responses,
    response_object,
)
from conduit.storage.history import ConversationNotFoundError

if TYPE_CHECKING:
    from conduit.schema import Message, Response
    from conduit.server.app import Gateway
    from conduit.server.usage import Call
    from conduit.storage.history import MessageStore

__all__ = ["RESPONSES_ROUTE", "RESPONSE_ROUTE", "ResponseStore", "ResponsesRoute"]

RESPONSES_ROUTE = "/v1/responses"
RESPONSE_ROUTE = "/v1/responses/{id}"


def _not_found(rid: str) -> GatewayError:
    return GatewayError(
        f"No response found with id {rid!r}.",
        status=404,
        type="invalid_request_error",
        param="previous_response_id",
        code="response_not_found",
    )


def open_message_store(database: str) -> MessageStore:
    """The `MessageStore` in `database` (a SQLite file or a `postgresql://` URL).

    Example:
        >>> open_message_store(":memory:")
        SQLiteMessageStore(':memory:')
    """
    if database.startswith(("postgresql://", "postgres://")):
        from conduit.storage.history_postgres import PostgresMessageStore

        return PostgresMessageStore(database)
    from conduit.storage.history_sqlite import SQLiteMessageStore

    return SQLiteMessageStore(database)


class ResponseStore:
    """Stored responses: each one's `response` object, its owner (a key id) and the
    conversation up to and including its answer, as one conversation of `messages`
    (a `MessageStore`) whose id is the response's.

    Example:
        >>> import asyncio
        >>> from conduit.schema import user
        >>> from conduit.storage.history_sqlite import SQLiteMessageStore
        >>> store = ResponseStore(SQLiteMessageStore(":memory:"))
        >>> asyncio.run(store.save("resp_1", "k1", {"id": "resp_1"}, [user("Hi")]))
        >>> asyncio.run(store.load("resp_1", "k1"))[1][0].text
        'Hi'
    """

    def __init__(self, messages: MessageStore) -> None:
        self.messages = messages

    async def save(
        self, rid: str, owner: str, response: dict[str, Any], conversation: list[Message]
    ) -> None:
        """Keep a response and its conversation."""
        title = _json.dumps({"owner": owner, "response": response}).decode()
        await self.messages.create(title, id=rid)
        if conversation:
            await self.messages.append(rid, *conversation)

    async def load(self, rid: str, owner: str) -> tuple[dict[str, Any], list[Message]]:
        """A response and its conversation (404 when there is none, or it is another
        key's)."""
        try:
            header = await self.messages.get(rid)
        except ConversationNotFoundError:
            raise _not_found(rid) from None
        kept = _json.loads(header.title)
        if not isinstance(kept, dict) or kept.get("owner") != owner:
            raise _not_found(rid)
        return kept["response"], await self.messages.messages(rid)

    async def delete(self, rid: str, owner: str) -> None:
        """Forget a response (404 when there is none, or it is another key's)."""
        await self.load(rid, owner)
        await self.messages.delete(rid)

    async def aclose(self) -> None:
        """Close the store."""
        await self.messages.aclose()


class ResponsesRoute(FaceRoute):
    """`POST /v1/responses` (JSON, or the Responses API's events with `"stream": true`)
    and `GET`/`DELETE /v1/responses/{id}` (see the module's text)."""

    route = RESPONSES_ROUTE

    def __init__(self, gateway: Gateway) -> None:
        super().__init__(gateway)
        self._store: ResponseStore | None = None
        self._opening = asyncio.Lock()

    async def store(self) -> ResponseStore:
        """The gateway's response store, opened on first use."""
        if self._store is None:
            async with self._opening:
                if self._store is None:
                    database = self.gateway.config.database
                    self._store = ResponseStore(open_message_store(database))
        return self._store

    async def aclose(self) -> None:
        """Close the response store (when it was opened)."""
        if self._store is not None:
            store, self._store = self._store, None
            await store.aclose()

    async def parse(self, body: dict[str, Any], call: Call) -> FaceCall:
        """The Responses body, after the previous response's conversation."""
        request = check_responses(body)
        history: list[Message] = []
        if request.previous is not None:
            store = await self.store()
            _, history = await store.load(request.previous, call.key.id)
        messages = [*history, *request.messages]
        if request.instructions is not None:
            from conduit.schema import Message

            messages.insert(0, Message(role="system", content=request.instructions))
        return FaceCall(
            messages,
            request.options,
            stream=request.stream,
            max_tokens=request.options.max_tokens,
            user=request.user,
            extra={"request": request, "history": history},
        )

    def answer(self, response: Response, face: FaceCall, call: Call) -> dict[str, Any]:
        """A `response` object."""
        request: ResponsesCall = face.extra["request"]
        return response_object(request, call.model, response)

    def encoder(self, face: FaceCall, call: Call) -> FaceEncoder:
        """The Responses API's stream events."""
        return ResponsesEncoder(face.extra["request"], call.model)

    async def completed(self, response: Response, face: FaceCall, call: Call) -> None:
        """Keep the response (unless `store` is false) before it is sent."""
        request: ResponsesCall = face.extra["request"]
        if not request.store:
            return
        conversation = [*face.extra["history"], *request.messages, answer_message(response)]
        store = await self.store()
        await store.save(
            request.id, call.key.id, response_object(request, call.model, response), conversation
        )

    async def _stored(self, request: web.Request, delete: bool) -> web.Response:
        gw = self.gateway
        rid = request.match_info["id"]
        try:
            key = await gw.guard.authenticate(request.headers.get("Authorization"))
            store = await self.store()
            if delete:
                await store.delete(rid, key.id)
                return json_response({"id": rid, "object": "response", "deleted": True})
            found, _ = await store.load(rid, key.id)
        except Exception as exc:
            if isinstance(exc, GatewayError) and exc.status == 404:
                exc.param = None
            return error_response(exc)
        return json_response(found)

    async def retrieve(self, request: web.Request) -> web.Response:
        """`GET /v1/responses/{id}`: a stored response."""
        return await self._stored(request, delete=False)

    async def delete(self, request: web.Request) -> web.Response:
        """`DELETE /v1/responses/{id}`: forget a stored response."""
        return await self._stored(request, delete=True)
