"""Token buckets for rate limits: one small protocol and the in-process store.

A bucket holds up to `capacity` units and refills at `rate` units per second. Taking
is all-or-nothing across several buckets at once (a request needs a request slot *and*
its tokens), and a take larger than the capacity succeeds when the bucket is full,
leaving it in debt, so one big request is never refused forever. The Redis store
(`conduit.storage.redis.RedisBuckets`) runs the same arithmetic inside Redis, so several
processes share one limit.

Example:
    >>> import asyncio
    >>> now = [0.0]
    >>> store = MemoryBuckets(clock=lambda: now[0])
    >>> per_second = Bucket("requests", rate=1.0, capacity=2)
    >>> [asyncio.run(store.take([(per_second, 1)])) for _ in range(3)]
    [0.0, 0.0, 1.0]
    >>> now[0] = 1.0
    >>> asyncio.run(store.take([(per_second, 1)]))
    0.0
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from conduit.errors import ValidationError

__all__ = ["Bucket", "BucketStore", "MemoryBuckets", "refill", "wait_for"]


@dataclass(frozen=True, slots=True)
class Bucket:
    """A named token bucket: refills at `rate` units per second up to `capacity`.

    Example:
        >>> Bucket("tokens", rate=1000 / 60, capacity=1000).capacity
        1000
    """

    key: str
    rate: float
    capacity: float

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValidationError(f"a bucket's rate must be positive, not {self.rate!r}")
        if not self.capacity > 0:
            raise ValidationError(f"a bucket's capacity must be positive, not {self.capacity!r}")


@runtime_checkable
class BucketStore(Protocol):
    """Where bucket levels live: in this process (`MemoryBuckets`) or shared (Redis)."""

    async def take(self, takes: Sequence[tuple[Bucket, float]]) -> float:
        """Take each amount from its bucket, all or none.

        Returns 0.0 when taken; otherwise the seconds until all of them could be (nothing
        is taken then).
        """
        ...

    async def give(self, bucket: Bucket, amount: float) -> None:
        """Put `amount` back (capped at the capacity); a negative amount takes more,
        possibly into debt (used to settle an estimate against the real usage)."""
        ...

    async def aclose(self) -> None:
        """Release connections the store holds."""
        ...


def refill(level: float, elapsed: float, bucket: Bucket) -> float:
    """The level after `elapsed` seconds of refilling.

    Example:
        >>> refill(0.0, 2.0, Bucket("b", rate=1.0, capacity=5))
        2.0
    """
    return min(bucket.capacity, level + max(elapsed, 0.0) * bucket.rate)


def wait_for(level: float, amount: float, bucket: Bucket) -> float:
    """Seconds until `amount` may be taken from a bucket at `level` (0.0: now).

    An amount above the capacity only needs a full bucket.

    Example:
        >>> wait_for(0.5, 1.0, Bucket("b", rate=2.0, capacity=5))
        0.25
    """
    need = min(amount, bucket.capacity)
    return 0.0 if level >= need else (need - level) / bucket.rate


class MemoryBuckets:
    """Token buckets in this process; safe across event loops and threads.

    A bucket starts full. `clock` is a monotonic clock in seconds.

    Example:
        >>> import asyncio
        >>> store = MemoryBuckets()
        >>> asyncio.run(store.take([(Bucket("r", rate=10, capacity=10), 1)]))
        0.0
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._levels: dict[str, tuple[float, float]] = {}  # key -> (level, as of when)
        self._lock = threading.Lock()

    def _level(self, bucket: Bucket, now: float) -> float:
        found = self._levels.get(bucket.key)
        if found is None:
            return bucket.capacity
        level, when = found
        return refill(level, now - when, bucket)

    def level(self, bucket: Bucket) -> float:
        """The bucket's level now (negative while in debt).

        Example:
            >>> MemoryBuckets().level(Bucket("fresh", rate=1, capacity=3))
            3
        """
        with self._lock:
            return self._level(bucket, self._clock())

    async def take(self, takes: Sequence[tuple[Bucket, float]]) -> float:
        """Take every amount or none; 0.0, or the seconds to wait (see `BucketStore`)."""
        with self._lock:
            now = self._clock()
            levels = [self._level(bucket, now) for bucket, _ in takes]
            wait = 0.0
            for level, (bucket, amount) in zip(levels, takes, strict=True):
                wait = max(wait, wait_for(level, amount, bucket))
            if wait > 0.0:
                return wait
            for level, (bucket, amount) in zip(levels, takes, strict=True):
                self._levels[bucket.key] = (level - amount, now)
            return 0.0

    async def give(self, bucket: Bucket, amount: float) -> None:
        """Put `amount` back (negative takes more); see `BucketStore.give`."""
        with self._lock:
            now = self._clock()
            level = min(bucket.capacity, self._level(bucket, now) + amount)
            self._levels[bucket.key] = (level, now)

    async def aclose(self) -> None:
        """Nothing to release; here for the protocol."""

    def __repr__(self) -> str:
        return f"MemoryBuckets({len(self._levels)} buckets)"
