"""Token buckets for rate limits: one small protocol and the in-process store.

A bucket holds up to `capacity` units and refills at `rate` units per second. Taking
is all-or-nothing across several buckets at once (a request needs a request slot *and*
its tokens), and a take larger than the capacity succeeds when the bucket is full,
leaving it in debt, so one big request is never refused forever.

Stores: `MemoryBuckets` (this process), `SQLiteBuckets` (processes on one machine,
`conduit.storage.buckets_sqlite`), `PostgresBuckets` (several machines,
`conduit.storage.buckets_postgres`) and `RedisBuckets` (several machines,
`conduit.storage.redis`). Each take is atomic in its store: the SQL stores run
`apply_takes` inside one locked transaction, Redis runs the same arithmetic as one
script. Rates, capacities and amounts are checked: a bool, NaN, infinity or a negative
number is refused with a `ValidationError` naming it.

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

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from conduit.core.checks import check_rate
from conduit.errors import ValidationError

__all__ = [
    "Bucket",
    "BucketStore",
    "MemoryBuckets",
    "apply_takes",
    "check_amount",
    "check_takes",
    "open_bucket_store",
    "refill",
    "wait_for",
]


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
        if not isinstance(self.key, str) or not self.key:
            raise ValidationError(f"a bucket's key must be a non-empty string, not {self.key!r}")
        check_rate(self.rate, "rate")
        check_rate(self.capacity, "capacity")


def check_amount(value: Any, name: str, *, signed: bool = False) -> float:
    """A finite number of units (>= 0 unless `signed`); bools and None are refused.

    Example:
        >>> check_amount(3, "amount"), check_amount(-2, "amount", signed=True)
        (3.0, -2.0)
    """
    ok = not isinstance(value, bool) and isinstance(value, int | float)
    if ok and math.isfinite(value) and (signed or value >= 0):
        return float(value)
    kind = "a finite number" if signed else "a finite number >= 0"
    raise ValidationError(f"{name} must be {kind}, not {value!r}")


def check_takes(takes: Sequence[tuple[Bucket, float]]) -> None:
    """Each take is a `(Bucket, amount >= 0)` pair."""
    for take in takes:
        bucket, amount = take
        if not isinstance(bucket, Bucket):
            raise ValidationError(f"takes must be (Bucket, amount) pairs, not {take!r}")
        check_amount(amount, "amount")


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


def apply_takes(
    takes: Sequence[tuple[Bucket, float]], levels: Sequence[float]
) -> tuple[float, list[float]]:
    """Take each amount from its bucket at its `levels` (refilled to now), all or none:
    `(0.0, the new levels)`, or `(seconds to wait, the levels unchanged)`.

    Example:
        >>> b = Bucket("b", rate=1.0, capacity=2)
        >>> apply_takes([(b, 1)], [2.0]), apply_takes([(b, 1)], [0.5])
        ((0.0, [1.0]), (0.5, [0.5]))
    """
    wait = 0.0
    for level, (bucket, amount) in zip(levels, takes, strict=True):
        wait = max(wait, wait_for(level, amount, bucket))
    if wait > 0.0:
        return wait, list(levels)
    return 0.0, [level - amount for level, (_, amount) in zip(levels, takes, strict=True)]


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
        check_takes(takes)
        with self._lock:
            now = self._clock()
            wait, levels = apply_takes(takes, [self._level(bucket, now) for bucket, _ in takes])
            if wait > 0.0:
                return wait
            for level, (bucket, _) in zip(levels, takes, strict=True):
                self._levels[bucket.key] = (level, now)
            return 0.0

    async def give(self, bucket: Bucket, amount: float) -> None:
        """Put `amount` back (negative takes more); see `BucketStore.give`."""
        amount = check_amount(amount, "amount", signed=True)
        with self._lock:
            now = self._clock()
            level = min(bucket.capacity, self._level(bucket, now) + amount)
            self._levels[bucket.key] = (level, now)

    async def aclose(self) -> None:
        """Nothing to release; here for the protocol."""

    def __repr__(self) -> str:
        return f"MemoryBuckets({len(self._levels)} buckets)"


def open_bucket_store(url: str = ":memory:") -> BucketStore:
    """The bucket store `url` names: `":memory:"` (this process), a path or
    `sqlite:///path` (processes on one machine), `postgresql://...` or `redis://...`
    (several machines).

    Example:
        >>> open_bucket_store(":memory:")
        MemoryBuckets(0 buckets)
        >>> open_bucket_store("sqlite:///limits.sqlite3")
        SQLiteBuckets('limits.sqlite3')
    """
    if not isinstance(url, str) or not url:
        raise ValidationError(f"url must be a path or URL, not {url!r}")
    if url in {":memory:", "memory://"}:
        return MemoryBuckets()
    if url.startswith(("postgresql://", "postgres://")):
        from conduit.storage.buckets_postgres import PostgresBuckets

        return PostgresBuckets(url)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from conduit.storage.redis import RedisBuckets

        return RedisBuckets(url=url)
    from conduit.storage.buckets_sqlite import SQLiteBuckets

    return SQLiteBuckets(url.removeprefix("sqlite:///"))
