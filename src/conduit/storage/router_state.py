"""What several router processes share: per-minute counters (rpm/tpm) and cooldowns, in
memory for one process or in Redis for several.

Example:
    >>> isinstance(MemoryRouterState(), RouterState)
    True
"""

from __future__ import annotations

import asyncio
import math
import time
import weakref
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

__all__ = ["MemoryRouterState", "RedisRouterState", "RouterState"]


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

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._counts: dict[str, tuple[int, float]] = {}
        self._cool: dict[str, float] = {}

    async def incr(self, key: str, amount: int, ttl: float) -> int:
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
        now = self._clock()
        return [self._cool.get(k, 0.0) > now for k in keys]


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

    async def aclose(self) -> None:
        """Close the client of the running loop."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()
