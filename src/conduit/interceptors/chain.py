"""The interceptor chain: enter, leave and error hooks around a model call.

An interceptor is any object with one or more of `enter(ctx)`, `leave(ctx)` and
`error(ctx)` (plain or `async` functions). For each call the chain runs every `enter` in
order, then the model, then every `leave` in reverse order. An `enter` that sets
`ctx.terminated` (usually through `ctx.terminate(response)`) skips the rest of the
`enter`s and the model: only the interceptors already entered leave. When an `enter`,
the model or a `leave` raises, the chain switches to the error stage: the entered
interceptors' `error` hooks run in reverse order with `ctx.error` set. One may handle it
by setting `ctx.error = None` (and `ctx.response`), after which the rest `leave` as
usual; one may call `ctx.retry()` to run everything after it again (that is how `Retry`
works); otherwise the error is raised to the caller. Cancellation and a stream closed by
its consumer also run the error hooks, but can be neither cleared nor retried.

Streams go through the same chain: `enter` runs when iteration starts, the model's stream
is opened and its first event fetched (a failure there is an error like any other, so it
can be retried), then events flow to the caller and `leave` runs after the model's `Done`,
before the caller gets it, so interceptors can put what they learned in its response. A
call that terminates early or recovers from an error with a response is replayed as events.

What interceptors add to `ctx.metadata` ends up in `Response.metadata`. Per-call settings
for interceptors travel in `ChatOptions.extra` (`extra={"cache": False}`); the chain takes
them out before the model sees the options, so they never reach a provider. One of them,
`labels`, says whom a call is for: `extra={"labels": {"key_id": "k1", "user": "alice",
"tags": ["nightly"], "conversation_id": "c1"}}`, read by budgets, limits and the usage
recorder (`ctx.labels`).

For a stream, `ctx.delivered` counts what reached the caller (text characters and the
last usage the model reported), so a stream closed early can still be paid for.

Example:
    >>> import asyncio
    >>> from conduit.providers.fake import MockModel
    >>> from conduit.schema import TextBlock
    >>> class Shout:
    ...     def enter(self, ctx):
    ...         ctx.metadata["shouted"] = True
    ...     def leave(self, ctx):
    ...         loud = [TextBlock(text=ctx.response.text.upper())]
    ...         ctx.response = ctx.response.model_copy(update={"content": loud})
    >>> model = with_interceptors(MockModel(["hello"]), [Shout()])
    >>> answer = asyncio.run(model.chat("hi"))
    >>> answer.text, answer.metadata
    ('HELLO', {'shouted': True})
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from conduit.core.policy import RetryPolicy, Timeout
from conduit.core.protocols import BaseChatModel, ChatModel, ModelInfo
from conduit.errors import ConduitError, TimeoutError, ValidationError
from conduit.schema import (
    ChatOptions,
    Done,
    Message,
    Response,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
    UsageEvent,
    events_from_response,
)

__all__ = [
    "Context",
    "Delivered",
    "Hook",
    "InterceptedModel",
    "Interceptor",
    "LABELS",
    "with_interceptors",
]

_T = TypeVar("_T")

Hook = Callable[["Context"], Awaitable[None] | None]
"""An interceptor hook: takes the context; a plain function or a coroutine function."""

# Keys of `ChatOptions.extra` addressed to interceptors (`extra={"cache": False}`): the
# chain removes them before the model sees the options, so they never reach a provider.
_INTERCEPTOR_OPTIONS = frozenset({"cache", "labels"})
LABELS = ("key_id", "user", "tags", "tag", "conversation_id")
"""The labels a call may carry (`extra={"labels": {...}}`): whom it is for."""


@dataclass(slots=True)
class Delivered:
    """What a stream delivered to its caller: characters of text and tool-call
    arguments, and the latest usage the model reported (None: none yet)."""

    chars: int = 0
    usage: Usage | None = None


@dataclass(slots=True, eq=False)
class Context:
    """One call as it passes through the chain.

    `model` is the wrapped model, `messages` and `options` what it will be sent (an
    `enter` may replace them), `response` its answer once there is one. `metadata` is
    copied into the answer's `Response.metadata`; `state` is for an interceptor's own
    values between its hooks (key it by the interceptor: `ctx.state[self]`). `deadline`
    (event-loop time) and `idle_timeout` (seconds between stream events) bound the model
    call; `Timeout` sets them. `streaming` is true once stream events flow to the caller:
    from then on the call can no longer be repeated.

    Example:
        >>> from conduit.providers.fake import MockModel
        >>> from conduit.schema import ChatOptions, user
        >>> ctx = Context(MockModel(), [user("hi")], ChatOptions())
        >>> ctx.terminate(Response(id="cached"))
        >>> ctx.terminated, ctx.response.id
        (True, 'cached')
    """

    model: ChatModel
    messages: list[Message]
    options: ChatOptions
    stream: bool = False
    response: Response | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    state: dict[Any, Any] = field(default_factory=dict)
    terminated: bool = False
    error: BaseException | None = None
    deadline: float | None = None
    idle_timeout: float | None = None
    streaming: bool = False
    delivered: Delivered = field(default_factory=Delivered)
    _rerun: bool = field(default=False, init=False, repr=False)
    _events: AsyncIterator[StreamEvent] | None = field(default=None, init=False, repr=False)
    _first: StreamEvent | None = field(default=None, init=False, repr=False)

    @property
    def ref(self) -> str:
        """The wrapped model's `provider/name`."""
        return self.model.model_info.ref

    @property
    def labels(self) -> dict[str, Any]:
        """Whom this call is for (`extra={"labels": {...}}`; see `LABELS`); empty when
        the caller said nothing.

        Example:
            >>> from conduit.providers.fake import MockModel
            >>> from conduit.schema import ChatOptions, user
            >>> options = ChatOptions(extra={"labels": {"user": "alice"}})
            >>> Context(MockModel(), [user("hi")], options).labels
            {'user': 'alice'}
        """
        found = self.options.extra.get("labels")
        return found if isinstance(found, dict) else {}

    def terminate(self, response: Response | None = None) -> None:
        """Skip the remaining `enter`s and the model; answer with `response` (when given)."""
        if response is not None:
            self.response = response
        self.terminated = True

    def retry(self) -> None:
        """From an `error` hook: run the interceptors after this one and the model again,
        once the hook returns. Too late once stream events have reached the caller."""
        if self.streaming:
            raise ConduitError(
                "too late to retry: the stream's events have already reached the caller"
            )
        self._rerun = True


class Interceptor:
    """Optional base class for interceptors: it documents the hooks. Any object with one
    or more of `enter`, `leave` and `error` is an interceptor; define only those you need.

    Example:
        >>> class CountCalls(Interceptor):
        ...     def __init__(self):
        ...         self.calls = 0
        ...     def enter(self, ctx):
        ...         self.calls += 1
        >>> CountCalls().calls
        0
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


@dataclass(frozen=True, slots=True)
class _Step:
    interceptor: object
    enter: Hook | None
    leave: Hook | None
    error: Hook | None


def _step(interceptor: object) -> _Step:
    if isinstance(interceptor, Timeout | RetryPolicy):
        # The policy values stand for their interceptors: one type for a timeout and one
        # for retrying, wherever they are given.
        from conduit.interceptors.retry import Retry
        from conduit.interceptors.timeout import TimeLimit

        interceptor = (
            TimeLimit(interceptor) if isinstance(interceptor, Timeout) else Retry(interceptor)
        )
    hooks = [getattr(interceptor, name, None) for name in ("enter", "leave", "error")]
    for name, hook in zip(("enter", "leave", "error"), hooks, strict=True):
        if hook is not None and not callable(hook):
            raise ValidationError(f"{interceptor!r}.{name} is not callable")
    if all(hook is None for hook in hooks):
        raise ValidationError(
            f"{interceptor!r} is not an interceptor: it has no enter, leave or error hook"
        )
    return _Step(interceptor, *hooks)


def _without_interceptor_options(options: ChatOptions) -> ChatOptions:
    extra = options.extra
    if not extra or _INTERCEPTOR_OPTIONS.isdisjoint(extra):
        return options
    return options.merged(extra={k: v for k, v in extra.items() if k not in _INTERCEPTOR_OPTIONS})


async def _limited(ctx: Context, awaitable: Awaitable[_T]) -> _T:
    """`awaitable` within the context's deadline and (for streams) idle timeout."""
    limit = ctx.deadline
    idle = False
    if ctx.stream and ctx.idle_timeout is not None:
        idle_limit = asyncio.get_running_loop().time() + ctx.idle_timeout
        if limit is None or idle_limit < limit:
            limit, idle = idle_limit, True
    try:
        async with asyncio.timeout_at(limit) as scope:
            return await awaitable
    except builtins.TimeoutError:
        if not scope.expired():
            raise
        what = (
            f"no stream event within {ctx.idle_timeout:g} s (idle timeout)"
            if idle
            else "no answer before the deadline (total timeout)"
        )
        raise TimeoutError(f"{ctx.ref}: {what}", provider=ctx.model.model_info.provider) from None


async def _aclose(events: AsyncIterator[StreamEvent]) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()


def _no_done() -> ConduitError:
    return ConduitError("the model's stream ended without a Done event")


class InterceptedModel(BaseChatModel):
    """A model wrapped in interceptors; itself a `ChatModel` (see `with_interceptors`).

    Example:
        >>> from conduit.providers.fake import MockModel
        >>> InterceptedModel(MockModel(), []).model_info.ref
        'fake/mock'
    """

    def __init__(self, model: ChatModel, interceptors: Iterable[object]) -> None:
        if not all(hasattr(model, name) for name in ("chat", "stream", "model_info")):
            raise ValidationError(f"expected a ChatModel, not {type(model).__name__}")
        chain = list(interceptors)
        if isinstance(model, InterceptedModel):
            # Wrapping a wrapped model: one flat chain, the new interceptors outermost.
            chain += model.interceptors
            model = model.model
        self._model = model
        self._steps = tuple(_step(i) for i in chain)

    @property
    def model(self) -> ChatModel:
        """The wrapped model."""
        return self._model

    @property
    def interceptors(self) -> tuple[object, ...]:
        """The interceptors, outermost first."""
        return tuple(step.interceptor for step in self._steps)

    @property
    def model_info(self) -> ModelInfo:
        return self._model.model_info

    # -- the stages --------------------------------------------------------------------

    async def _execute(self, ctx: Context) -> list[int] | None:
        """Enter, call the model, unwind. For a stream whose first event arrived, stop
        before unwinding and return the entered interceptors (they leave at the end)."""
        steps = self._steps
        stack: list[int] = []
        position = 0
        while True:
            while position < len(steps):
                enter = steps[position].enter
                if enter is not None:
                    try:
                        result = enter(ctx)
                        if result is not None:
                            await result
                    except BaseException as exc:
                        ctx.error = exc
                        break
                stack.append(position)
                position += 1
                if ctx.terminated:
                    break
            if ctx.error is None and not ctx.terminated:
                try:
                    if ctx.stream:
                        await self._open(ctx)
                        ctx.streaming = True
                        return stack
                    ctx.response = await self._call(ctx)
                except BaseException as exc:
                    ctx.error = exc
            rerun = await self._unwind(ctx, stack)
            if rerun is None:
                return None
            position = rerun + 1

    async def _unwind(self, ctx: Context, stack: list[int]) -> int | None:
        """Leave (or handle the error) in reverse order; the position to rerun from when
        an error hook asked for a retry."""
        steps = self._steps
        while stack:
            index = stack.pop()
            step = steps[index]
            error = ctx.error
            if error is None:
                if step.leave is not None:
                    try:
                        result = step.leave(ctx)
                        if result is not None:
                            await result
                    except BaseException as exc:
                        ctx.error = exc
                continue
            if step.error is None:
                continue
            try:
                result = step.error(ctx)
                if result is not None:
                    await result
            except BaseException as exc:
                ctx.error = exc
                ctx._rerun = False
            if not isinstance(error, Exception):
                # Cancelled, interrupted or closed: hooks may clean up, not carry on.
                ctx.error = error
                ctx._rerun = False
            elif ctx._rerun:
                ctx._rerun = False
                ctx.error = None
                ctx.response = None
                ctx.terminated = False
                stack.append(index)
                return index
        return None

    async def _call(self, ctx: Context) -> Response:
        call = self._model.chat(ctx.messages, _without_interceptor_options(ctx.options))
        if ctx.deadline is None:
            return await call
        return await _limited(ctx, call)

    async def _open(self, ctx: Context) -> None:
        events = self._model.stream(ctx.messages, _without_interceptor_options(ctx.options))
        try:
            if ctx.deadline is None and ctx.idle_timeout is None:
                first = await events.__anext__()
            else:
                first = await _limited(ctx, events.__anext__())
        except StopAsyncIteration:
            await _aclose(events)
            raise _no_done() from None
        except BaseException:
            await _aclose(events)
            raise
        ctx._events = events
        ctx._first = first

    @staticmethod
    def _result(ctx: Context) -> Response:
        error = ctx.error
        if error is not None:
            ctx.error = None  # no cycle through the traceback
            raise error
        response = ctx.response
        if response is None:
            raise ConduitError(
                "the interceptor chain ended without a response: an interceptor terminated "
                "the call or cleared an error without setting ctx.response"
            )
        if ctx.metadata:
            response = response.model_copy(
                update={"metadata": {**response.metadata, **ctx.metadata}}
            )
        return response

    # -- BaseChatModel -----------------------------------------------------------------

    async def _chat(self, messages: list[Message], options: ChatOptions) -> Response:
        ctx = Context(self._model, messages, options)
        await self._execute(ctx)
        return self._result(ctx)

    async def _stream(
        self, messages: list[Message], options: ChatOptions
    ) -> AsyncIterator[StreamEvent]:
        ctx = Context(self._model, messages, options, stream=True)
        stack = await self._execute(ctx)
        if stack is None:  # answered without streaming: replay it
            for replayed in events_from_response(self._result(ctx)):
                yield replayed
            return
        events, event = ctx._events, ctx._first
        ctx._events = ctx._first = None
        assert events is not None
        assert event is not None
        next_event = events.__anext__
        done: Done | None = None
        delivered = ctx.delivered
        try:
            while not isinstance(event, Done):
                if isinstance(event, TextDelta):
                    delivered.chars += len(event.text)
                elif isinstance(event, UsageEvent):
                    delivered.usage = event.usage
                elif isinstance(event, ToolCallDelta):
                    delivered.chars += len(event.arguments)
                yield event
                if ctx.deadline is None and ctx.idle_timeout is None:
                    event = await next_event()
                else:
                    event = await _limited(ctx, next_event())
            done = event
            ctx.response = done.response
        except StopAsyncIteration:
            ctx.error = _no_done()
        except BaseException as exc:  # the consumer's aclose() (GeneratorExit) included
            ctx.error = exc
        try:
            await _aclose(events)
        except Exception as exc:  # pragma: no cover - a misbehaving model's aclose
            ctx.error = ctx.error or exc
        await self._unwind(ctx, stack)
        response = self._result(ctx)
        yield done if done is not None and done.response is response else Done(response=response)

    async def aclose(self) -> None:
        """Close the wrapped model."""
        aclose = getattr(self._model, "aclose", None)
        if aclose is not None:
            await aclose()

    def __repr__(self) -> str:
        names = ", ".join(type(i).__name__ for i in self.interceptors)
        return f"InterceptedModel({self.model_info.ref!r}, [{names}])"


def with_interceptors(model: ChatModel, interceptors: Iterable[object]) -> InterceptedModel:
    """Wrap `model` in interceptors, outermost first; the result is a `ChatModel`, so it
    goes anywhere a model goes (and `chat()` and `stream()` both pass the chain).

    Example:
        >>> import asyncio
        >>> from conduit.providers.fake import MockModel
        >>> from conduit.interceptors import Retry
        >>> from conduit.errors import ServerError
        >>> model = with_interceptors(
        ...     MockModel([ServerError("busy"), "ok"]), [Retry(initial_delay=0)])
        >>> answer = asyncio.run(model.chat("hi"))
        >>> answer.text, answer.metadata["attempts"]
        ('ok', 2)
    """
    return InterceptedModel(model, interceptors)
