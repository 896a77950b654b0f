"""The top-level functions: `model()`, `chat()`, `stream()`, `embed()` and their sync twins."""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from conduit.catalog import parse_model_ref
from conduit.core.protocols import ChatModel, Embedder, make_options
from conduit.core.sync import iterate_sync, run_sync
from conduit.errors import NotFoundError, ValidationError
from conduit.providers.registry import get_provider, load_class
from conduit.schema import ChatOptions, Embeddings, MessagesInput, Response, StreamEvent

__all__ = [
    "chat",
    "chat_sync",
    "embed",
    "embed_sync",
    "embedder",
    "model",
    "stream",
    "stream_sync",
]

_CACHE_SIZE = 32
_cache: OrderedDict[tuple[str, str, str | None, str | None], Any] = OrderedDict()


def _build(ref: str, kind: str, config: dict[str, Any]) -> Any:
    parsed = parse_model_ref(ref)
    spec = get_provider(parsed.provider)
    path = spec.chat if kind == "chat" else spec.embed
    if path is None:
        raise NotFoundError(f"provider {spec.name!r} has no {kind} models", provider=spec.name)
    factory = load_class(path)
    try:
        return (
            factory(parsed.name, provider=spec, **config)
            if _takes_provider(factory)
            else factory(parsed.name, **config)
        )
    except TypeError as exc:
        if "unexpected keyword argument" not in str(exc):
            raise
        # A misspelled setting (`api_kye=`) is bad input like any other.
        raise ValidationError(f"{ref}: {exc}") from None


def _takes_provider(factory: Any) -> bool:
    import inspect

    try:
        return "provider" in inspect.signature(factory).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without signatures
        return False


def _cached(ref: str, kind: str) -> Any:
    """Models built from bare strings are reused, so their connection pools are too.
    The key includes the provider's key and base-URL variables, so changing them takes effect."""
    parsed = parse_model_ref(ref)
    spec = get_provider(parsed.provider)
    key = (
        kind,
        str(parsed),
        os.environ.get(spec.key_env) if spec.key_env else None,
        os.environ.get(spec.base_url_env) if spec.base_url_env else None,
    )
    found = _cache.get(key)
    if found is not None:
        _cache.move_to_end(key)
        return found
    built = _build(ref, kind, {})
    _cache[key] = built
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return built


def model(ref: str, **config: Any) -> ChatModel:
    """Resolve `"provider/model"` to a chat model; `config` goes to the provider's class
    (`api_key=`, `base_url=`, `timeout=`, `max_retries=`, `transport=`, ...).

    Keys come from the provider's usual environment variable (`OPENAI_API_KEY`, ...);
    a missing key is an `AuthenticationError` naming it, raised here, before any request.

    Example:
        >>> m = model("openai/gpt-4o-mini", api_key="sk-test")
        >>> m.model_info.name
        'gpt-4o-mini'
    """
    built: ChatModel = _build(ref, "chat", config)
    return built


def embedder(ref: str, **config: Any) -> Embedder:
    """Resolve `"provider/model"` to an embedder.

    Example:
        >>> embedder("fake/hash").model_info.provider
        'fake'
    """
    built: Embedder = _build(ref, "embed", config)
    return built


def _chat_model(target: str | ChatModel) -> ChatModel:
    if isinstance(target, str):
        found: ChatModel = _cached(target, "chat")
        return found
    if not hasattr(target, "chat"):
        raise ValidationError(
            f"expected a model string or a ChatModel, not {type(target).__name__}"
        )
    return target


def _embedder(target: str | Embedder) -> Embedder:
    if isinstance(target, str):
        found: Embedder = _cached(target, "embed")
        return found
    if not hasattr(target, "embed"):
        raise ValidationError(
            f"expected a model string or an Embedder, not {type(target).__name__}"
        )
    return target


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
    return await _chat_model(model).chat(messages, make_options(options, kwargs))


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
    return _chat_model(model).stream(messages, make_options(options, kwargs))


async def embed(model: str | Embedder, texts: str | Sequence[str]) -> Embeddings:
    """Embed one text or a list of texts.

    Example:
        >>> import asyncio
        >>> len(asyncio.run(embed("fake/hash", ["a", "b"])))
        2
    """
    return await _embedder(model).embed(texts)


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
