"""The one usage recorder: `TokenEvent`s into a ledger (`EventStore`), written at once or
in small batches off the request path, with nothing lost on shutdown.

The `RecordUsage` interceptor (`conduit.interceptors.usage`), the command line, the
framework's `Model` and the gateway all write through a `UsageRecorder`. With
`flush_seconds=0` (the default) each event is committed before `record()` returns; a
busy server passes a small delay to commit many events per transaction, and `aclose()`
(or `flush()`) writes what is buffered. `unwritten()` lets a budget count events that
are recorded but not yet committed.

Example:
    >>> import asyncio
    >>> from conduit.storage.events import TokenEvent
    >>> from conduit.storage.events_sqlite import SQLiteEventStore
    >>> async def main():
    ...     store = SQLiteEventStore(":memory:")
    ...     recorder = UsageRecorder(store)
    ...     await recorder.record(TokenEvent(provider="fake", model="echo", input_tokens=3))
    ...     count = await store.count()
    ...     await store.aclose()
    ...     return count
    >>> asyncio.run(main())
    1
"""

from __future__ import annotations

import asyncio
import logging

from conduit.storage.events import EventStore, TokenEvent

__all__ = ["UsageRecorder"]

_log = logging.getLogger("conduit.storage.recorder")


class UsageRecorder:
    """Writes events to `store`: each at once (`flush_seconds=0`), or buffered and
    written every `flush_seconds` in one transaction (at most `max_batch` at a time).

    Example:
        >>> from conduit.storage.events_sqlite import SQLiteEventStore
        >>> UsageRecorder(SQLiteEventStore(":memory:")).pending
        0
    """

    def __init__(self, store: EventStore, flush_seconds: float = 0.0, max_batch: int = 512) -> None:
        self.store = store
        self.flush_seconds = flush_seconds
        self.max_batch = max_batch
        self._buffer: list[TokenEvent] = []
        self._writing: list[TokenEvent] = []
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._closed = False

    @property
    def pending(self) -> int:
        """Events not written yet."""
        return len(self._buffer)

    async def record(self, event: TokenEvent) -> None:
        """Keep one event (written now when `flush_seconds` is 0, else soon)."""
        if self.flush_seconds <= 0 or self._closed:
            await self.store.record(event)
            return
        self._buffer.append(event)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        if len(self._buffer) >= self.max_batch:
            self._wake.set()

    async def _run(self) -> None:
        while not self._closed:
            # `asyncio.timeout`, not `wait_for`: on Python 3.11 `wait_for` can swallow a
            # cancellation that arrives as the event fires, and `aclose()` then waits for
            # ever.
            try:
                async with asyncio.timeout(self.flush_seconds):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.flush()
            except Exception:  # keep the gateway up; the events stay for the next try
                _log.exception("writing %d usage events failed; will retry", self.pending)

    async def flush(self) -> None:
        """Write every buffered event (one transaction)."""
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        self._writing = batch
        try:
            await self.store.record_many(batch)
        except BaseException:
            self._buffer[:0] = batch
            raise
        finally:
            self._writing = []

    def unwritten(self) -> list[TokenEvent]:
        """Events recorded but not yet committed (being written, or buffered)."""
        return [*self._writing, *self._buffer]

    async def aclose(self) -> None:
        """Stop the writer and write what is left. The writer is asked to stop, not
        cancelled: a write it has started finishes (a cancelled write would leave its
        database call running in a worker thread while this one writes the rest)."""
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            self._wake.set()
            await task
        await self.flush()
