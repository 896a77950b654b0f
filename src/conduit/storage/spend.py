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

import itertools
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
    "start_of",
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


def start_of(window: float, now: float) -> int:
    """The oldest slot of a `window`-second limit (0: for ever) still (partly) inside
    the window at `now`.

    Example:
        >>> start_of(100.0, 1000.5), start_of(0.0, 1000.5)
        (900, 0)
    """
    return slot_of(window, now - window) if window > 0.0 else 0


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
        return start_of(self.key[2], now)

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


def unique_keys(limits: Sequence[SpendLimit]) -> list[LimitKey]:
    """The distinct keys of `limits`, in order (a hold is kept once per key)."""
    if len(limits) == 1:
        return [limits[0].key]
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


_FORGET_EVERY = 4096  # reservations between two sweeps of the memory store


class _Series:
    """One limit key's settled slots and holds, with running sums so a reservation costs
    the same however many slots and holds there are."""

    __slots__ = ("held", "holds", "oldest", "settled", "slots")

    def __init__(self) -> None:
        self.slots: dict[int, float] = {}
        self.settled = 0.0  # the sum of `slots`
        self.oldest: int | None = None  # the smallest key of `slots`
        self.holds: dict[str, _Hold] = {}  # in the order made: soonest expiry first
        self.held = 0.0  # the sum of `holds`

    def add(self, slot: int, usd: float) -> None:
        if usd > 0.0:
            self.slots[slot] = self.slots.get(slot, 0.0) + usd
            self.settled += usd
            if self.oldest is None or slot < self.oldest:
                self.oldest = slot

    def hold(self, rid: str, hold: _Hold) -> None:
        self.holds[rid] = hold
        self.held += hold.usd

    def unhold(self, rid: str) -> _Hold | None:
        hold = self.holds.pop(rid, None)
        if hold is not None:
            self.held = self.held - hold.usd if self.holds else 0.0
        return hold

    def tidy(self, now: float, start: int) -> None:
        """Expired holds become spend at their expiry; slots out of the window go."""
        if self.holds:
            expired = []
            for rid, hold in self.holds.items():
                if hold.expires > now:
                    break  # made later, expiring later (a clock set back only delays this)
                expired.append(rid)
            for rid in expired:
                gone = self.unhold(rid)
                assert gone is not None
                self.add(gone.expires_slot, gone.usd)
        if self.oldest is not None and self.oldest < start:
            self.slots = {slot: usd for slot, usd in self.slots.items() if slot >= start}
            self.settled = sum(self.slots.values())
            self.oldest = min(self.slots, default=None)

    def total(self, start: int) -> float:
        """Settled spend from slot `start` on plus the holds that count there."""
        settled = (
            self.settled
            if self.oldest is None or self.oldest >= start
            else sum(usd for slot, usd in self.slots.items() if slot >= start)
        )
        return settled + sum(h.usd for h in self.holds.values() if h.expires_slot >= start)


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
        self._series: dict[LimitKey, _Series] = {}
        self._lock = threading.Lock()
        # Ids need only be unique in this store: a counter is cheaper than randomness.
        self._ids = itertools.count()
        self._reserves = 0

    def _get(self, key: LimitKey) -> _Series:
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _Series()
        return series

    async def reserve(self, limits: Sequence[SpendLimit], amount: float) -> Reservation:
        """Hold `amount` under every limit or raise `BudgetExceededError` (see `SpendStore`)."""
        amount = check_money(amount, "amount")
        limits = check_limits(limits)
        with self._lock:
            now = self._clock()
            totals = []
            for limit in limits:
                series = self._get(limit.key)
                start = limit.start(now)
                series.tidy(now, start)
                totals.append(series.settled + series.held)  # all of it counts after tidy
            error = refusal(limits, totals, amount)
            if error is not None:
                raise error
            rid = f"m{next(self._ids)}"
            expires = now + self.hold_seconds
            for key in unique_keys(limits):
                self._series[key].hold(rid, _Hold(amount, expires, slot_of(key[2], expires)))
            self._reserves += 1
            if self._reserves % _FORGET_EVERY == 0:
                self._forget(now)
        return Reservation(rid, amount, limits, now, expires)

    def _forget(self, now: float) -> None:
        """Drop windowed series with nothing left in their window (bounded memory for
        limits per user or per key that stop being used)."""
        for key, series in list(self._series.items()):
            if key[2]:
                series.tidy(now, start_of(key[2], now))
                if not series.slots and not series.holds:
                    del self._series[key]

    async def settle(self, reservation: Reservation, actual_usd: float) -> None:
        """Replace the hold by `actual_usd` (idempotent; see `SpendStore`)."""
        actual = check_money(actual_usd, "actual_usd")
        with self._lock:
            now = self._clock()
            for key in unique_keys(reservation.limits):
                series = self._series.get(key)
                hold = None if series is None else series.unhold(reservation.id)
                if series is None or hold is None:
                    continue
                if hold.expires <= now:  # too late: the reserved amount stands
                    series.add(hold.expires_slot, hold.usd)
                else:
                    series.add(slot_of(key[2], now), actual)

    async def release(self, reservation: Reservation) -> None:
        """Drop the hold (= `settle(reservation, 0)`)."""
        await self.settle(reservation, 0.0)

    async def spent(self, limit: SpendLimit) -> float:
        """Settled spend in the window plus holds, in USD."""
        with self._lock:
            series = self._series.get(limit.key)
            return 0.0 if series is None else series.total(limit.start(self._clock()))

    async def aclose(self) -> None:
        """Nothing to release; here for the protocol."""

    def __repr__(self) -> str:
        return f"MemorySpendStore({len(self._series)} limits)"


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
