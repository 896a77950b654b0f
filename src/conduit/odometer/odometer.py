"""The odometer: a `TokenEvent` for every answer, added up per session, per conversation
and across runs.

- `event_from_response(response, ...)` makes the event (cost from `Response.cost`,
  else the catalog's prices, else None: `conduit.catalog.response_cost`).
- `Odometer`: the session's (in memory). `odometer.conversation(id)` is a child that
  stamps the conversation id on its events and passes each one up to the session.
- `PersistentOdometer(store=None)`: the same, also writing every event through the one
  recorder (`conduit.storage.recorder.UsageRecorder`) into the usage ledger (by default
  the one `conduit usage` reads, `conduit.storage.ledger.open_ledger()`), so usage adds
  up across runs.
- `stats(...)`: totals by provider, model, day, tag or conversation as a `UsageReport`
  (what `Model.stats()` and `conduit usage` show).

Example:
    >>> from conduit.schema import Response, Usage
    >>> session = Odometer()
    >>> chat = session.conversation("c1")
    >>> _ = chat.record_response(Response(model="gpt-4o", provider="openai",
    ...                                   usage=Usage(input_tokens=10, output_tokens=2)))
    >>> session.total().total_tokens, chat.total().events
    (12, 1)
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Sequence

from conduit.errors import ValidationError
from conduit.odometer.ledger import check_ledger, usage_recorder
from conduit.schema import Response
from conduit.storage.events import (
    EventFilter,
    EventStore,
    TokenEvent,
    UsageRow,
    aggregate,
    event_from_response,
    group_columns,
)
from conduit.storage.ledger import open_ledger
from conduit.storage.recorder import UsageRecorder

__all__ = [
    "Odometer",
    "PersistentOdometer",
    "UsageReport",
    "event_from_response",
    "stats",
    "stats_sync",
]


class UsageReport:
    """Usage totals grouped by `by`, with a plain-text table as its `str()` (the CLI
    renders the same rows with rich).

    Example:
        >>> report = UsageReport(("provider",), [UsageRow(("openai",), 2, 10, 5, 0, 0.5, 2, 1.0)])
        >>> print(report)
        provider  events  input  output  cached  cost (USD)
        openai         2     10       5       0    0.500000
    """

    def __init__(self, by: Sequence[str], rows: list[UsageRow]) -> None:
        self.by = tuple(by)
        self.rows = rows

    def total(self) -> UsageRow:
        """Every row added up."""
        return _sum_rows(self.rows)

    def table(self) -> list[list[str]]:
        """Header and rows as text cells."""
        header = [*self.by, "events", "input", "output", "cached", "cost (USD)"]
        body = [[*("-" if k is None else str(k) for k in r.key), *_cells(r)] for r in self.rows]
        return [header, *body]

    def __str__(self) -> str:
        cells = self.table()
        widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
        keys = len(self.by)
        lines = [
            "  ".join(
                c.ljust(w) if i < keys else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
            for row in cells
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"UsageReport(by={self.by!r}, rows={len(self.rows)})"


def _cells(row: UsageRow) -> list[str]:
    cost = f"{row.cost:.6f}" if row.priced else "-"
    counts = (row.events, row.input_tokens, row.output_tokens, row.cached_tokens)
    return [*(str(n) for n in counts), cost]


def _sum_rows(rows: Sequence[UsageRow]) -> UsageRow:
    return UsageRow(
        (),
        sum(r.events for r in rows),
        sum(r.input_tokens for r in rows),
        sum(r.output_tokens for r in rows),
        sum(r.cached_tokens for r in rows),
        sum(r.cost for r in rows),
        sum(r.priced for r in rows),
        sum(r.duration for r in rows),
    )


DEFAULT_MAX_EVENTS = 10_000


class Odometer:
    """Usage of this session, in memory. `tag` and `conversation_id` are stamped on the
    events recorded here that do not carry their own.

    Memory is bounded: `events` keeps the latest `max_events` (10,000 by default) for
    grouped totals, while `total()` adds up every event ever recorded here. For
    everything, across runs, record into the usage ledger (`PersistentOdometer`).

    Example:
        >>> Odometer(tag="batch").conversation("c9").tag
        'batch'
    """

    def __init__(
        self,
        *,
        tag: str | None = None,
        conversation_id: str | None = None,
        parent: Odometer | None = None,
        max_events: int = DEFAULT_MAX_EVENTS,
    ) -> None:
        from conduit.core.checks import check_count

        self.tag = tag
        self.conversation_id = conversation_id
        self.parent = parent
        self.max_events = check_count(max_events, "max_events")
        self.events: deque[TokenEvent] = deque(maxlen=self.max_events)
        self._total = _sum_rows([])

    def conversation(self, conversation_id: str) -> Odometer:
        """A per-conversation odometer whose events also count here."""
        return Odometer(tag=self.tag, conversation_id=conversation_id, parent=self)

    def _stamp(self, event: TokenEvent) -> TokenEvent:
        update: dict[str, str] = {}
        if event.conversation_id is None and self.conversation_id is not None:
            update["conversation_id"] = self.conversation_id
        if event.tag is None and self.tag is not None:
            update["tag"] = self.tag
        return event.model_copy(update=update) if update else event

    def record(self, event: TokenEvent) -> TokenEvent:
        """Count one event (here and in the parents); returns it as stamped."""
        event = self._stamp(event)
        self._add(event)
        if self.parent is not None:
            self.parent.record(event)
        return event

    def _add(self, event: TokenEvent) -> None:
        self.events.append(event)
        self._total = _sum_rows([self._total, *aggregate([event])])

    def record_response(self, response: Response, *, tag: str | None = None) -> TokenEvent:
        """Count one answer."""
        return self.record(event_from_response(response, tag=tag))

    def totals(self, by: Sequence[str] = ()) -> list[UsageRow]:
        """The kept events (the latest `max_events`) added up by the group keys `by`."""
        return aggregate(self.events, by)

    def total(self) -> UsageRow:
        """Every event recorded here added up (a row with an empty key)."""
        return self._total

    def report(self, by: Sequence[str] = ("provider", "model")) -> UsageReport:
        """The totals as a `UsageReport`."""
        return UsageReport(by, self.totals(by))

    def __repr__(self) -> str:
        return f"Odometer(events={len(self.events)})"


class PersistentOdometer(Odometer):
    """An `Odometer` that also writes every event to the usage ledger, through the one
    recorder (`UsageRecorder`).

    `store` is where: an `EventStore`, a `UsageRecorder` (to share one writer), a ledger
    URL or path (`postgresql://…`, `sqlite:///…`), or None for the one ledger that
    `conduit usage` reads (`open_ledger()`). A store it opened itself is closed by
    `aclose()`; a store or recorder you passed stays open.

    Example:
        >>> import asyncio
        >>> from conduit.schema import Usage
        >>> from conduit.storage.events_sqlite import SQLiteEventStore
        >>> async def main():
        ...     store = SQLiteEventStore(":memory:")
        ...     odo = PersistentOdometer(store, tag="demo")
        ...     await odo.arecord_response(Response(model="m", provider="p",
        ...                                         usage=Usage(input_tokens=4)))
        ...     rows = await store.totals(by=["tag"])
        ...     await store.aclose()
        ...     return rows[0].key, rows[0].input_tokens
        >>> asyncio.run(main())
        (('demo',), 4)
    """

    def __init__(
        self,
        store: EventStore | UsageRecorder | str | os.PathLike[str] | None = None,
        *,
        tag: str | None = None,
        conversation_id: str | None = None,
        parent: Odometer | None = None,
        max_events: int = DEFAULT_MAX_EVENTS,
    ) -> None:
        super().__init__(
            tag=tag, conversation_id=conversation_id, parent=parent, max_events=max_events
        )
        if isinstance(store, bool):
            raise ValidationError("store must be a ledger URL or path, an EventStore or None")
        recorder, self._opened = usage_recorder(check_ledger(store, "store"))
        assert recorder is not None
        self._own_recorder = recorder is not store
        self.recorder: UsageRecorder = recorder
        self.store: EventStore = recorder.store

    def conversation(self, conversation_id: str) -> PersistentOdometer:
        """A per-conversation odometer writing through the same recorder; it counts here
        too."""
        return PersistentOdometer(
            self.recorder,
            tag=self.tag,
            conversation_id=conversation_id,
            parent=self,
            max_events=self.max_events,
        )

    async def arecord(self, event: TokenEvent) -> TokenEvent:
        """Write one event to the ledger, then count it in memory."""
        event = self._stamp(event)
        await self.recorder.record(event)
        return self._count(event)

    def _count(self, event: TokenEvent) -> TokenEvent:
        self._add(event)
        parent = self.parent
        while parent is not None:  # the parents' ledger already has it: count only
            parent._add(event)
            parent = parent.parent
        return event

    async def arecord_response(self, response: Response, *, tag: str | None = None) -> TokenEvent:
        """Write and count one answer."""
        return await self.arecord(event_from_response(response, tag=tag))

    async def stored_totals(
        self, by: Sequence[str] = (), filters: EventFilter | None = None
    ) -> list[UsageRow]:
        """Totals over everything in the ledger (all runs), computed by the database."""
        return await self.store.totals(by, filters)

    async def aclose(self) -> None:
        """Write what its own recorder holds, and close the store when this odometer
        opened it (a store or recorder passed in stays open).

        Example:
            >>> import asyncio
            >>> asyncio.run(PersistentOdometer(":memory:").aclose())
        """
        if self._own_recorder:
            await self.recorder.aclose()
        if self._opened is not None:
            await self._opened.aclose()


async def stats(
    source: EventStore | Odometer | None = None,
    *,
    by: Sequence[str] = ("provider", "model"),
    filters: EventFilter | None = None,
) -> UsageReport:
    """Usage totals from an odometer, a store, or (None) the one usage ledger
    (`conduit.storage.ledger.open_ledger()`). `Model.stats()` calls this with a filter for
    its own model.

    Example:
        >>> import asyncio
        >>> odo = Odometer()
        >>> _ = odo.record(TokenEvent(provider="openai", model="gpt-4o", input_tokens=3))
        >>> asyncio.run(stats(odo, by=["model"])).rows[0].input_tokens
        3
    """
    group_columns(by)  # an unknown key fails before any I/O
    if isinstance(source, Odometer):
        events: Sequence[TokenEvent] = list(source.events)
        if filters is not None:
            events = [e for e in events if _matches(e, filters)]
        return UsageReport(by, aggregate(events, by))
    store = source if source is not None else open_ledger()
    try:
        return UsageReport(by, await store.totals(by, filters))
    finally:
        if source is None:
            await store.aclose()


def _matches(event: TokenEvent, filters: EventFilter) -> bool:
    if filters.since is not None and event.timestamp < filters.since:
        return False
    if filters.until is not None and event.timestamp >= filters.until:
        return False
    if filters.has_tag is not None and not (
        event.tag == filters.has_tag or filters.has_tag in event.tags
    ):
        return False
    return all(
        getattr(filters, name) is None or getattr(event, name) == getattr(filters, name)
        for name in ("provider", "model", "tag", "conversation_id", "key_id", "user", "status")
    )


def stats_sync(
    source: EventStore | Odometer | None = None,
    *,
    by: Sequence[str] = ("provider", "model"),
    filters: EventFilter | None = None,
) -> UsageReport:
    """`stats` from synchronous code (through Conduit's sync bridge).

    Example:
        >>> stats_sync(Odometer()).rows
        []
    """
    from conduit.core.sync import run_sync

    return run_sync(stats(source, by=by, filters=filters))
