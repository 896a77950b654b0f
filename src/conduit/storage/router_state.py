"""What several router processes share (`conduit.routing.Router`): counters that expire
(failures in the last minute, tokens used, the round-robin turn) and cooldowns, in memory
for one process or in Redis for several.

Requests and tokens per minute are not counted here: they are token buckets
(`conduit.storage.buckets`), the one limit mechanism the `RateLimit` interceptor uses too.
A Redis client belongs to the event loop it was first used on, so `RedisRouterState`
keeps one client per loop, and `RedisRouterState.buckets()` gives Redis token buckets that
do the same (`PerLoopBuckets`): a router's sync twins run on the sync bridge's loop, its
async calls on yours.

Example:
    >>> isinstance(MemoryRouterState(), RouterState)
    True
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from conduit.storage.buckets import Bucket, BucketStore

__all__ = ["MemoryRouterState", "PerLoopBuckets", "RedisRouterState", "RouterState"]


@runtime_checkable
class RouterState(Protocol):
    """What several router processes share: counters with a time to live, and cooldowns."""

    async def incr(self, key: str, amount: int, ttl: float) -> int:
        """Add `amount` to a counter that expires `ttl` seconds after its creation."""
        ...

    async def get_many(self, keys: Sequence[str]) -> list[int]:
        """The counters (0 for missing or expired ones)."""
        ...

    async def cool(self, key: str, seconds: float) -> None:
        """Mark `key` as cooling down for `seconds`."""
        ...

    async def cooling(self, keys: Sequence[str]) -> list[bool]:
        """Which of `keys` are cooling down."""
        ...


class MemoryRouterState:
    """Router state for one process.

    Example:
        >>> import asyncio
        >>> state = MemoryRouterState()
        >>> asyncio.run(state.incr("k", 2, 60)), asyncio.run(state.get_many(["k", "x"]))
        (2, [2, 0])
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._counts: dict[str, tuple[int, float]] = {}
        self._cool: dict[str, float] = {}
        # A router's sync twins run on the sync bridge's thread, its async calls on yours.
        self._lock = threading.Lock()

    async def incr(self, key: str, amount: int, ttl: float) -> int:
        with self._lock:
            now = self._clock()
            value, until = self._counts.get(key, (0, 0.0))
            if until <= now:
                value, until = 0, now + ttl
            value += amount
            self._counts[key] = (value, until)
            if len(self._counts) > 10_000:  # forget what has expired
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            return value

    async def get_many(self, keys: Sequence[str]) -> list[int]:
        now = self._clock()
        out = []
        for key in keys:
            value, until = self._counts.get(key, (0, 0.0))
            out.append(value if until > now else 0)
        return out

    async def cool(self, key: str, seconds: float) -> None:
        self._cool[key] = self._clock() + seconds

    async def cooling(self, keys: Sequence[str]) -> list[bool]:
        cool = self._cool
        if not cool:
            return [False] * len(keys)
        now = self._clock()
        return [cool.get(k, 0.0) > now for k in keys]

    async def aclose(self) -> None:
        """Nothing to release; here to match `RedisRouterState`."""

    def __repr__(self) -> str:
        return f"MemoryRouterState({len(self._counts)} counters, {len(self._cool)} cooldowns)"


class RedisRouterState:
    """Router state in Redis, shared by every process that uses the same URL and prefix
    (needs the `redis` package: `pip install "conduit[redis]"`). One client per event
    loop, since the sync and async calls of a router run on different loops.

    Example:
        >>> RedisRouterState("redis://127.0.0.1:6379/0").prefix
        'conduit:router'
    """

    def __init__(self, url: str, *, prefix: str = "conduit:router") -> None:
        self.url = url
        self.prefix = prefix
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )

    def _client(self) -> Any:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            try:
                import redis.asyncio
            except ImportError:  # pragma: no cover - redis is a dev dependency
                from conduit.errors import MissingDependencyError

                raise MissingDependencyError(
                    'Router shared state needs redis: pip install "conduit[redis]"'
                ) from None
            client = self._clients[loop] = redis.asyncio.Redis.from_url(self.url)
        return client

    async def incr(self, key: str, amount: int, ttl: float) -> int:
        name = f"{self.prefix}:{key}"
        async with self._client().pipeline(transaction=True) as pipe:
            pipe.incrby(name, amount)
            pipe.expire(name, max(1, math.ceil(ttl)), nx=True)
            value, _ = await pipe.execute()
        return int(value)

    async def get_many(self, keys: Sequence[str]) -> list[int]:
        if not keys:
            return []
        values = await self._client().mget([f"{self.prefix}:{k}" for k in keys])
        return [int(v) if v is not None else 0 for v in values]

    async def cool(self, key: str, seconds: float) -> None:
        await self._client().set(f"{self.prefix}:cool:{key}", 1, px=max(1, int(seconds * 1000)))

    async def cooling(self, keys: Sequence[str]) -> list[bool]:
        if not keys:
            return []
        values = await self._client().mget([f"{self.prefix}:cool:{k}" for k in keys])
        return [v is not None for v in values]

    def buckets(self) -> PerLoopBuckets:
        """Token buckets for rpm/tpm limits on the same Redis server, under this state's
        prefix, with one client per event loop (pass them to `Router(buckets=...)`).

        Example:
            >>> RedisRouterState("redis://127.0.0.1:6379/0").buckets()
            PerLoopBuckets(RedisBuckets)
        """
        from conduit.storage.redis import RedisBuckets

        url, prefix = self.url, f"{self.prefix}:limits:"
        return PerLoopBuckets(lambda: RedisBuckets(url=url, prefix=prefix), name="RedisBuckets")

    async def aclose(self) -> None:
        """Close the client of the running loop."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    def __repr__(self) -> str:
        # The URL may hold a password: show the prefix only.
        return f"RedisRouterState(prefix={self.prefix!r})"


class PerLoopBuckets:
    """A `BucketStore` that makes one inner store per event loop with `factory()`, for
    stores whose client belongs to the loop it was first used on (`RedisBuckets`).

    Example:
        >>> import asyncio
        >>> from conduit.storage.buckets import MemoryBuckets
        >>> store = PerLoopBuckets(MemoryBuckets)
        >>> asyncio.run(store.take([(Bucket("r", rate=1, capacity=1), 1)]))
        0.0
    """

    def __init__(self, factory: Callable[[], BucketStore], *, name: str | None = None) -> None:
        self._factory = factory
        self._name = name or getattr(factory, "__name__", type(factory).__name__)
        self._stores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, BucketStore] = (
            weakref.WeakKeyDictionary()
        )

    def store(self) -> BucketStore:
        """The store of the running event loop (made on first use)."""
        loop = asyncio.get_running_loop()
        found = self._stores.get(loop)
        if found is None:
            found = self._stores[loop] = self._factory()
        return found

    async def take(self, takes: Sequence[tuple[Bucket, float]]) -> float:
        """Take every amount or none (see `BucketStore.take`)."""
        return await self.store().take(takes)

    async def give(self, bucket: Bucket, amount: float) -> None:
        """Put `amount` back (see `BucketStore.give`)."""
        await self.store().give(bucket, amount)

    async def aclose(self) -> None:
        """Close the running loop's store."""
        found = self._stores.pop(asyncio.get_running_loop(), None)
        if found is not None:
            await found.aclose()

    def __repr__(self) -> str:
        return f"PerLoopBuckets({self._name})"
