"""Budgets in LiteLLM's terms, kept by Conduit's spend stores with reserve -> settle.

Two kinds, both read from the settings at the start of each call:

- `litellm.max_budget = 10.0`: what this process may spend on compat calls in all
  (LiteLLM's process-wide budget), kept in `process_spend`.
- `litellm.budgets = Budgets(...)`: limits per user (`user=`), key
  (`metadata["user_api_key"]`) and tag (`metadata["tags"]`) over rolling windows, and a
  global one (`("global", "*")`), kept in a `conduit.storage.spend.SpendStore` (memory by
  default; SQLite, PostgreSQL or Redis by URL, shared by processes).

Nothing here checks or adds up money: each limit becomes a `conduit.storage.spend.
SpendLimit`, and the call's model is wrapped in the core `Budget` interceptor
(`budget_interceptors`), which reserves the call's worst case under every limit that
applies before anything is sent, settles its real cost after and releases it on
failure. So no number of concurrent calls spends past a budget, and a budget that cannot
take a call raises `BudgetExceededError` (LiteLLM's class, also Conduit's) before
anything is sent.

Example:
    >>> import asyncio
    >>> from conduit.errors import BudgetExceededError
    >>> budgets = Budgets()
    >>> budgets.set("user", "alice", 0.01, window="1d")
    >>> [limit.describe() for limit in budgets.applying(user="alice", key=None, tags=())]
    ["user 'alice' (per 86400 s)"]
    >>> held = asyncio.run(budgets.store.reserve(budgets.applying(user="alice"), 0.008))
    >>> try:
    ...     asyncio.run(budgets.store.reserve(budgets.applying(user="alice"), 0.008))
    ... except BudgetExceededError as exc:
    ...     print(exc.scope, exc.name)
    user alice
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Literal

from conduit.core.checks import check_money, check_window
from conduit.errors import ValidationError
from conduit.interceptors.budget import Budget
from conduit.schema import Prices
from conduit.storage.spend import MemorySpendStore, SpendLimit, SpendStore, open_spend_store

__all__ = [
    "Budgets",
    "ProcessSpend",
    "Scope",
    "budget_interceptors",
    "parse_window",
    "process_spend",
]

Scope = Literal["user", "key", "tag", "global"]
_SCOPES = ("user", "key", "tag", "global")


def parse_window(window: str | float | None) -> float | None:
    """Seconds in a LiteLLM budget duration: a number, or `"30s"`, `"15m"`, `"1h"`,
    `"1d"`, `"4w"`; None: for ever.

    Example:
        >>> parse_window("1d"), parse_window(90), parse_window(None)
        (86400.0, 90.0, None)
    """
    return check_window(window, "window")


class Budgets:
    """Budgets per user, key or tag (and one global) over rolling windows, kept in a
    `SpendStore` (`store`: a store, a URL for `open_spend_store`, or None for memory).

    Example:
        >>> b = Budgets()
        >>> b.set("tag", "nightly", 2.5, window="1d")
        >>> [x.name for x in b.applying(user=None, key=None, tags=["nightly", "other"])]
        ['nightly']
    """

    def __init__(self, store: SpendStore | str | os.PathLike[str] | None = None) -> None:
        if store is None:
            store = MemorySpendStore()
        elif isinstance(store, str | os.PathLike):
            store = open_spend_store(store)
        elif not all(callable(getattr(store, n, None)) for n in ("reserve", "settle", "spent")):
            raise ValidationError(f"store must be a SpendStore or a URL, not {store!r}")
        self.store: SpendStore = store
        self._limits: dict[tuple[str, str], SpendLimit] = {}

    def set(
        self, scope: Scope, name: str, max_budget: float, window: str | float | None = None
    ) -> None:
        """Allow `(scope, name)` `max_budget` USD per `window` (replacing an earlier
        budget); for the global budget, pass `("global", "*")`."""
        if scope not in _SCOPES:
            raise ValidationError(f"a budget's scope is one of {', '.join(_SCOPES)}, not {scope!r}")
        limit = SpendLimit(scope, name, check_money(max_budget, "max_budget"), parse_window(window))
        self._limits[(scope, name)] = limit

    def remove(self, scope: Scope, name: str) -> None:
        """Drop a budget (no error when there is none)."""
        self._limits.pop((scope, name), None)

    def applying(
        self, *, user: str | None = None, key: str | None = None, tags: Iterable[str] = ()
    ) -> list[SpendLimit]:
        """The limits a call with these names falls under (the global one first)."""
        names: list[tuple[str, str]] = [("global", "*")]
        if user:
            names.append(("user", user))
        if key:
            names.append(("key", key))
        names.extend(("tag", t) for t in tags)
        return [self._limits[n] for n in names if n in self._limits]

    async def spent(self, scope: Scope, name: str) -> float:
        """USD spent (and held by calls in flight) under a budget in its window."""
        limit = self._limits.get((scope, name))
        if limit is None:
            raise ValidationError(f"no budget is set for {scope} {name!r}")
        return await self.store.spent(limit)

    async def aclose(self) -> None:
        """Close the store's connections."""
        await self.store.aclose()

    def __repr__(self) -> str:
        return f"Budgets({self.store!r}, {len(self._limits)} budgets)"


class ProcessSpend:
    """What compat calls spent in this process, for `litellm.max_budget` (LiteLLM's
    `litellm._current_cost`), in a `MemorySpendStore`.

    Example:
        >>> import asyncio
        >>> spend = ProcessSpend()
        >>> held = asyncio.run(spend.store.reserve([spend.limit(1.0)], 0.25))
        >>> asyncio.run(spend.store.settle(held, 0.2)); asyncio.run(spend.total())
        0.2
    """

    def __init__(self) -> None:
        self.store: SpendStore = MemorySpendStore()

    @staticmethod
    def limit(max_budget: float) -> SpendLimit:
        """The process-wide limit for `litellm.max_budget`."""
        return SpendLimit("global", "max_budget", check_money(max_budget, "max_budget"))

    async def total(self) -> float:
        """USD spent (and held by calls in flight) so far."""
        return await self.store.spent(self.limit(0.0))

    def reset(self) -> None:
        """Back to zero."""
        self.store = MemorySpendStore()


process_spend = ProcessSpend()
"""The process-wide spend `litellm.max_budget` is checked against."""


def budget_interceptors(
    max_budget: float | None,
    budgets: Budgets | None,
    *,
    user: str | None,
    key: str | None,
    tags: Sequence[str],
    prices: Prices | None,
    max_output_tokens: int | None,
) -> list[Budget]:
    """The core `Budget` interceptors for one call: one over `process_spend` for
    `max_budget`, one over `budgets.store` for the budgets that apply to its names; none
    when no budget applies. `prices` and `max_output_tokens` bound the call's worst case
    when the model it wraps cannot say (a router group, a list of fallbacks).

    Example:
        >>> budget_interceptors(None, None, user=None, key=None, tags=(), prices=None,
        ...                     max_output_tokens=None)
        []
        >>> budget_interceptors(5.0, None, user=None, key=None, tags=(), prices=None,
        ...                     max_output_tokens=None)[0].limits[0].describe()
        "global 'max_budget'"
    """
    out = []
    if max_budget is not None:
        spend = process_spend
        out.append(
            Budget(
                spend.store,
                [spend.limit(max_budget)],
                prices=prices,
                max_output_tokens=max_output_tokens,
            )
        )
    if budgets is not None:
        limits = budgets.applying(user=user, key=key, tags=tags)
        if limits:
            out.append(
                Budget(budgets.store, limits, prices=prices, max_output_tokens=max_output_tokens)
            )
    return out
