"""The usage ledger's data and protocol: `TokenEvent`, `UsageRow`, `EventStore`.

A `TokenEvent` records one answer: who served it, the tokens it took, what it cost, how
long it took, when, for which conversation and which caller (`tag`); a gateway also
records the virtual key, the end user, every tag and the HTTP status it answered with.
An `EventStore` keeps events (`SQLiteEventStore`, `PostgresEventStore`) and adds them up
by provider, model, day, tag, conversation, key, user or status in the database;
`aggregate` does the same in memory.

Example:
    >>> from datetime import datetime, timezone
    >>> when = datetime(2025, 1, 2, tzinfo=timezone.utc)
    >>> events = [TokenEvent(provider="openai", model="gpt-4o", input_tokens=n,
    ...                      timestamp=when, cost=0.5) for n in (10, 20)]
    >>> row = aggregate(events, by=("model", "day"))[0]
    >>> row.key, row.events, row.input_tokens, row.cost
    (('gpt-4o', '2025-01-02'), 2, 30, 1.0)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from pydantic import Field, field_validator

from conduit.errors import ValidationError
from conduit.schema.base import SchemaModel
from conduit.storage.migrations import StorageError

if TYPE_CHECKING:
    from conduit.schema import Response

__all__ = [
    "EVENT_COLUMNS",
    "EventFilter",
    "EventStore",
    "GROUP_KEYS",
    "GroupKey",
    "TokenEvent",
    "UsageRow",
    "aggregate",
    "event_from_response",
    "event_from_row",
    "group_columns",
    "rows_from_sql",
    "totals_sql",
    "where_clause",
]

GroupKey = Literal["provider", "model", "day", "tag", "conversation", "key", "user", "status"]
# What each group key adds up by, as a column of the events table.
GROUP_KEYS: dict[str, str] = {
    "provider": "provider",
    "model": "model",
    "day": "day",
    "tag": "tag",
    "conversation": "conversation_id",
    "key": "key_id",
    "user": "end_user",
    "status": "status",
}
# Several tags are kept in one column, each between two separators (`\x1ftag\x1f`), so
# "has tag t" is one substring test in either database.
TAG_SEPARATOR = "\x1f"
# The columns a stored event is read back from, in order.
EVENT_COLUMNS = (
    "id, ts, provider, model, input_tokens, output_tokens, cached_tokens, cost, duration, "
    "conversation_id, tag, key_id, end_user, tags, status"
)
# Stored column -> `TokenEvent` field, where the names differ (`user` is reserved in SQL).
_FIELD_OF = {"end_user": "user"}


def _now() -> datetime:
    return datetime.now(UTC)


class TokenEvent(SchemaModel):
    """One answer's usage, as the odometer records it.

    `timestamp` is when the answer came (UTC); `cost` is in US dollars, None when the
    price is unknown; `duration` is seconds from request to answer. `id` makes recording
    idempotent: a store keeps one event per id.

    Example:
        >>> event = TokenEvent(provider="anthropic", model="claude-haiku-4-5",
        ...                    input_tokens=120, output_tokens=30, tag="ingest")
        >>> event.total_tokens, event.day == event.timestamp.strftime("%Y-%m-%d")
        (150, True)
    """

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1)
    timestamp: datetime = Field(default_factory=_now)
    provider: str = Field(min_length=1)
    model: str = Field(min_length=1)
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    cached_tokens: int = Field(default=0, ge=0)
    cost: float | None = Field(default=None, ge=0)
    duration: float | None = Field(default=None, ge=0)
    conversation_id: str | None = None
    tag: str | None = None
    key_id: str | None = None
    user: str | None = None
    tags: tuple[str, ...] = ()
    status: int | None = Field(default=None, ge=100, le=599)

    model_config = {"frozen": True}

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # Naive times are taken as UTC; every stored time is UTC.
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @field_validator("tags")
    @classmethod
    def _plain_tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for tag in value:
            if not tag or TAG_SEPARATOR in tag:
                raise ValueError(f"a tag is a non-empty string without \\x1f, not {tag!r}")
        return value

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    @property
    def day(self) -> str:
        """The UTC day, `YYYY-MM-DD`: the key the odometer adds up days by."""
        return self.timestamp.strftime("%Y-%m-%d")

    @property
    def epoch(self) -> float:
        """The timestamp as seconds since the epoch (how the stores keep it)."""
        return self.timestamp.timestamp()

    def row(self) -> tuple[Any, ...]:
        """The values of one stored row: id, ts, day, provider, model, input, output,
        cached, cost, duration, conversation_id, tag, key_id, end_user, tags, status."""
        return (
            self.id,
            self.epoch,
            self.day,
            self.provider,
            self.model,
            self.input_tokens,
            self.output_tokens,
            self.cached_tokens,
            self.cost,
            self.duration,
            self.conversation_id,
            self.tag,
            self.key_id,
            self.user,
            _join_tags(self.tags),
            self.status,
        )


def event_from_response(
    response: Response,
    *,
    provider: str | None = None,
    model: str | None = None,
    conversation_id: str | None = None,
    tag: str | None = None,
    timestamp: datetime | None = None,
    **labels: Any,
) -> TokenEvent:
    """The `TokenEvent` for one answer: the one way an answer becomes a usage record.

    `provider` and `model` name the model that was asked for (a provider may answer
    with a dated snapshot name); by default the answer's own. The cost is the answer's
    `cost`, else the catalog's prices for that model (`conduit.catalog.response_cost`).
    `labels` are further `TokenEvent` fields: `key_id`, `user`, `tags`, `status`,
    `duration` (default: the answer's own).

    Example:
        >>> from conduit.schema import Response, Usage
        >>> event = event_from_response(Response(model="openai/gpt-4o-mini",
        ...     usage=Usage(input_tokens=1000, cache_read_tokens=200)), tag="test")
        >>> event.provider, event.model, event.cached_tokens, event.cost is not None
        ('openai', 'gpt-4o-mini', 200, True)
    """
    from conduit.catalog import response_cost

    name = model or response.model or "unknown"
    vendor = provider or response.provider
    if vendor is None:
        vendor, _, rest = name.partition("/")
        name = rest or name
        if not rest:
            vendor = "unknown"
    usage = response.usage
    fields: dict[str, Any] = {
        "provider": vendor,
        "model": name,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cached_tokens": usage.cache_read_tokens,
        # A cost the caller gives (even None: "not known") is not looked up.
        "cost": labels["cost"] if "cost" in labels else response_cost(response, f"{vendor}/{name}"),
        "duration": response.duration,
        "conversation_id": conversation_id,
        "tag": tag,
        **labels,
    }
    if timestamp is not None:
        fields["timestamp"] = timestamp
    return TokenEvent.model_validate(fields)


def _join_tags(tags: Sequence[str]) -> str | None:
    if not tags:
        return None
    return TAG_SEPARATOR + TAG_SEPARATOR.join(tags) + TAG_SEPARATOR


def _split_tags(stored: Any) -> tuple[str, ...]:
    if not stored:
        return ()
    return tuple(t for t in str(stored).split(TAG_SEPARATOR) if t)


def event_from_row(row: Sequence[Any], table: str = "conduit_events") -> TokenEvent:
    """A stored row (in `EVENT_COLUMNS` order) as a `TokenEvent`; a row that is not a
    valid event raises `StorageError` naming it, never comes back half-read.

    Example:
        >>> event_from_row(("e1", 0.0, "openai", "", 1, 1, 0, None, None, None, None,
        ...                 None, None, None, None))
        Traceback (most recent call last):
        ...
        conduit.errors.StorageError: conduit_events row 'e1' is not a valid event: ...
    """
    names = [c.strip() for c in EVENT_COLUMNS.split(",")]
    data = {_FIELD_OF.get(n, n): v for n, v in zip(names, row, strict=True)}
    data["tags"] = _split_tags(data["tags"])
    ts = data.pop("ts")
    try:
        if not isinstance(ts, int | float):
            raise ValidationError(f"TokenEvent.timestamp: not a number: {ts!r}")
        data["timestamp"] = datetime.fromtimestamp(float(ts), UTC)
        return TokenEvent.model_validate(data)
    except (ValidationError, ValueError, OverflowError) as exc:
        raise StorageError(f"{table} row {data.get('id')!r} is not a valid event: {exc}") from None


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events to count: all given conditions must hold (None means any).

    Example:
        >>> EventFilter(model="gpt-4o").model
        'gpt-4o'
    """

    since: datetime | None = None
    until: datetime | None = None
    provider: str | None = None
    model: str | None = None
    tag: str | None = None
    conversation_id: str | None = None
    key_id: str | None = None
    user: str | None = None
    status: int | None = None
    has_tag: str | None = None
    """Events whose `tag` is this or whose `tags` hold it."""


def where_clause(
    filters: EventFilter, placeholder: Callable[[int], str], find: str = "instr"
) -> tuple[str, list[Any]]:
    """The SQL `WHERE …` for `filters` and its parameters; `placeholder(n)` spells the
    n-th parameter (`?` for SQLite, `$n` for PostgreSQL) and `find` names the substring
    function (`instr` in SQLite, `strpos` in PostgreSQL: both take haystack, needle).

    Example:
        >>> where_clause(EventFilter(model="m", tag="t"), lambda n: f"${n}")
        (' WHERE model = $1 AND tag = $2', ['m', 't'])
    """
    parts: list[str] = []
    params: list[Any] = []

    def add(condition: str, value: Any) -> None:
        params.append(value)
        parts.append(condition.format(placeholder(len(params))))

    if filters.since is not None:
        add("ts >= {}", filters.since.timestamp())
    if filters.until is not None:
        add("ts < {}", filters.until.timestamp())
    for column in ("provider", "model", "tag", "conversation_id", "key_id", "status"):
        value = getattr(filters, column)
        if value is not None:
            add(f"{column} = {{}}", value)
    if filters.user is not None:
        add("end_user = {}", filters.user)
    if filters.has_tag is not None:
        # A plain equality and a substring test: no LIKE, so `%` and `_` in a tag are safe.
        params.extend([filters.has_tag, _join_tags([filters.has_tag])])
        first, second = placeholder(len(params) - 1), placeholder(len(params))
        parts.append(f"(tag = {first} OR {find}(coalesce(tags, ''), {second}) > 0)")
    return (" WHERE " + " AND ".join(parts) if parts else ""), params


def group_columns(by: Sequence[str]) -> list[str]:
    """The columns for group keys; an unknown key raises `ValidationError`.

    Example:
        >>> group_columns(["provider", "conversation"])
        ['provider', 'conversation_id']
    """
    if isinstance(by, str):
        by = (by,)
    unknown = [key for key in by if key not in GROUP_KEYS]
    if unknown:
        raise ValidationError(
            f"cannot group usage by {unknown[0]!r}; use any of {', '.join(GROUP_KEYS)}"
        )
    return [GROUP_KEYS[key] for key in by]


@dataclass(frozen=True, slots=True)
class UsageRow:
    """Totals for one group: `key` holds the group's values in the order asked for.
    `cost` adds up the known costs; `priced` says how many events had one.

    Example:
        >>> UsageRow(("openai",), 2, 10, 5, 0, 0.25, 2, 1.5).total_tokens
        15
    """

    key: tuple[str | None, ...]
    events: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost: float
    priced: int
    duration: float

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


def aggregate(events: Iterable[TokenEvent], by: Sequence[str] = ()) -> list[UsageRow]:
    """Add events up by the group keys `by` (any of `GROUP_KEYS`), sorted by key; with no
    keys, one row for everything (none when there are no events)."""
    columns = group_columns(by)
    sums: dict[tuple[str | None, ...], list[float]] = {}
    for event in events:
        key = tuple(getattr(event, name) for name in columns)
        acc = sums.setdefault(key, [0, 0, 0, 0, 0.0, 0, 0.0])
        acc[0] += 1
        acc[1] += event.input_tokens
        acc[2] += event.output_tokens
        acc[3] += event.cached_tokens
        if event.cost is not None:
            acc[4] += event.cost
            acc[5] += 1
        acc[6] += event.duration or 0.0
    return [
        UsageRow(key, int(a[0]), int(a[1]), int(a[2]), int(a[3]), a[4], int(a[5]), a[6])
        for key, a in sorted(sums.items(), key=lambda item: _sort_key(item[0]))
    ]


def _sort_key(key: tuple[str | None, ...]) -> tuple[tuple[bool, str], ...]:
    # None sorts first, as in SQL's NULLS FIRST.
    return tuple((v is not None, v or "") for v in key)


def rows_from_sql(records: Iterable[Sequence[Any]], width: int) -> list[UsageRow]:
    """`UsageRow`s from `SELECT <width keys>, count, sums…` results."""
    out = []
    for r in records:
        out.append(
            UsageRow(
                tuple(r[:width]),
                int(r[width]),
                int(r[width + 1] or 0),
                int(r[width + 2] or 0),
                int(r[width + 3] or 0),
                float(r[width + 4] or 0.0),
                int(r[width + 5] or 0),
                float(r[width + 6] or 0.0),
            )
        )
    out.sort(key=lambda row: _sort_key(row.key))
    return out


def totals_sql(table: str, by: Sequence[str], where: str) -> tuple[str, int]:
    """The aggregation query for group keys `by` and the number of key columns."""
    columns = group_columns(by)
    keys = ", ".join(columns)
    select = (
        f"SELECT {keys + ', ' if keys else ''}count(*), sum(input_tokens), sum(output_tokens), "
        f"sum(cached_tokens), sum(cost), count(cost), sum(duration) FROM {table}{where}"
    )
    if keys:
        select += f" GROUP BY {keys}"
    return select, len(columns)


@runtime_checkable
class EventStore(Protocol):
    """Where usage events are kept: `SQLiteEventStore` (default), `PostgresEventStore`."""

    async def record(self, event: TokenEvent) -> None:
        """Keep one event (one transaction; an id already kept is not counted twice)."""
        ...

    async def record_many(self, events: Iterable[TokenEvent]) -> None:
        """Keep several events in one transaction."""
        ...

    async def events(
        self, filters: EventFilter | None = None, *, limit: int | None = None
    ) -> list[TokenEvent]:
        """The events that match, oldest first."""
        ...

    async def count(self, filters: EventFilter | None = None) -> int:
        """How many events match."""
        ...

    async def totals(
        self, by: Sequence[str] = (), filters: EventFilter | None = None
    ) -> list[UsageRow]:
        """Events added up by the group keys `by`, computed in the database."""
        ...

    async def aclose(self) -> None:
        """Release the connection(s)."""
        ...
