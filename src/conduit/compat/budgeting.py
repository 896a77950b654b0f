"""Budgets: spending limits per user, key or tag over a time window, checked before
each call; the spend of each answer is recorded in a ledger.

`Budgets.set("user", "alice", 5.0, window="1d")` allows alice $5 per rolling day.
Before a call, every budget that applies to it (its `user=`, its
`metadata["user_api_key"]`, each of its `metadata["tags"]`, and the `"global"` one) is
checked against the ledger's spend in that window; a spent one raises
`BudgetExceededError` and nothing is sent. After the answer, its cost (from the
catalog's prices) is recorded once for the call, under all of its names.

The ledger is a small protocol (`SpendLedger`: `record`, `spent`) with an in-memory
default; `EventSpendLedger` keeps the spend in the persistent usage ledger of
`conduit.storage` (a SQLite file, or PostgreSQL), so it survives restarts and several
processes share one budget.

Example:
    >>> import asyncio
    >>> budgets = Budgets()
    >>> budgets.set("user", "alice", 0.01, window="1d")
    >>> asyncio.run(budgets.record(0.02, model="openai/gpt-4o", user="alice"))
    >>> try:
    ...     asyncio.run(budgets.check(user="alice"))
    ... except BudgetExceededError as exc:
    ...     print(exc.entity_type, exc.entity_id, exc.current_cost, exc.max_budget)
    user alice 0.02 0.01
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from conduit.compat.exceptions import BudgetExceededError
from conduit.errors import ValidationError

if TYPE_CHECKING:
    from conduit.storage.events import EventStore

__all__ = [
    "Budget",
    "Budgets",
    "EventSpendLedger",
    "MemorySpendLedger",
    "ProcessSpend",
    "Scope",
    "SpendLedger",
    "SpendRecord",
    "parse_window",
    "process_spend",
]

Scope = Literal["user", "key", "tag", "global"]
_SCOPES = ("user", "key", "tag", "global")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_window(window: str | float | None) -> float | None:
    """Seconds in a window: a number, or `"30s"`, `"15m"`, `"1h"`, `"1d"`, `"4w"`; None:
    for ever.

    Example:
        >>> parse_window("1d"), parse_window(90), parse_window(None)
        (86400.0, 90.0, None)
    """
    if window is None:
        return None
    if isinstance(window, int | float):
        seconds = float(window)
    else:
        found = _WINDOW.match(window)
        if not found:
            raise ValidationError(f"a budget window looks like '30d', '1h' or 3600, not {window!r}")
        seconds = float(found.group(1)) * _UNITS[found.group(2)]
    if seconds <= 0:
        raise ValidationError(f"a budget window must be positive, not {window!r}")
    return seconds


@dataclass(frozen=True, slots=True)
class SpendRecord:
    """One answer's spend, under each name it counts for.

    Example:
        >>> SpendRecord(at=0.0, cost_usd=0.1, model="openai/gpt-4o", user="alice").tags
        ()
    """

    at: float
    cost_usd: float
    model: str = ""
    user: str | None = None
    key: str | None = None
    tags: tuple[str, ...] = ()

    def names(self) -> list[tuple[Scope, str]]:
        """The `(scope, name)` pairs this spend counts for."""
        out: list[tuple[Scope, str]] = [("global", "*")]
        if self.user:
            out.append(("user", self.user))
        if self.key:
            out.append(("key", self.key))
        out.extend(("tag", tag) for tag in self.tags)
        return out


@runtime_checkable
class SpendLedger(Protocol):
    """Where spend goes and how much was spent since when."""

    async def record(self, record: SpendRecord) -> None:
        """Keep one answer's spend."""
        ...

    async def spent(self, scope: Scope, name: str, since: float) -> float:
        """USD spent under `(scope, name)` at or after `since` (a `time.time()` value)."""
        ...


class MemorySpendLedger:
    """The in-process ledger (lost at exit; one process only).

    Example:
        >>> import asyncio
        >>> ledger = MemorySpendLedger()
        >>> asyncio.run(ledger.record(SpendRecord(at=10.0, cost_usd=0.5, user="bob")))
        >>> asyncio.run(ledger.spent("user", "bob", since=0.0))
        0.5
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_name: dict[tuple[str, str], list[tuple[float, float]]] = {}

    async def record(self, record: SpendRecord) -> None:
        with self._lock:
            for name in record.names():
                self._by_name.setdefault(name, []).append((record.at, record.cost_usd))

    async def spent(self, scope: Scope, name: str, since: float) -> float:
        with self._lock:
            entries = self._by_name.get((scope, name), [])
            # Drop what no window can see any more is the caller's choice; keep it simple.
            return sum(cost for at, cost in entries if at >= since)


class EventSpendLedger:
    """Spend kept as events in a usage ledger (`conduit.storage`'s `EventStore`):
    durable, and shared by every process that opens the same SQLite file or PostgreSQL
    database. Each record is one `TokenEvent` carrying the user, key and tags; `spent`
    adds up costs in the database.

    Example:
        >>> import asyncio
        >>> from conduit.storage.events_sqlite import SQLiteEventStore
        >>> async def main():
        ...     ledger = EventSpendLedger(SQLiteEventStore(":memory:"))
        ...     await ledger.record(SpendRecord(at=10.0, cost_usd=0.5, key="k1", tags=("a",)))
        ...     found = await ledger.spent("key", "k1", 0.0), await ledger.spent("tag", "a", 0.0)
        ...     await ledger.store.aclose()
        ...     return found
        >>> asyncio.run(main())
        (0.5, 0.5)
    """

    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def record(self, record: SpendRecord) -> None:
        from conduit.storage.events import TokenEvent

        provider, _, name = record.model.partition("/")
        await self.store.record(
            TokenEvent(
                timestamp=datetime.fromtimestamp(record.at, UTC),
                provider=provider or "unknown",
                model=name or provider or "unknown",
                cost=record.cost_usd,
                user=record.user,
                key_id=record.key,
                tags=record.tags,
            )
        )

    async def spent(self, scope: Scope, name: str, since: float) -> float:
        from conduit.storage.events import EventFilter

        start = None if since == float("-inf") else datetime.fromtimestamp(since, UTC)
        if scope == "user":
            filters = EventFilter(since=start, user=name)
        elif scope == "key":
            filters = EventFilter(since=start, key_id=name)
        elif scope == "tag":
            filters = EventFilter(since=start, has_tag=name)
        else:
            filters = EventFilter(since=start)
        rows = await self.store.totals(filters=filters)
        return rows[0].cost if rows else 0.0

    def __repr__(self) -> str:
        return f"EventSpendLedger({self.store!r})"


@dataclass(frozen=True, slots=True)
class Budget:
    """A limit in USD over a rolling window (None: since the process started).

    Example:
        >>> Budget("tag", "batch-jobs", 10.0, window=parse_window("7d")).window
        604800.0
    """

    scope: Scope
    name: str
    max_budget: float
    window: float | None = None


@dataclass
class Budgets:
    """Budgets and the ledger they are checked against.

    Example:
        >>> b = Budgets()
        >>> b.set("tag", "nightly", 2.5, window="1d")
        >>> [x.name for x in b.applying(user=None, key=None, tags=["nightly", "other"])]
        ['nightly']
    """

    ledger: SpendLedger = field(default_factory=MemorySpendLedger)
    clock: Callable[[], float] = time.time
    _limits: dict[tuple[str, str], Budget] = field(default_factory=dict)

    def set(
        self, scope: Scope, name: str, max_budget: float, window: str | float | None = None
    ) -> None:
        """Allow `(scope, name)` `max_budget` USD per `window` (replacing an earlier budget);
        for the global budget, pass `("global", "*")`."""
        if scope not in _SCOPES:
            raise ValidationError(f"a budget's scope is one of {', '.join(_SCOPES)}, not {scope!r}")
        if max_budget < 0:
            raise ValidationError(f"max_budget must be >= 0, not {max_budget!r}")
        self._limits[(scope, name)] = Budget(scope, name, float(max_budget), parse_window(window))

    def remove(self, scope: Scope, name: str) -> None:
        """Drop a budget (no error when there is none)."""
        self._limits.pop((scope, name), None)

    def applying(self, *, user: str | None, key: str | None, tags: Iterable[str]) -> list[Budget]:
        """The budgets a call with these names falls under."""
        names: list[tuple[str, str]] = [("global", "*")]
        if user:
            names.append(("user", user))
        if key:
            names.append(("key", key))
        names.extend(("tag", t) for t in tags)
        return [self._limits[n] for n in names if n in self._limits]

    async def check(
        self, *, user: str | None = None, key: str | None = None, tags: Sequence[str] = ()
    ) -> None:
        """Raise `BudgetExceededError` when any budget that applies is spent."""
        now = self.clock()
        for budget in self.applying(user=user, key=key, tags=tags):
            since = now - budget.window if budget.window is not None else float("-inf")
            spent = await self.ledger.spent(budget.scope, budget.name, since)
            if spent >= budget.max_budget:
                raise BudgetExceededError(
                    current_cost=spent,
                    max_budget=budget.max_budget,
                    entity_type=budget.scope,
                    entity_id=budget.name,
                )

    async def record(
        self,
        cost_usd: float | None,
        *,
        model: str = "",
        user: str | None = None,
        key: str | None = None,
        tags: Sequence[str] = (),
    ) -> None:
        """Put one answer's cost in the ledger (nothing when the cost is unknown)."""
        if cost_usd is None:
            return
        await self.ledger.record(SpendRecord(self.clock(), cost_usd, model, user, key, tuple(tags)))


class ProcessSpend:
    """What compat calls spent in this process, for `config.max_budget` (LiteLLM's
    `litellm._current_cost`).

    Example:
        >>> spend = ProcessSpend()
        >>> spend.add(0.25); spend.add(None); spend.total
        0.25
    """

    def __init__(self) -> None:
        self.total = 0.0
        self._lock = threading.Lock()

    def add(self, cost: float | None) -> None:
        """Count one answer's cost (unknown costs count nothing)."""
        if cost:
            with self._lock:
                self.total += cost

    def reset(self) -> None:
        """Back to zero."""
        with self._lock:
            self.total = 0.0


process_spend = ProcessSpend()
"""The process-wide spend `config.max_budget` is checked against."""
