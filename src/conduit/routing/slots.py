"""`Slots`: at most so many calls in flight at once, for a deployment's `max_parallel`.

A router runs on more than one event loop (its sync twins on the sync bridge's loop,
its async calls on yours) and so from more than one thread, which an `asyncio.Semaphore`
cannot serve. `Slots` counts under a lock and hands a freed slot to the longest waiter,
on that waiter's own loop (`call_soon_threadsafe`). A waiter cancelled while it waits
takes no slot; a slot handed to a waiter that was cancelled meanwhile is passed on.

Example:
    >>> import asyncio
    >>> slots = Slots(1)
    >>> async def main():
    ...     await slots.acquire()
    ...     waiter = asyncio.ensure_future(slots.acquire())
    ...     await asyncio.sleep(0)
    ...     held_before = slots.free
    ...     slots.release()            # the waiter gets the slot
    ...     await waiter
    ...     slots.release()
    ...     return held_before, slots.free
    >>> asyncio.run(main())
    (False, True)
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque

from conduit.core.checks import check_count
from conduit.errors import ValidationError

__all__ = ["Slots"]


class Slots:
    """`limit` slots; `await acquire()` takes one (waiting in turn when none is free),
    `release()` gives it back.

    Example:
        >>> Slots(2)
        Slots(0/2 in use)
    """

    __slots__ = ("_lock", "_waiters", "limit", "used")

    def __init__(self, limit: int) -> None:
        if check_count(limit, "limit") < 1:
            raise ValidationError(f"limit must be at least 1, not {limit!r}")
        self.limit = limit
        self.used = 0
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()
        self._lock = threading.Lock()

    @property
    def free(self) -> bool:
        """Whether a slot is free now (and nobody waits for one)."""
        return self.used < self.limit and not self._waiters

    async def acquire(self) -> None:
        """Take a slot, waiting for one when none is free."""
        with self._lock:
            if self.used < self.limit and not self._waiters:
                self.used += 1
                return
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append((loop, waiter))
        try:
            await waiter
        except BaseException:
            with self._lock:
                try:
                    self._waiters.remove((loop, waiter))
                    granted = False
                except ValueError:  # a release handed it the slot already
                    granted = True
            # Handed a slot it will not use: pass it on. (A slot handed to a future that
            # is cancelled by now is passed on by `_grant` itself.)
            if granted and waiter.done() and not waiter.cancelled():
                self.release()
            raise

    def release(self) -> None:
        """Give a slot back: to the longest waiter, else free."""
        with self._lock:
            while self._waiters:
                loop, waiter = self._waiters.popleft()
                try:
                    loop.call_soon_threadsafe(self._grant, waiter)
                except RuntimeError:  # its loop is closed: the waiter is gone
                    continue
                return  # the slot goes to the waiter: `used` stays
            self.used = max(0, self.used - 1)

    def _grant(self, waiter: asyncio.Future[None]) -> None:
        if waiter.cancelled():
            self.release()
        else:
            waiter.set_result(None)

    def __repr__(self) -> str:
        return f"Slots({self.used}/{self.limit} in use)"
