"""Test doubles that implement the real protocols: `MockModel`, `FunctionModel`, `HashEmbedder`.

Use them to test code built on Conduit without a network or a key.

Example:
    >>> import asyncio
    >>> model = MockModel(["first", "second"])
    >>> asyncio.run(model.chat("hi")).text, asyncio.run(model.chat("again")).text
    ('first', 'second')
    >>> [c.messages[-1].text for c in model.calls]
    ['hi', 'again']
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import math
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from conduit.core.protocols import BaseChatModel, BaseEmbedder, Capabilities, ModelInfo
from conduit.errors import ConduitError, NotFoundError, ValidationError
from conduit.schema import (
    ChatOptions,
    Done,
    Embeddings,
    Message,
    Response,
    ResponseAssembler,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
    events_from_response,
)

__all__ = [
    "FunctionModel",
    "HashEmbedder",
    "MockCall",
    "MockModel",
    "Reply",
    "fake_chat_model",
]

Reply: TypeAlias = str | Response | ToolCall | Sequence[ToolCall] | BaseException
"""What a fake may answer: text, a whole `Response`, tool call(s), or an exception to raise."""

_FAKE_CAPS = Capabilities(vision=True, audio=True)


@dataclass(frozen=True, slots=True)
class MockCall:
    """One recorded call: the messages and options the model received."""

    messages: list[Message]
    options: ChatOptions
    stream: bool


def _estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


def to_response(reply: Reply, *, model: str, messages: Sequence[Message] = ()) -> Response:
    """Turn a scripted reply into a `Response` (raising it when it is an exception)."""
    if isinstance(reply, BaseException):
        raise reply
    if isinstance(reply, Response):
        return reply.model_copy()  # each call its own answer: callers may fill in its cost
    prompt = sum(_estimate_tokens(m.text) for m in messages)
    if isinstance(reply, str):
        return Response(
            id="fake-1",
            model=model,
            provider="fake",
            content=[TextBlock(text=reply)] if reply else [],
            stop_reason="end_turn",
            usage=Usage(input_tokens=prompt, output_tokens=_estimate_tokens(reply)),
        )
    # Anything else must be one ToolCall or a non-empty list of them; checked here so a
    # wrong script (a dict, a number, an exception class) fails with a clear message.
    calls: list[Any] = [reply] if isinstance(reply, ToolCall) else []
    if isinstance(reply, list | tuple):
        calls = list(reply)
    if not calls or not all(isinstance(c, ToolCall) for c in calls):
        raise ValidationError(
            f"a fake reply must be a str, Response, ToolCall(s) or exception, not {reply!r}"
        )
    return Response(
        id="fake-1",
        model=model,
        provider="fake",
        tool_calls=calls,
        stop_reason="tool_use",
        usage=Usage(
            input_tokens=prompt,
            output_tokens=sum(_estimate_tokens(c.function.raw_arguments) for c in calls),
        ),
    )


class _FakeBase(BaseChatModel):
    def __init__(self, name: str, delay: float) -> None:
        self._info = ModelInfo(provider="fake", name=name, capabilities=_FAKE_CAPS)
        self.delay = delay
        self.calls: list[MockCall] = []

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    async def _reply(self, messages: list[Message], options: ChatOptions) -> Response:
        raise NotImplementedError

    async def _chat(self, messages: list[Message], options: ChatOptions) -> Response:
        self.calls.append(MockCall(messages, options, stream=False))
        if self.delay:
            await asyncio.sleep(self.delay)
        return await self._reply(messages, options)

    async def _stream(
        self, messages: list[Message], options: ChatOptions
    ) -> AsyncIterator[StreamEvent]:
        self.calls.append(MockCall(messages, options, stream=True))
        response = await self._reply(messages, options)
        for event in events_from_response(response):
            if self.delay:
                await asyncio.sleep(self.delay)
            yield event


class MockModel(_FakeBase):
    """Answers with scripted replies, in order; records every call in `calls`.

    A reply may be text, a `Response`, a `ToolCall` or a list of them, or an exception
    (raised instead of answering). `delay` seconds pass before each answer (and between
    stream events). With `repeat_last=True` the last reply repeats forever; otherwise
    running out is an error.

    Example:
        >>> import asyncio
        >>> from conduit.errors import RateLimitError
        >>> model = MockModel([RateLimitError("slow down"), "ok"])
        >>> try:
        ...     asyncio.run(model.chat("hi"))
        ... except RateLimitError:
        ...     print("raised")
        raised
        >>> asyncio.run(model.chat("hi")).text
        'ok'
    """

    def __init__(
        self,
        replies: Sequence[Reply] = ("ok",),
        *,
        delay: float = 0.0,
        repeat_last: bool = False,
        name: str = "mock",
    ) -> None:
        super().__init__(name, delay)
        if isinstance(replies, str | BaseException | Response | ToolCall):
            replies = [replies]
        self.replies: list[Reply] = list(replies)
        self.repeat_last = repeat_last
        self._next = 0

    async def _reply(self, messages: list[Message], options: ChatOptions) -> Response:
        if self._next >= len(self.replies):
            if not (self.repeat_last and self.replies):
                raise ConduitError(
                    f"MockModel ran out of replies after {len(self.replies)} call(s); "
                    "script more replies or pass repeat_last=True"
                )
            reply = self.replies[-1]
        else:
            reply = self.replies[self._next]
            self._next += 1
        return to_response(reply, model=self._info.name, messages=messages)


ReplyFunction = Callable[[list[Message], ChatOptions], Reply | Awaitable[Reply]]
StreamFunction = Callable[[list[Message], ChatOptions], AsyncIterator[str | StreamEvent]]


class FunctionModel(_FakeBase):
    """A model whose answers come from your function: `fn(messages, options) -> reply`.

    `fn` may be sync or async and may return anything `MockModel` accepts, tool calls
    included. Pass `stream_fn` (an async generator of text pieces or events) to control
    streaming exactly; without it, streams replay `fn`'s answer word by word.

    Example:
        >>> import asyncio
        >>> echo = FunctionModel(lambda messages, options: messages[-1].text.upper())
        >>> asyncio.run(echo.chat("hello")).text
        'HELLO'
    """

    def __init__(
        self,
        fn: ReplyFunction,
        *,
        stream_fn: StreamFunction | None = None,
        delay: float = 0.0,
        name: str = "function",
    ) -> None:
        super().__init__(name, delay)
        self.fn = fn
        self.stream_fn = stream_fn

    async def _reply(self, messages: list[Message], options: ChatOptions) -> Response:
        result = self.fn(messages, options)
        if inspect.isawaitable(result):
            result = await result
        return to_response(result, model=self._info.name, messages=messages)

    async def _stream(
        self, messages: list[Message], options: ChatOptions
    ) -> AsyncIterator[StreamEvent]:
        if self.stream_fn is None:
            async for replayed in super()._stream(messages, options):
                yield replayed
            return
        self.calls.append(MockCall(messages, options, stream=True))
        assembler = ResponseAssembler(model=self._info.name, provider="fake", id="fake-1")
        items = self.stream_fn(messages, options)
        try:
            async for item in items:
                event: StreamEvent
                if isinstance(item, str):
                    event = TextDelta(text=item)
                elif isinstance(item, TextDelta | ToolCallDelta | UsageEvent | Done):
                    event = item
                else:
                    raise ValidationError(
                        f"stream_fn must yield str or stream events, not {type(item).__name__}"
                    )
                if self.delay:
                    await asyncio.sleep(self.delay)
                assembler.add(event)
                yield event
                if isinstance(event, Done):
                    return
        finally:
            # Close the user's generator now (on early exit too), not whenever GC runs.
            aclose = getattr(items, "aclose", None)
            if aclose is not None:
                await aclose()
        yield Done(response=assembler.response())


def _echo(messages: list[Message], options: ChatOptions) -> str:
    return messages[-1].text


def fake_chat_model(name: str, **config: Any) -> BaseChatModel:
    """What `conduit.model("fake/NAME")` builds: `fake/echo` repeats the last message.

    Example:
        >>> import asyncio
        >>> asyncio.run(fake_chat_model("echo").chat("ping")).text
        'ping'
    """
    if name == "echo":
        return FunctionModel(_echo, name="echo", **config)
    raise NotFoundError(f"unknown fake model {name!r}; try 'fake/echo'", provider="fake")


class HashEmbedder(BaseEmbedder):
    """Deterministic, offline vectors from a hash of each text (no meaning, for tests).

    Example:
        >>> import asyncio
        >>> e = HashEmbedder(dimensions=4)
        >>> asyncio.run(e.embed("a")).vectors == asyncio.run(e.embed("a")).vectors
        True
    """

    def __init__(self, name: str = "hash", *, dimensions: int = 32) -> None:
        if dimensions < 1:
            raise ValidationError("dimensions must be at least 1")
        self.dimensions = dimensions
        self._info = ModelInfo(provider="fake", name=name)

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    async def _embed(self, texts: list[str]) -> Embeddings:
        vectors = []
        for text in texts:
            raw = b""
            counter = 0
            while len(raw) < self.dimensions * 4:
                raw += hashlib.sha256(f"{counter}:{text}".encode()).digest()
                counter += 1
            ints = struct.unpack(f"<{self.dimensions}I", raw[: self.dimensions * 4])
            vec = [(i / 2**31) - 1.0 for i in ints]
            norm = math.sqrt(sum(v * v for v in vec)) or 1.0
            vectors.append([v / norm for v in vec])
        tokens = sum(_estimate_tokens(t) for t in texts)
        return Embeddings(vectors=vectors, model=self._info.name, usage=Usage(input_tokens=tokens))
