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
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from conduit import errors
from conduit.api.resolve import model_info
from conduit.catalog import model_info as catalog_model_info
from conduit.core.protocols import BaseChatModel, ModelInfo
from conduit.interceptors.rate_limit import estimate_tokens
from conduit.providers.fake import MockModel
from conduit.schema import (
    ChatOptions,
    Message,
    Response,
    StreamEvent,
    TextBlock,
    Usage,
    events_from_response,
)

if TYPE_CHECKING:
    from conduit.routing import Deployment, Router

__all__ = [
    "MOCK_USAGE",
    "MockFallbacks",
    "MockResponseModel",
    "MockTimeout",
    "RoutedMock",
    "mock_error",
]

MOCK_USAGE = Usage(input_tokens=10, output_tokens=20)
"""The usage LiteLLM reports for a mock answer (10 prompt, 20 completion tokens)."""

# LiteLLM's mock strings that raise its errors instead of answering.
_MOCK_ERRORS: dict[str, tuple[type[errors.ConduitError], str, int]] = {
    "litellm.RateLimitError": (errors.RateLimitError, "this is a mock rate limit error", 429),
    "litellm.ContextWindowExceededError": (
        errors.ContextWindowExceededError,
        "this is a mock context window exceeded error",
        400,
    ),
    "litellm.InternalServerError": (
        errors.ServerError,
        "this is a mock internal server error",
        500,
    ),
}


class MockTimeout:
    """LiteLLM's `mock_timeout=True` as a `mock_response`: the mock waits `seconds` (the
    call's `timeout`) and then times out.

    Example:
        >>> import asyncio
        >>> model = MockResponseModel(MockTimeout(0.0), "openai/gpt-4o-mini")
        >>> try:
        ...     asyncio.run(model.chat("Hi"))
        ... except errors.TimeoutError as exc:
        ...     print(type(exc).__name__)
        TimeoutError
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __repr__(self) -> str:
        return f"MockTimeout({self.seconds})"


def mock_error(reply: Any, provider: str | None = None) -> BaseException | None:
    """The error a `mock_response` stands for, as a Conduit error (so routers retry and
    fall back on it as on a real failure), or None when it is an answer: an exception
    (a Conduit or LiteLLM one as it is; any other is a server error with its
    `status_code` or 500), or one of LiteLLM's strings `"litellm.RateLimitError"`,
    `"litellm.ContextWindowExceededError"`, `"litellm.InternalServerError"`.

    Example:
        >>> type(mock_error(Exception("boom"))).__name__, mock_error("Hi") is None
        ('ServerError', True)
        >>> type(mock_error("litellm.RateLimitError")).__name__
        'RateLimitError'
    """
    if isinstance(reply, BaseException):
        if isinstance(reply, errors.ConduitError):
            with contextlib.suppress(Exception):  # a fresh copy: no piled-up notes
                reply = copy.copy(reply)
            return reply  # type: ignore[no-any-return]
        if not isinstance(reply, Exception):
            return reply
        status = getattr(reply, "status_code", None)
        return errors.ServerError(
            str(reply) or type(reply).__name__,
            provider=provider,
            status_code=status if isinstance(status, int) else 500,
        )
    if isinstance(reply, str) and reply in _MOCK_ERRORS:
        cls, text, status = _MOCK_ERRORS[reply]
        return cls(text, provider=provider, status_code=status)
    return None


def _facts(ref: str) -> ModelInfo:
    try:
        return model_info(ref)
    except errors.ConduitError:  # a LiteLLM provider Conduit cannot call: catalog facts
        return catalog_model_info(ref)


class MockResponseModel(BaseChatModel):
    """Answers `reply` (text; or raises the error it stands for, see `mock_error`) as
    the model `ref` would: its catalog facts and prices, LiteLLM's mock usage (10 prompt
    and 20 completion tokens; no more completion tokens than `max_tokens`).

    Example:
        >>> MockResponseModel(errors.ServerError("down"), "fake/echo").model_info.ref
        'fake/echo'
    """

    def __init__(self, reply: Any, ref: str) -> None:
        self.reply = reply
        self._info = _facts(ref)

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    async def _chat(self, messages: list[Message], options: ChatOptions) -> Response:
        if isinstance(self.reply, MockTimeout):  # the fake provider waits, then fails
            seconds = self.reply.seconds
            timed_out = errors.TimeoutError(
                f"mock timeout after {seconds} seconds", provider=self._info.provider
            )
            return await MockModel([timed_out], delay=seconds).chat(messages, options)
        failure = mock_error(self.reply, self._info.provider)
        if failure is not None:
            raise failure
        info = self._info
        usage = MOCK_USAGE.model_copy()
        if options.max_tokens is not None and options.max_tokens < usage.output_tokens:
            # never more than the call allowed: a budget reserved for max_tokens holds
            usage = Usage(input_tokens=usage.input_tokens, output_tokens=options.max_tokens)
        return Response(
            id=f"chatcmpl-{uuid.uuid4()}",
            model=info.name,
            provider=info.provider,
            content=[TextBlock(text=str(self.reply))],
            stop_reason="end_turn",
            usage=usage,
            cost=info.prices.cost(usage) if info.prices is not None else None,
        )

    async def _stream(
        self, messages: list[Message], options: ChatOptions
    ) -> AsyncIterator[StreamEvent]:
        for event in events_from_response(await self._chat(messages, options)):
            yield event


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

    def __init__(
        self,
        router: Router,
        group: str,
        reply: str | BaseException,
        *,
        tags: Sequence[str] | None = None,
    ) -> None:
        self.router = router
        self.group = group
        self.reply = reply
        self.tags = tags

    @property
    def model_info(self) -> ModelInfo:
        return self.router.model(self.group).model_info

    async def _chat(self, messages: list[Message], options: ChatOptions) -> Response:
        async def attempt(deployment: Deployment) -> Response:
            return await MockResponseModel(self.reply, deployment.ref).chat(messages, options)

        tokens = estimate_tokens(messages, options)
        routed = await self.router.route(self.group, attempt, tokens=tokens, tags=self.tags)
        return routed.value

    async def _stream(
        self, messages: list[Message], options: ChatOptions
    ) -> AsyncIterator[StreamEvent]:
        for event in events_from_response(await self._chat(messages, options)):
            yield event


class MockFallbacks(BaseChatModel):
    """LiteLLM's `mock_testing_fallbacks=True` on a router group: every deployment of
    the group asked for fails with a server error (as LiteLLM's mock exception), so the
    router retries and falls back as on a real failure; deployments of the fallback
    groups answer for real.

    Example:
        >>> import asyncio
        >>> from conduit.routing import Router
        >>> router = Router({"a": ["fake/echo"], "b": ["fake/echo"]}, fallbacks={"a": ["b"]})
        >>> answer = asyncio.run(MockFallbacks(router, "a").chat("Hi"))
        >>> answer.text, answer.metadata["route"]["group"]
        ('Hi', 'b')
    """

    def __init__(self, router: Router, group: str, *, tags: Sequence[str] | None = None) -> None:
        self.router = router
        self.group = group
        self.tags = tags

    @property
    def model_info(self) -> ModelInfo:
        return self.router.model(self.group).model_info

    async def _chat(self, messages: list[Message], options: ChatOptions) -> Response:
        failing = {d.id for d in self.router.deployments(self.group)}

        async def attempt(deployment: Deployment) -> Response:
            if deployment.id in failing:
                raise errors.ServerError(
                    f"This is a mock exception for model={self.group}, to trigger a fallback.",
                    provider="router",
                    status_code=500,
                )
            return await deployment.chat_model.chat(messages, deployment.call_options(options))

        tokens = estimate_tokens(messages, options)
        routed = await self.router.route(self.group, attempt, tokens=tokens, tags=self.tags)
        return routed.value

    async def _stream(
        self, messages: list[Message], options: ChatOptions
    ) -> AsyncIterator[StreamEvent]:
        for event in events_from_response(await self._chat(messages, options)):
            yield event
