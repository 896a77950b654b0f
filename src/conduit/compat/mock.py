"""LiteLLM's `mock_response`: an answer given in advance instead of a call to the model.

`completion(model="openai/gpt-4o-mini", mock_response="Hi")` sends nothing, but is
otherwise the call it names: `MockResponseModel` answers with the given text (or raises
the given exception) as a `ChatModel` whose facts are the named model's (the catalog's
limits, capabilities and prices). So the answer is priced like a real one
(`Response.cost`), budgets reserve and settle for it, callbacks see it, and a router
picks a deployment for it, all by the same code as a real call. `routed_mock` does the
last: a per-call `mock_response` on a `Router` call.

Example:
    >>> import asyncio
    >>> model = MockResponseModel("Hello!", "openai/gpt-4o-mini")
    >>> answer = asyncio.run(model.chat("Hi"))
    >>> answer.text, answer.cost > 0
    ('Hello!', True)
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from conduit.api.resolve import model_info
from conduit.core.protocols import BaseChatModel, ModelInfo
from conduit.interceptors.rate_limit import estimate_tokens
from conduit.providers.fake import MockModel
from conduit.schema import ChatOptions, Message, Response, StreamEvent, events_from_response

if TYPE_CHECKING:
    from conduit.routing import Deployment, Router

__all__ = ["MockResponseModel", "RoutedMock"]


class MockResponseModel(BaseChatModel):
    """Answers `reply` (text; or an exception, raised afresh each call) as the model
    `ref` would: its catalog facts and prices.

    Example:
        >>> from conduit.errors import ServerError
        >>> MockResponseModel(ServerError("down"), "fake/echo").model_info.ref
        'fake/echo'
    """

    def __init__(self, reply: str | BaseException, ref: str) -> None:
        self.reply = reply
        self._info = model_info(ref)

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    def _answer_with(self) -> MockModel:
        reply = self.reply
        if isinstance(reply, BaseException):
            # A fresh copy each time: the one given would pile up tracebacks and notes.
            with contextlib.suppress(Exception):  # one that cannot be copied is reused
                reply = copy.copy(reply)
        # A new MockModel per call: it records its calls, and this model may live long.
        return MockModel([reply], name=self._info.name)

    async def _chat(self, messages: list[Message], options: ChatOptions) -> Response:
        return await self._answer_with().chat(messages, options)

    def _stream(self, messages: list[Message], options: ChatOptions) -> AsyncIterator[StreamEvent]:
        return self._answer_with().stream(messages, options)


class RoutedMock(BaseChatModel):
    """A per-call `mock_response` on a router group: the router picks a deployment as for
    a real call (strategy, limits, cooldowns, fallbacks) and the mock answers as that
    deployment's model (`MockResponseModel`).

    Example:
        >>> import asyncio
        >>> from conduit.routing import Router
        >>> router = Router({"chat": ["openai/gpt-4o-mini"]})
        >>> answer = asyncio.run(RoutedMock(router, "chat", "Hi").chat("Hello"))
        >>> answer.text, answer.metadata["route"]["model"]
        ('Hi', 'openai/gpt-4o-mini')
    """

    def __init__(self, router: Router, group: str, reply: str | BaseException) -> None:
        self.router = router
        self.group = group
        self.reply = reply

    @property
    def model_info(self) -> ModelInfo:
        return self.router.model(self.group).model_info

    async def _chat(self, messages: list[Message], options: ChatOptions) -> Response:
        async def attempt(deployment: Deployment) -> Response:
            return await MockResponseModel(self.reply, deployment.ref).chat(messages, options)

        tokens = estimate_tokens(messages, options)
        routed = await self.router.route(self.group, attempt, tokens=tokens)
        return routed.value

    async def _stream(
        self, messages: list[Message], options: ChatOptions
    ) -> AsyncIterator[StreamEvent]:
        for event in events_from_response(await self._chat(messages, options)):
            yield event
