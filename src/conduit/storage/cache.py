"""Cache backends: one small protocol and the in-memory LRU that is the default.

A backend stores opaque bytes under string keys, each with an optional time to live.
What the bytes mean (a serialized `Response`) is the cache interceptor's business, so
one protocol serves memory, SQLite (`conduit.storage.sqlite`) and Redis
(`conduit.storage.redis`) alike.

Example:
    >>> import asyncio
    >>> cache = MemoryCache(max_entries=2)
    >>> async def main():
    ...     await cache.set("a", b"1")
    ...     return await cache.get("a"), await cache.get("missing")
    >>> asyncio.run(main())
    (b'1', None)
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from conduit.errors import ValidationError

__all__ = ["CacheBackend", "MemoryCache", "check_ttl"]


@runtime_checkable
class CacheBackend(Protocol):
    """Where cached answers live: bytes by key, each with an optional time to live.

    `ttl` is in seconds; `None` keeps the entry until it is evicted or deleted. An
    expired entry reads as missing.
    """

    async def get(self, key: str) -> bytes | None:
        """The value stored under `key`, or None when it is missing or expired."""
        ...

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store `value` under `key`, replacing what was there."""
        ...

    async def delete(self, key: str) -> None:
        """Forget `key` (no error when it is missing)."""
        ...

    async def clear(self) -> None:
        """Forget every entry of this cache."""
        ...

    async def aclose(self) -> None:
        """Release connections or threads the backend holds."""
        ...


def check_ttl(ttl: float | None) -> None:
    """Reject a time to live that is not a positive number of seconds.

    Example:
        >>> check_ttl(1.5) is None
        True
    """
    if ttl is not None and not ttl > 0:
        raise ValidationError(f"ttl must be a positive number of seconds or None, not {ttl!r}")


class MemoryCache:
    """An in-process LRU cache: at most `max_entries` entries, the least recently used
    evicted first. Safe to share between event loops and threads.

    `clock` (seconds, monotonic) is what expiry is measured with; tests may pass their own.

    Example:
        >>> import asyncio
        >>> now = [0.0]
        >>> cache = MemoryCache(clock=lambda: now[0])
        >>> asyncio.run(cache.set("k", b"v", ttl=10))
        >>> now[0] = 11.0
        >>> asyncio.run(cache.get("k")) is None
        True
    """

    def __init__(
        self, max_entries: int = 1024, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_entries < 1:
            raise ValidationError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._clock = clock
        # key -> (value, expires_at or None); the order is the recency order.
        self._data: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    async def get(self, key: str) -> bytes | None:
        """The value under `key`, or None (missing or expired); a hit becomes most recent."""
        with self._lock:
            found = self._data.get(key)
            if found is None:
                return None
            value, expires_at = found
            if expires_at is not None and self._clock() >= expires_at:
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return value

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store `value`; evicts the least recently used entry when full."""
        check_ttl(ttl)
        expires_at = None if ttl is None else self._clock() + ttl
        with self._lock:
            self._data[key] = (value, expires_at)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    async def delete(self, key: str) -> None:
        """Forget `key`."""
        with self._lock:
            self._data.pop(key, None)

    async def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._data.clear()

    async def aclose(self) -> None:
        """Nothing to release; here for the protocol."""

    def __repr__(self) -> str:
        return f"MemoryCache({len(self._data)}/{self.max_entries} entries)"
