"""The top-level calls: `chat()`, `stream()`, `embed()` and their sync twins.

Each takes a model object or a model string; a string goes through the one resolver and
its cache (`conduit.api.resolve.cached_model`), so repeated calls reuse one connection
pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from conduit.api.resolve import cached_embedder, cached_model
from conduit.core.protocols import ChatModel, Embedder, make_options
from conduit.core.sync import iterate_sync, run_sync
from conduit.schema import ChatOptions, Embeddings, MessagesInput, Response, StreamEvent

__all__ = ["chat", "chat_sync", "embed", "embed_sync", "stream", "stream_sync"]


async def chat(
    model: str | ChatModel,
    messages: MessagesInput,
    options: ChatOptions | None = None,
    **kwargs: Any,
) -> Response:
    """Ask a model; `messages` may be a string, a `Message`, dicts, or a list of them.

    Example:
        >>> import asyncio
        >>> asyncio.run(chat("fake/echo", "Hello")).text
        'Hello'
    """
    return await cached_model(model).chat(messages, make_options(options, kwargs))


def stream(
    model: str | ChatModel,
    messages: MessagesInput,
    options: ChatOptions | None = None,
    **kwargs: Any,
) -> AsyncIterator[StreamEvent]:
    """Stream an answer as events (`TextDelta`, `ToolCallDelta`, `UsageEvent`, then `Done`).

    Example:
        >>> import asyncio
        >>> async def main():
        ...     return "".join([e.text async for e in stream("fake/echo", "Hi there")
        ...                     if e.type == "text_delta"])
        >>> asyncio.run(main())
        'Hi there'
    """
    return cached_model(model).stream(messages, make_options(options, kwargs))


async def embed(model: str | Embedder, texts: str | Sequence[str]) -> Embeddings:
    """Embed one text or a list of texts.

    Example:
        >>> import asyncio
        >>> len(asyncio.run(embed("fake/hash", ["a", "b"])))
        2
    """
    return await cached_embedder(model).embed(texts)


def chat_sync(
    model: str | ChatModel,
    messages: MessagesInput,
    options: ChatOptions | None = None,
    **kwargs: Any,
) -> Response:
    """`chat` for synchronous code: scripts, threads, and inside Jupyter's running loop.

    Example:
        >>> chat_sync("fake/echo", "Hello").text
        'Hello'
    """
    return run_sync(chat(model, messages, options, **kwargs))


def stream_sync(
    model: str | ChatModel,
    messages: MessagesInput,
    options: ChatOptions | None = None,
    **kwargs: Any,
) -> Iterator[StreamEvent]:
    """`stream` for synchronous code.

    Example:
        >>> [e.type for e in stream_sync("fake/echo", "Hi")][-1]
        'done'
    """
    return iterate_sync(stream(model, messages, options, **kwargs))


def embed_sync(model: str | Embedder, texts: str | Sequence[str]) -> Embeddings:
    """`embed` for synchronous code.

    Example:
        >>> len(embed_sync("fake/hash", "a")[0])
        32
    """
    return run_sync(embed(model, texts))
