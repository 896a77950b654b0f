"""The odometer: a `TokenEvent` for every answer, added up per session, per conversation
and across runs.

- `event_from_response(response, ...)` makes the event (cost from the `Cost`
  interceptor's `metadata["cost_usd"]`, else the catalog's prices, else None).
- `Odometer`: the session's (in memory). `odometer.conversation(id)` is a child that
  stamps the conversation id on its events and passes each one up to the session.
- `PersistentOdometer(store)`: the same, also writing every event to an `EventStore`
  (SQLite by default, PostgreSQL optional) so usage adds up across runs.
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
from collections.abc import Sequence
from datetime import datetime

from conduit.schema import Response
from conduit.storage.events import (
    EventFilter,
    EventStore,
    TokenEvent,
    UsageRow,
    aggregate,
    group_columns,
)
from conduit.storage.events_postgres import PostgresEventStore
from conduit.storage.events_sqlite import SQLiteEventStore
from conduit.storage.paths import events_path

__all__ = [
    "Odometer",
    "PersistentOdometer",
    "UsageReport",
    "event_from_response",
    "event_store",
    "stats",
    "stats_sync",
]


def _cost(response: Response, ref: str) -> float | None:
    found = response.metadata.get("cost_usd")
    if isinstance(found, int | float) and not isinstance(found, bool):
        return float(found)
    try:
        from conduit.catalog.registry import cost_of

        return cost_of(ref, response.usage)
    except Exception:  # unknown provider or model: the cost is unknown, not an error
        return None


def event_from_response(
    response: Response,
    *,
    conversation_id: str | None = None,
    tag: str | None = None,
    provider: str | None = None,
    timestamp: datetime | None = None,
) -> TokenEvent:
    """The `TokenEvent` for one answer. `provider` is needed only when the response
    does not name it (a model written `"provider/name"` is split).

    Example:
        >>> from conduit.schema import Usage
        >>> event = event_from_response(Response(model="openai/gpt-4o-mini",
        ...     usage=Usage(input_tokens=1000, cache_read_tokens=200)), tag="test")
        >>> event.provider, event.model, event.cached_tokens, event.cost is not None
        ('openai', 'gpt-4o-mini', 200, True)
    """
    model = response.model or "unknown"
    vendor = provider or response.provider
    if vendor is None:
        vendor, _, rest = model.partition("/")
        model = rest or model
        if not rest:
            vendor = "unknown"
    usage = response.usage
    fields: dict[str, object] = {
        "provider": vendor,
        "model": model,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cached_tokens": usage.cache_read_tokens,
        "cost": _cost(response, f"{vendor}/{model}"),
        "duration": response.duration,
        "conversation_id": conversation_id,
        "tag": tag,
    }
    if timestamp is not None:
        fields["timestamp"] = timestamp
    return TokenEvent.model_validate(fields)


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
        body = [[*(k if k is not None else "-" for k in r.key), *_cells(r)] for r in self.rows]
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


class Odometer:
    """Usage of this session, in memory. `tag` and `conversation_id` are stamped on the
    events recorded here that do not carry their own.

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
    ) -> None:
        self.tag = tag
        self.conversation_id = conversation_id
        self.parent = parent
        self.events: list[TokenEvent] = []

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
        self.events.append(event)
        if self.parent is not None:
            self.parent.record(event)
        return event

    def record_response(self, response: Response, *, tag: str | None = None) -> TokenEvent:
        """Count one answer."""
        return self.record(event_from_response(response, tag=tag))

    def totals(self, by: Sequence[str] = ()) -> list[UsageRow]:
        """This odometer's events added up by the group keys `by`."""
        return aggregate(self.events, by)

    def total(self) -> UsageRow:
        """Everything added up (a row with an empty key)."""
        return _sum_rows(self.totals())

    def report(self, by: Sequence[str] = ("provider", "model")) -> UsageReport:
        """The totals as a `UsageReport`."""
        return UsageReport(by, self.totals(by))

    def __repr__(self) -> str:
        return f"Odometer(events={len(self.events)})"


class PersistentOdometer(Odometer):
    """An `Odometer` that also writes every event to `store` (each one transaction).

    Example:
        >>> import asyncio
        >>> from conduit.schema import Usage
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
        store: EventStore,
        *,
        tag: str | None = None,
        conversation_id: str | None = None,
        parent: Odometer | None = None,
    ) -> None:
        super().__init__(tag=tag, conversation_id=conversation_id, parent=parent)
        self.store = store

    def conversation(self, conversation_id: str) -> PersistentOdometer:
        """A per-conversation odometer writing to the same store; it counts here too."""
        return PersistentOdometer(
            self.store, tag=self.tag, conversation_id=conversation_id, parent=self
        )

    async def arecord(self, event: TokenEvent) -> TokenEvent:
        """Write one event to the store, then count it in memory."""
        event = self._stamp(event)
        await self.store.record(event)
        return self._count(event)

    def _count(self, event: TokenEvent) -> TokenEvent:
        self.events.append(event)
        parent = self.parent
        while parent is not None:  # the parents' store already has it: count only
            parent.events.append(event)
            parent = parent.parent
        return event

    async def arecord_response(self, response: Response, *, tag: str | None = None) -> TokenEvent:
        """Write and count one answer."""
        return await self.arecord(event_from_response(response, tag=tag))

    async def stored_totals(
        self, by: Sequence[str] = (), filters: EventFilter | None = None
    ) -> list[UsageRow]:
        """Totals over everything in the store (all runs), computed by the database."""
        return await self.store.totals(by, filters)


def event_store(url: str | os.PathLike[str] | None = None) -> EventStore:
    """The usage store `url` names: a `postgresql://` URL, a `sqlite:///path`, a path or
    `":memory:"`; by default `usage.sqlite3` in the user data folder.

    Example:
        >>> event_store("postgresql://127.0.0.1/db")
        PostgresEventStore('postgresql://127.0.0.1/db')
    """
    if url is None:
        return SQLiteEventStore(events_path())
    text = os.fspath(url)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresEventStore(text)
    return SQLiteEventStore(text.removeprefix("sqlite:///") if text != ":memory:" else text)


async def stats(
    source: EventStore | Odometer | None = None,
    *,
    by: Sequence[str] = ("provider", "model"),
    filters: EventFilter | None = None,
) -> UsageReport:
    """Usage totals from an odometer, a store, or (None) the default store in the user
    data folder. `Model.stats()` calls this with a filter for its own model.

    Example:
        >>> import asyncio
        >>> odo = Odometer()
        >>> _ = odo.record(TokenEvent(provider="openai", model="gpt-4o", input_tokens=3))
        >>> asyncio.run(stats(odo, by=["model"])).rows[0].input_tokens
        3
    """
    group_columns(by)  # an unknown key fails before any I/O
    if isinstance(source, Odometer):
        events = source.events
        if filters is not None:
            events = [e for e in events if _matches(e, filters)]
        return UsageReport(by, aggregate(events, by))
    store = source if source is not None else event_store()
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
