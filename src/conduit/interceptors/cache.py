"""Cache: answer repeated requests from a store instead of the model.

The key is a SHA-256 of the model's `provider/name`, the messages (a string and the same
text as a text block count as equal) and the options (`cache_key`). A hit terminates the
chain early: the model is not called, a stream is replayed as a stream,
`Response.metadata["cache_hit"]` is true (false on a miss) and `Response.cost` is 0.0.
Identical requests that arrive while one is on its way wait for it and share its answer,
so fifty at once make one
upstream call. Only answers are stored, never errors.

Backends (`conduit.storage`): `MemoryCache` (in-process LRU, the default), `SQLiteCache`
(persistent) and `RedisCache` (shared by processes). A failing backend is logged and
skipped: the call goes to the model as if there were no cache.

Bypass it for one call with `ChatOptions(extra={"cache": False})` (also as the keyword
`extra={"cache": False}` of `chat()`/`stream()`): neither read nor written. The flag is
taken out of the options before the model sees them, so no provider receives it.

Example:
    >>> import asyncio
    >>> from conduit.interceptors import with_interceptors
    >>> from conduit.providers.fake import MockModel
    >>> upstream = MockModel(["first", "second"])
    >>> model = with_interceptors(upstream, [Cache(ttl=3600)])
    >>> async def main():
    ...     a = await model.chat("hi")
    ...     b = await model.chat("hi")                          # from the cache
    ...     c = await model.chat("hi", extra={"cache": False})  # bypassed
    ...     return a.text, b.text, b.metadata["cache_hit"], c.text
    >>> asyncio.run(main())
    ('first', 'first', True, 'second')
    >>> len(upstream.calls)
    2
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from conduit.errors import ConduitError
from conduit.interceptors.chain import Context, Interceptor
from conduit.schema import ChatOptions, ContentBlock, Message, Response, TextBlock
from conduit.storage.cache import CacheBackend, MemoryCache, check_ttl

__all__ = ["Cache", "cache_key"]

_logger = logging.getLogger("conduit.interceptors.cache")

_KEY_VERSION = "conduit-cache-1"


def _block_key(block: ContentBlock) -> dict[str, Any]:
    if isinstance(block, TextBlock):  # the common case, without a model_dump
        return {"type": "text", "text": block.text}
    return block.model_dump(mode="json", exclude_none=True)


def _message_key(message: Message) -> dict[str, Any]:
    content = message.content
    data: dict[str, Any] = {"role": message.role}
    if isinstance(content, str):
        data["content"] = [{"type": "text", "text": content}] if content else []
    else:
        data["content"] = [_block_key(b) for b in content]
    if message.tool_calls:
        data["tool_calls"] = [c.model_dump(mode="json") for c in message.tool_calls]
    if message.tool_call_id is not None:
        data["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        data["name"] = message.name
    return data


def cache_key(ref: str, messages: Sequence[Message], options: ChatOptions) -> str:
    """The cache key of a request: hex SHA-256 of model, normalized messages and options
    (the `cache` flag in `options.extra` left out).

    Example:
        >>> from conduit.schema import Message, TextBlock, user
        >>> blocks = Message(role="user", content=[TextBlock(text="hi")])
        >>> a = cache_key("openai/gpt-4o-mini", [user("hi")], ChatOptions())
        >>> b = cache_key("openai/gpt-4o-mini", [blocks], ChatOptions())
        >>> a == b, a == cache_key("openai/gpt-4o", [user("hi")], ChatOptions())
        (True, False)
    """
    opts = options.model_dump(mode="json", exclude_none=True)
    opts["extra"] = {k: v for k, v in options.extra.items() if k != "cache"}
    payload = [_KEY_VERSION, ref, [_message_key(m) for m in messages], opts]
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _default_key(ctx: Context) -> str:
    return cache_key(ctx.ref, ctx.messages, ctx.options)


@dataclass(slots=True)
class _Flight:
    """A request on its way to the model; identical ones wait for its answer."""

    future: asyncio.Future[bytes | None]
    task: asyncio.Task[Any] | None


@dataclass(slots=True)
class _Pending:
    key: str
    flight: _Flight | None


class Cache(Interceptor):
    """Serve repeated requests from `store` (default: a new `MemoryCache`).

    `ttl` is how long an answer stays valid, in seconds (None: until evicted); `key`
    replaces `cache_key` as the way to compute a context's key.

    Example:
        >>> Cache(ttl=60).ttl
        60
    """

    __slots__ = ("_flights", "key", "store", "ttl")

    def __init__(
        self,
        store: CacheBackend | None = None,
        *,
        ttl: float | None = None,
        key: Callable[[Context], str] = _default_key,
    ) -> None:
        check_ttl(ttl)
        self.store: CacheBackend = MemoryCache() if store is None else store
        self.ttl = ttl
        self.key = key
        self._flights: dict[tuple[asyncio.AbstractEventLoop, str], _Flight] = {}

    async def enter(self, ctx: Context) -> None:
        if ctx.options.extra.get("cache", True) is False:
            return
        key = self.key(ctx)
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        while True:
            flight = self._flights.get((loop, key))
            if flight is None:
                break
            if flight.task is task:
                # This task leads that request itself (two identical streams read in
                # turn): waiting would wait forever. Go to the model without leading.
                ctx.state[self] = _Pending(key, None)
                ctx.metadata["cache_hit"] = False
                return
            data = await asyncio.shield(flight.future)
            if data is not None and self._hit(ctx, data):
                return
            # The leader failed: try again (someone else may lead by now, or we do).
        flight = _Flight(loop.create_future(), task)
        self._flights[(loop, key)] = flight
        try:
            data = await self.store.get(key)
        except Exception as exc:
            _logger.warning(
                "cache read failed (%s: %s); calling the model", type(exc).__name__, exc
            )
            data = None
        except BaseException:
            self._land(loop, key, flight, None)
            raise
        if data is not None and self._hit(ctx, data):
            self._land(loop, key, flight, data)
            return
        ctx.state[self] = _Pending(key, flight)
        ctx.metadata["cache_hit"] = False

    def _hit(self, ctx: Context, data: bytes) -> bool:
        try:
            response = Response.model_validate_json(data)
        except ConduitError as exc:
            _logger.warning("cache entry unreadable (%s); calling the model", exc)
            return False
        ctx.metadata["cache_hit"] = True
        response.cost = 0.0  # served from the cache: nothing was paid for it
        ctx.terminate(response)
        return True

    def _land(
        self, loop: asyncio.AbstractEventLoop, key: str, flight: _Flight, data: bytes | None
    ) -> None:
        if self._flights.get((loop, key)) is flight:
            del self._flights[(loop, key)]
        if not flight.future.done():
            flight.future.set_result(data)

    async def leave(self, ctx: Context) -> None:
        pending: _Pending | None = ctx.state.pop(self, None)
        if pending is None:
            return
        data: bytes | None = None
        try:
            if ctx.response is not None:
                data = ctx.response.model_dump_json().encode()
                try:
                    await self.store.set(pending.key, data, self.ttl)
                except Exception as exc:
                    _logger.warning("cache write failed (%s: %s)", type(exc).__name__, exc)
        finally:
            if pending.flight is not None:
                self._land(asyncio.get_running_loop(), pending.key, pending.flight, data)

    def error(self, ctx: Context) -> None:
        pending: _Pending | None = ctx.state.pop(self, None)
        if pending is not None and pending.flight is not None:
            self._land(asyncio.get_running_loop(), pending.key, pending.flight, None)

    def __repr__(self) -> str:
        return f"Cache({self.store!r}, ttl={self.ttl})"
