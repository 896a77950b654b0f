"""How a router picks one deployment among those available for a call.

The router first drops deployments that are cooling down or at their rpm/tpm limits,
prefers ones this call has not tried yet, and keeps the lowest `order`; the strategy
picks among what is left:

- `simple-shuffle`: at random, weighted by `weight`, else `rpm`, else `tpm` (LiteLLM's
  rule: the first of these that any candidate sets; candidates without it get weight 0);
  uniform when none is set.
- `round-robin`: each in turn (the turn lives in `RouterState`, so processes sharing
  Redis share it).
- `least-busy`: the fewest calls in flight in this process.
- `lowest-latency`: the lowest moving average of answer time (time to first event for
  streams) in this process; deployments not measured yet first, so each gets measured.
- `usage-based`: the fewest tokens used in the last minute (counted in `RouterState`).
- `cost-based`: the lowest price (input + output per million tokens: the deployment's
  `prices`, else the catalog's); unknown prices last.

Ties go to the candidate listed first, except under `simple-shuffle`.

Example:
    >>> "round-robin" in STRATEGIES
    True
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from conduit.routing.deployment import Deployment
from conduit.storage.router_state import RouterState

__all__ = ["STRATEGIES", "Stats", "choose"]

STRATEGIES = (
    "cost-based",
    "least-busy",
    "lowest-latency",
    "round-robin",
    "simple-shuffle",
    "usage-based",
)
"""The strategies a `Router` takes, by name."""

_LATENCY_WEIGHT = 0.3  # the newest answer's share of the moving average


@dataclass(slots=True)
class Stats:
    """What one process knows about its deployments: calls in flight and a moving
    average of answer times (seconds), by deployment id.

    Example:
        >>> stats = Stats()
        >>> stats.observe("d", 1.0); stats.observe("d", 2.0); stats.latency["d"]
        1.3
    """

    in_flight: dict[str, int] = field(default_factory=dict)
    latency: dict[str, float] = field(default_factory=dict)

    def observe(self, deployment_id: str, seconds: float) -> None:
        """Fold one answer time into the deployment's moving average."""
        old = self.latency.get(deployment_id)
        self.latency[deployment_id] = (
            seconds if old is None else round(old + _LATENCY_WEIGHT * (seconds - old), 9)
        )


@dataclass(slots=True)
class _Context:
    group: str
    stats: Stats
    state: RouterState
    rng: random.Random


async def _shuffle(ctx: _Context, candidates: Sequence[Deployment]) -> Deployment:
    for metric in ("weight", "rpm", "tpm"):
        weights = [getattr(d, metric) or 0.0 for d in candidates]
        if max(weights) > 0:
            return ctx.rng.choices(candidates, weights=weights)[0]
    return candidates[ctx.rng.randrange(len(candidates))]


async def _round_robin(ctx: _Context, candidates: Sequence[Deployment]) -> Deployment:
    turn = await ctx.state.incr(f"turn:{ctx.group}", 1, 86_400)
    return candidates[(turn - 1) % len(candidates)]


async def _least_busy(ctx: _Context, candidates: Sequence[Deployment]) -> Deployment:
    busy = ctx.stats.in_flight
    return min(candidates, key=lambda d: busy.get(d.id or "", 0))


async def _lowest_latency(ctx: _Context, candidates: Sequence[Deployment]) -> Deployment:
    latency, busy = ctx.stats.latency, ctx.stats.in_flight
    # Calls in flight break ties, so a burst spreads before anything is measured.
    return min(candidates, key=lambda d: (latency.get(d.id or "", 0.0), busy.get(d.id or "", 0)))


async def _usage_based(ctx: _Context, candidates: Sequence[Deployment]) -> Deployment:
    used = await ctx.state.get_many([f"tokens:{d.id}" for d in candidates])
    return candidates[min(range(len(candidates)), key=used.__getitem__)]


def _price(deployment: Deployment) -> float:
    prices = deployment.effective_prices
    if prices is None or (prices.input is None and prices.output is None):
        return math.inf
    return (prices.input or 0.0) + (prices.output or 0.0)


async def _cost_based(ctx: _Context, candidates: Sequence[Deployment]) -> Deployment:
    return min(candidates, key=_price)


_CHOOSERS: dict[str, Callable[[_Context, Sequence[Deployment]], Awaitable[Deployment]]] = {
    "cost-based": _cost_based,
    "least-busy": _least_busy,
    "lowest-latency": _lowest_latency,
    "round-robin": _round_robin,
    "simple-shuffle": _shuffle,
    "usage-based": _usage_based,
}


async def choose(
    strategy: str,
    group: str,
    candidates: Sequence[Deployment],
    *,
    stats: Stats,
    state: RouterState,
    rng: random.Random,
) -> Deployment:
    """One of `candidates` (not empty) by `strategy` (one of `STRATEGIES`).

    Example:
        >>> import asyncio, random
        >>> from conduit.storage.router_state import MemoryRouterState
        >>> a, b = Deployment("fake/echo", id="a"), Deployment("fake/echo", id="b")
        >>> state = MemoryRouterState()
        >>> async def turns():
        ...     return [(await choose("round-robin", "g", [a, b], stats=Stats(), state=state,
        ...                           rng=random.Random(0))).id for _ in range(3)]
        >>> asyncio.run(turns())
        ['a', 'b', 'a']
    """
    if len(candidates) == 1:
        return candidates[0]
    return await _CHOOSERS[strategy](_Context(group, stats, state, rng), candidates)
