"""The gateway's usage ledger: one `TokenEvent` per request (key, user, tags, model,
tokens, cost, latency, HTTP status), written in small batches off the request path, and
per-key totals for `conduit usage --key`.

Events go to the same `EventStore` as the odometer's (SQLite file or PostgreSQL), so
budgets read their spend from it and several replicas writing one database add up
exactly (each event has a unique id; a batch is one transaction).

Example:
    >>> import asyncio
    >>> from conduit.storage.events import TokenEvent
    >>> from conduit.storage.events_sqlite import SQLiteEventStore
    >>> async def main():
    ...     store = SQLiteEventStore(":memory:")
    ...     recorder = UsageRecorder(store, flush_seconds=0)
    ...     await recorder.record(TokenEvent(provider="gw", model="chat", key_id="key_1",
    ...                                      input_tokens=3, cost=0.5, status=200))
    ...     rows = await key_usage(store, "key_1")
    ...     await store.aclose()
    ...     return [(r.key, r.events, r.cost) for r in rows]
    >>> asyncio.run(main())
    [(('key_1', 'chat'), 1, 0.5)]
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from conduit.storage.events import EventFilter, EventStore, TokenEvent, UsageRow

if TYPE_CHECKING:
    from conduit.compat.budgeting import Scope, SpendRecord

__all__ = ["PendingAwareLedger", "UsageRecorder", "key_usage"]

_log = logging.getLogger("conduit.server")


class UsageRecorder:
    """Buffers events and writes them every `flush_seconds` (0: each at once).

    Example:
        >>> from conduit.storage.events_sqlite import SQLiteEventStore
        >>> UsageRecorder(SQLiteEventStore(":memory:")).pending
        0
    """

    def __init__(
        self, store: EventStore, flush_seconds: float = 0.05, max_batch: int = 512
    ) -> None:
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
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.flush_seconds)
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
        """Stop the writer and write what is left."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()


class PendingAwareLedger:
    """A `SpendLedger` over the recorder's store that also counts the events still in
    its buffer, so a budget checked right after an answer sees that answer's cost.

    Example:
        >>> from conduit.storage.events_sqlite import SQLiteEventStore
        >>> PendingAwareLedger(UsageRecorder(SQLiteEventStore(":memory:"))).recorder.pending
        0
    """

    def __init__(self, recorder: UsageRecorder) -> None:
        from conduit.compat.budgeting import EventSpendLedger

        self.recorder = recorder
        self._ledger = EventSpendLedger(recorder.store)

    async def record(self, record: SpendRecord) -> None:
        await self._ledger.record(record)

    async def spent(self, scope: Scope, name: str, since: float) -> float:
        unwritten = self.recorder.unwritten()  # before the query: nothing is missed
        total = await self._ledger.spent(scope, name, since)
        for event in unwritten:
            if event.cost is None or event.epoch < since:
                continue
            if (
                scope == "global"
                or (scope == "key" and event.key_id == name)
                or (scope == "user" and event.user == name)
                or (scope == "tag" and name in event.tags)
            ):
                total += event.cost
        return total


async def key_usage(
    store: EventStore,
    key_id: str | None = None,
    *,
    since: datetime | None = None,
    by: Sequence[str] = ("key", "model"),
) -> list[UsageRow]:
    """Totals per key and model group (one key with `key_id`), computed in the database:
    what `conduit usage --key` prints."""
    return await store.totals(by, EventFilter(since=since, key_id=key_id))
