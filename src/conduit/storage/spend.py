"""Spending limits with reserve -> settle: no number of concurrent callers spends past one.

A `SpendLimit` is a budget in US dollars for one scope and name (`"key"`/`"k1"`,
`"user"`/`"alice"`, `"tag"`/`"nightly"`, `"global"`/`"*"`, or your own), over a rolling
`window` of seconds (None: for ever). A `SpendStore` keeps what each limit has spent and
what calls in flight hold:

1. `reserve(limits, amount)` before a call, with the most the call can cost. All or
   nothing, atomically: it succeeds only when, for every limit, settled spend in its
   window + holds in flight + `amount` fits in `max_usd`; otherwise it raises
   `BudgetExceededError` naming the first limit that would be passed, and holds nothing.
   A limit already spent (spent >= max) refuses even a reservation of 0 (a call whose
   price is unknown).
2. `settle(reservation, actual_usd)` after the call: the hold becomes the real cost.
   Idempotent: a second settle (or a release after a settle) does nothing.
3. `release(reservation)` when the call failed before costing anything (= settle with 0).

Because every reservation is checked against the holds of the others, fifty callers
racing for a $0.10 budget with calls of $0.01 get ten reservations, whichever process,
machine or face they come from.

A crashed process never settles. Its holds expire after `hold_seconds` (default one
hour) and then **count as spent at their reserved amount**, as of their expiry (so a
rolling window forgets them one window later): money is reserved before it is spent,
and the provider may well have charged for the call, so a crash must not free budget.
Expiry costs nothing either, since an expired hold still counts: a long hold only lets a
slow call (a long stream) settle at its real cost. A settle that comes after the hold
expired keeps the reserved amount.

Rolling windows are kept as `SLOTS` (100) slots of `window / 100` seconds each; the
oldest slot is counted whole while any part of it is inside the window, so a windowed
limit errs on the safe side by at most a hundredth of its window (a day's budget forgets
a spend between 24 h and 24 h 14.4 min after it). Sums and comparisons tolerate
`EPSILON` (a billionth of a dollar) of floating-point rounding.

Backends: `MemorySpendStore` (this process), `SQLiteSpendStore` (processes on one
machine), `PostgresSpendStore` and `RedisSpendStore` (several machines). `open_spend_store`
picks one by URL.

Example:
    >>> import asyncio
    >>> from conduit.errors import BudgetExceededError
    >>> async def main():
    ...     store = MemorySpendStore()
    ...     daily = SpendLimit("user", "alice", max_usd=0.10, window=86_400)
    ...     held = await store.reserve([daily], 0.08)   # the call's worst case
    ...     await store.settle(held, 0.03)               # what it really cost
    ...     try:
    ...         await store.reserve([daily], 0.08)       # 0.03 + 0.08 > 0.10
    ...     except BudgetExceededError as exc:
    ...         print(exc.scope, exc.name, round(exc.spent, 2), exc.limit)
    ...     return round(await store.spent(daily), 2)
    >>> asyncio.run(main())
    user alice 0.03 0.1
    0.03
"""

from __future__ import annotations

import math
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

from conduit.core.checks import check_money, check_seconds
from conduit.errors import BudgetExceededError, ValidationError

__all__ = [
    "DEFAULT_HOLD_SECONDS",
    "EPSILON",
    "LimitKey",
    "MemorySpendStore",
    "Reservation",
    "SLOTS",
    "SpendLimit",
    "SpendStore",
    "check_limits",
    "fits",
    "new_reservation_id",
    "open_spend_store",
    "refusal",
    "safe_url",
    "slot_of",
    "unique_keys",
]

SLOTS = 100
"""Slots per rolling window: a window is summed in steps of `window / SLOTS` seconds."""
EPSILON = 1e-9
"""USD of floating-point rounding tolerated when sums are compared with a limit."""
DEFAULT_HOLD_SECONDS = 3600.0
"""How long a reservation holds before it counts as spent at its reserved amount."""

_SCOPE = re.compile(r"^[A-Za-z0-9_.\-]+$")

LimitKey = tuple[str, str, float]
"""Where a limit's spend is kept: (scope, name, window seconds; 0.0 for ever). Limits
with the same key share their spend (two budgets of different sizes for one key and
window count the same dollars)."""


def slot_of(window: float, moment: float) -> int:
    """The slot of a `window`-second limit (0: for ever) that `moment` falls in.

    Example:
        >>> slot_of(100.0, 2.5), slot_of(0.0, 12345.0)
        (2, 0)
    """
    if window <= 0.0:
        return 0
    return math.floor(moment / (window / SLOTS))


@dataclass(frozen=True, slots=True)
class SpendLimit:
    """At most `max_usd` US dollars for `scope`/`name` per rolling `window` seconds
    (None: for ever). `max_usd=0` allows nothing.

    Example:
        >>> SpendLimit("key", "k1", max_usd=5, window=3600).key
        ('key', 'k1', 3600.0)
        >>> SpendLimit("key", "k1", max_usd=float("nan"))
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: max_usd must be a finite number of US dollars >= 0...
    """

    scope: str
    name: str
    max_usd: float
    window: float | None = None
    key: LimitKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.scope, str) or not _SCOPE.match(self.scope):
            raise ValidationError(
                f"scope must be a word such as 'key', 'user', 'tag' or 'global' "
                f"(letters, digits, _ . -), not {self.scope!r}"
            )
        if not isinstance(self.name, str) or not self.name:
            raise ValidationError(f"name must be a non-empty string, not {self.name!r}")
        object.__setattr__(self, "max_usd", check_money(self.max_usd, "max_usd"))
        if self.window is not None:
            object.__setattr__(self, "window", check_seconds(self.window, "window"))
        object.__setattr__(self, "key", (self.scope, self.name, self.window or 0.0))

    def start(self, now: float) -> int:
        """The oldest slot still (partly) inside the window at `now`."""
        window = self.key[2]
        return slot_of(window, now - window) if window else 0

    def describe(self) -> str:
        """`user 'alice'` (and its window), for messages."""
        text = f"{self.scope} {self.name!r}"
        if self.window is not None:
            text += f" (per {self.window:g} s)"
        return text


@dataclass(frozen=True, slots=True)
class Reservation:
    """Money held for one call by `SpendStore.reserve`; give it back to `settle` or
    `release`. `created` and `expires` are on the store's clock (Unix seconds).

    Example:
        >>> Reservation("r1", 0.05, (SpendLimit("global", "*", 1.0),), 0.0, 3600.0).amount
        0.05
    """

    id: str
    amount: float
    limits: tuple[SpendLimit, ...]
    created: float
    expires: float


@runtime_checkable
class SpendStore(Protocol):
    """Where spend and holds live; every method is atomic (see the module's text)."""

    async def reserve(self, limits: Sequence[SpendLimit], amount: float) -> Reservation:
        """Hold `amount` USD under every limit, or raise `BudgetExceededError` and hold
        nothing."""
        ...

    async def settle(self, reservation: Reservation, actual_usd: float) -> None:
        """Replace the hold by the real cost (idempotent)."""
        ...

    async def release(self, reservation: Reservation) -> None:
        """Drop the hold: the call cost nothing (= `settle(reservation, 0)`)."""
        ...

    async def spent(self, limit: SpendLimit) -> float:
        """Settled spend in the limit's window plus holds in flight, in USD."""
        ...

    async def aclose(self) -> None:
        """Release connections the store holds."""
        ...


# -- helpers shared by the backends -----------------------------------------------------


def check_limits(limits: Iterable[SpendLimit]) -> tuple[SpendLimit, ...]:
    """`limits` as a tuple, each checked to be a `SpendLimit`.

    Example:
        >>> check_limits([("key", "k1", 1.0)])
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: limits must be SpendLimit values, not ('key', 'k1', 1.0)...
    """
    if isinstance(limits, SpendLimit):
        return (limits,)
    found = tuple(limits)
    for limit in found:
        if not isinstance(limit, SpendLimit):
            raise ValidationError(f"limits must be SpendLimit values, not {limit!r}")
    return found


def unique_keys(limits: Iterable[SpendLimit]) -> list[LimitKey]:
    """The distinct keys of `limits`, in order (a hold is kept once per key)."""
    return list(dict.fromkeys(limit.key for limit in limits))


def fits(spent: float, amount: float, max_usd: float) -> bool:
    """Whether `amount` more fits a limit that has `spent`: the sum stays within
    `max_usd` and the limit is not spent already (so 0 is refused once spent >= max).

    Example:
        >>> fits(0.09, 0.01, 0.10), fits(0.10, 0.0, 0.10), fits(0.0, 0.0, 0.0)
        (True, False, False)
    """
    return spent + amount <= max_usd + EPSILON and spent < max_usd - EPSILON


def refusal(
    limits: Sequence[SpendLimit], totals: Sequence[float], amount: float
) -> BudgetExceededError | None:
    """The error for the first limit `amount` does not fit (None: it fits them all)."""
    for limit, spent in zip(limits, totals, strict=True):
        if not fits(spent, amount, limit.max_usd):
            return BudgetExceededError(
                f"{limit.describe()} would pass its budget: {spent:.6f} of "
                f"{limit.max_usd:.6f} USD spent or held, this call needs up to {amount:.6f}",
                scope=limit.scope,
                name=limit.name,
                spent=spent,
                limit=limit.max_usd,
            )
    return None


def new_reservation_id() -> str:
    """A random id, unique across processes and machines."""
    return secrets.token_hex(12)


def safe_url(url: str) -> str:
    """`url` without its password, for reprs and messages.

    Example:
        >>> safe_url("postgresql://app:hunter2@db:5432/conduit")
        'postgresql://app:***@db:5432/conduit'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<url>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


# -- in this process ----------------------------------------------------------------------


@dataclass(slots=True)
class _Hold:
    usd: float
    expires: float
    expires_slot: int


class MemorySpendStore:
    """Spend and holds in this process; safe across threads and event loops.

    `clock` is a wall clock in seconds (`time.time`); inject one to test windows and
    hold expiry.

    Example:
        >>> import asyncio
        >>> store = MemorySpendStore()
        >>> cap = SpendLimit("global", "*", max_usd=1.0)
        >>> held = asyncio.run(store.reserve([cap], 0.4))
        >>> asyncio.run(store.spent(cap))
        0.4
        >>> asyncio.run(store.release(held)); asyncio.run(store.spent(cap))
        0.0
    """

    def __init__(
        self,
        *,
        hold_seconds: float = DEFAULT_HOLD_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.hold_seconds = check_seconds(hold_seconds, "hold_seconds")
        self._clock = clock
        self._slots: dict[LimitKey, dict[int, float]] = {}
        self._holds: dict[LimitKey, dict[str, _Hold]] = {}
        self._lock = threading.Lock()

    def _total(self, limit: SpendLimit, now: float) -> float:
        start = limit.start(now)
        key = limit.key
        total = 0.0
        slots = self._slots.get(key)
        if slots:
            total = sum(usd for slot, usd in slots.items() if slot >= start)
        holds = self._holds.get(key)
        if holds:
            total += sum(h.usd for h in holds.values() if h.expires_slot >= start)
        return total

    def _tidy(self, limit: SpendLimit, now: float) -> None:
        """Expired holds become spend at their expiry; slots out of the window go."""
        key = limit.key
        holds = self._holds.get(key)
        if holds:
            expired = [rid for rid, h in holds.items() if h.expires <= now]
            for rid in expired:
                hold = holds.pop(rid)
                self._add(key, hold.expires_slot, hold.usd)
        slots = self._slots.get(key)
        if slots and key[2]:
            start = limit.start(now)
            for slot in [s for s in slots if s < start]:
                del slots[slot]

    def _add(self, key: LimitKey, slot: int, usd: float) -> None:
        if usd > 0.0:
            slots = self._slots.setdefault(key, {})
            slots[slot] = slots.get(slot, 0.0) + usd

    async def reserve(self, limits: Sequence[SpendLimit], amount: float) -> Reservation:
        """Hold `amount` under every limit or raise `BudgetExceededError` (see `SpendStore`)."""
        amount = check_money(amount, "amount")
        limits = check_limits(limits)
        rid = new_reservation_id()
        with self._lock:
            now = self._clock()
            for limit in limits:
                self._tidy(limit, now)
            error = refusal(limits, [self._total(limit, now) for limit in limits], amount)
            if error is not None:
                raise error
            expires = now + self.hold_seconds
            for key in unique_keys(limits):
                hold = _Hold(amount, expires, slot_of(key[2], expires))
                self._holds.setdefault(key, {})[rid] = hold
        return Reservation(rid, amount, limits, now, expires)

    async def settle(self, reservation: Reservation, actual_usd: float) -> None:
        """Replace the hold by `actual_usd` (idempotent; see `SpendStore`)."""
        actual = check_money(actual_usd, "actual_usd")
        with self._lock:
            now = self._clock()
            for key in unique_keys(reservation.limits):
                holds = self._holds.get(key)
                hold = None if holds is None else holds.pop(reservation.id, None)
                if hold is None:
                    continue
                if hold.expires <= now:  # too late: the reserved amount stands
                    self._add(key, hold.expires_slot, hold.usd)
                else:
                    self._add(key, slot_of(key[2], now), actual)

    async def release(self, reservation: Reservation) -> None:
        """Drop the hold (= `settle(reservation, 0)`)."""
        await self.settle(reservation, 0.0)

    async def spent(self, limit: SpendLimit) -> float:
        """Settled spend in the window plus holds, in USD."""
        with self._lock:
            return self._total(limit, self._clock())

    async def aclose(self) -> None:
        """Nothing to release; here for the protocol."""

    def __repr__(self) -> str:
        return f"MemorySpendStore({len(self._slots)} limits)"


def open_spend_store(
    url: str | os.PathLike[str] = ":memory:", *, hold_seconds: float = DEFAULT_HOLD_SECONDS
) -> SpendStore:
    """The spend store `url` names: `":memory:"` (this process), a path or
    `sqlite:///path` (processes on one machine), `postgresql://...` or `redis://...`
    (several machines).

    Example:
        >>> open_spend_store(":memory:")
        MemorySpendStore(0 limits)
        >>> open_spend_store("sqlite:///budgets.sqlite3")
        SQLiteSpendStore('budgets.sqlite3')
        >>> open_spend_store("redis://:secret@127.0.0.1:6379/0")
        RedisSpendStore('redis://:***@127.0.0.1:6379/0', prefix='conduit:spend:')
    """
    text = os.fspath(url)
    if not isinstance(text, str) or not text:
        raise ValidationError(f"url must be a path or URL, not {url!r}")
    if text in {":memory:", "memory://"}:
        return MemorySpendStore(hold_seconds=hold_seconds)
    if text.startswith(("postgresql://", "postgres://")):
        from conduit.storage.spend_postgres import PostgresSpendStore

        return PostgresSpendStore(text, hold_seconds=hold_seconds)
    if text.startswith(("redis://", "rediss://", "unix://")):
        from conduit.storage.spend_redis import RedisSpendStore

        return RedisSpendStore(url=text, hold_seconds=hold_seconds)
    from conduit.storage.spend_sqlite import SQLiteSpendStore

    return SQLiteSpendStore(text.removeprefix("sqlite:///"), hold_seconds=hold_seconds)
