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

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from conduit.storage.events import EventFilter, EventStore, UsageRow
from conduit.storage.recorder import UsageRecorder

if TYPE_CHECKING:
    from conduit.compat.budgeting import Scope, SpendRecord

__all__ = ["PendingAwareLedger", "UsageRecorder", "key_usage"]


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
