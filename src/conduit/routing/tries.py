"""How a router runs one call on one group: pick a deployment (cooldowns, rpm/tpm
buckets, untried first, `order`, free `max_parallel` slots, then the strategy), try it,
and retry on another (or the same, after a wait) until the call's retries are spent.
`_Tries` is that part of `Router`; the router's docstring describes the rules.

Example:
    >>> from conduit.routing import Router
    >>> Router({"g": ["fake/echo"]}).model("g").chat_sync("hi").metadata["route"]["tries"]
    1
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from conduit.errors import ConduitError, RateLimitError
from conduit.routing.calls import _Call, _Group, eligible, retries_after
from conduit.routing.deployment import Deployment
from conduit.routing.failures import is_hard_failure
from conduit.routing.health import _USAGE_WINDOW
from conduit.routing.routed import Attempt, Routed, T, _rank
from conduit.routing.slots import Slots
from conduit.routing.strategies import Stats, choose
from conduit.schema import Response
from conduit.storage.buckets import Bucket, BucketStore
from conduit.storage.router_state import RouterState

if TYPE_CHECKING:
    pass

if TYPE_CHECKING:
    from conduit.routing.router import Router

__all__: list[str] = []


class _Tries:
    """The picking and retrying of `Router` (its state is the router's own)."""

    strategy: str
    state: RouterState
    buckets: BucketStore
    cooldown_seconds: float
    tag_filtering: bool
    pre_call_checks: bool
    _clock: Callable[[], float]
    _rng: random.Random
    _stats: Stats
    _limits: dict[str, list[tuple[Bucket, bool]]]
    _slots: dict[str, Slots]

    if TYPE_CHECKING:  # the router's own, in the other parts of `Router`

        def _group(self, group: str) -> _Group: ...

        async def failed(self, deployment: Deployment, error: BaseException) -> None: ...

        async def _settle(self, dep: Deployment, estimate: int, tokens: int) -> None: ...

        async def _give_back(self, dep: Deployment, estimate: int) -> None: ...

    async def _on_group(
        self,
        name: str,
        requested: str,
        attempt: Attempt[T],
        tokens: int,
        hold: bool,
        tries: list[int],
        call: _Call,
    ) -> Routed[T]:
        group = self._group(name)
        eligible_ = group.deployments
        if self.tag_filtering or (self.pre_call_checks and call.prompt is not None):
            eligible_ = eligible(
                name,
                group,
                call,
                tag_filtering=self.tag_filtering,
                pre_call_checks=self.pre_call_checks,
            )
        policy = call.retry
        stats = self._stats
        tried: list[str] = []
        last: ConduitError | None = None
        retries = 0
        delay: float | None
        while True:
            fresh_only, delay = False, 0.0
            if last is not None:
                if retries >= retries_after(last, call):
                    raise last
                if last.retryable:
                    delay = policy.delay(retries, last.retry_after)
                    fresh_only = delay is None  # the server asked for too long a wait
                elif is_hard_failure(last):
                    fresh_only = True  # this deployment's problem: another one may do
                else:
                    raise last
                retries += 1
            try:
                dep = await self._pick(name, group, eligible_, tokens, tried, fresh_only)
            except ConduitError as unavailable:
                if last is None:
                    raise
                last.add_note(f"no other deployment to retry on: {unavailable.message}")
                raise last from None
            dep_id: str = dep.id  # type: ignore[assignment]  # the router names them all
            if delay and dep_id in tried:
                await asyncio.sleep(delay)
            slots = self._slots.get(dep_id)
            if slots is not None:
                await slots.acquire()
            tried.append(dep_id)
            tries[0] += 1
            busy = stats.in_flight
            busy[dep_id] = busy.get(dep_id, 0) + 1
            started = self._clock()
            try:
                value = await attempt(dep)
            except ConduitError as exc:
                self._done(dep_id, slots)
                last = exc
                await self.failed(dep, exc)
                continue
            except BaseException:
                self._done(dep_id, slots)
                raise
            stats.observe(dep_id, self._clock() - started)
            if not hold:
                self._done(dep_id, slots)
            routed = Routed(
                value,
                dep,
                name,
                requested,
                tries[0],
                cast("Router", self),
                tokens,
                False,
                hold,
                slots if hold else None,
            )
            if isinstance(value, Response):
                await self._answered(routed, value)
            return routed

    def _done(self, dep_id: str, slots: Slots | None) -> None:
        """A call on the deployment ended: no longer in flight, its slot free."""
        self._stats.in_flight[dep_id] -= 1
        if slots is not None:
            slots.release()

    async def _pick(
        self,
        name: str,
        group: _Group,
        deployments: list[Deployment],
        tokens: int,
        tried: list[str],
        fresh_only: bool,
        dry: bool = False,
    ) -> Deployment:
        if self.cooldown_seconds and len(deployments) > 1:
            ids = group.ids if deployments is group.deployments else [d.id for d in deployments]
            cooling = await self.state.cooling(ids)  # type: ignore[arg-type]
            available = [d for d, cool in zip(deployments, cooling, strict=True) if not cool]
            if not available:
                raise RateLimitError(
                    f"no deployment of model group {name!r} is available: all are cooling down",
                    provider="router",
                    retry_after=self.cooldown_seconds,
                )
        else:
            available = deployments
        if tried:
            fresh = [d for d in available if d.id not in tried]
            pools = [fresh] if fresh_only else [fresh, [d for d in available if d.id in tried]]
        else:
            pools = [available]
        waits: list[float] = []
        for pool in pools:
            while pool:
                tier = pool
                if group.ordered:
                    top = min(map(_rank, pool))
                    tier = [d for d in pool if _rank(d) == top]
                if group.parallel:
                    # deployments with a free slot first; when none has one, wait for one
                    free = [d for d in tier if self._has_slot(d)]
                    tier = free or tier
                dep = await choose(
                    self.strategy, name, tier, stats=self._stats, state=self.state, rng=self._rng
                )
                limits = self._limits.get(dep.id)  # type: ignore[arg-type]
                if dry:
                    return dep
                if limits is not None:
                    takes = [(bucket, tokens if is_tokens else 1) for bucket, is_tokens in limits]
                    wait = await self.buckets.take(takes)
                    if wait > 0.0:
                        waits.append(wait)
                        pool = [d for d in pool if d is not dep]
                        continue
                if self.strategy == "usage-based" and tokens:
                    await self.state.incr(f"tokens:{dep.id}", tokens, _USAGE_WINDOW)
                return dep
        if waits:
            wait = min(waits)
            raise RateLimitError(
                f"no deployment of model group {name!r} is available: all are at their "
                f"rpm/tpm limits; retry in {wait:.2f} s",
                provider="router",
                retry_after=round(wait, 3),
            )
        raise ConduitError(f"model group {name!r} has no other deployment available")

    async def pick(self, group: str) -> Deployment:
        """The deployment a call to `group` would go to now, by the same rules (cooldowns,
        `order`, the strategy), without calling it or taking from its rpm/tpm limits
        (LiteLLM's `get_available_deployment`).

        Example:
            >>> import asyncio
            >>> from conduit.routing import Deployment, Router
            >>> router = Router({"g": [Deployment("fake/echo", id="a", order=1),
            ...                        Deployment("fake/echo", id="b", order=2)]})
            >>> asyncio.run(router.pick("g")).id
            'a'
        """
        found = self._group(group)
        return await self._pick(group, found, found.deployments, 0, [], False, dry=True)

    def _has_slot(self, deployment: Deployment) -> bool:
        slots = self._slots.get(deployment.id)  # type: ignore[arg-type]
        return slots is None or slots.free

    async def _answered(self, routed: Routed[Any], response: Response) -> None:
        """Settle a `Response`'s tokens, price it by the deployment, say where it came from."""
        dep = routed.deployment
        if response.metadata.get("cache_hit") is True:
            # Answered from a cache inside the deployment's model: nothing went upstream.
            routed._settled = True
            await self._give_back(dep, routed._estimate)
        else:
            if not routed._settled:
                routed._settled = True
                await self._settle(dep, routed._estimate, response.usage.total_tokens)
            if dep.prices is not None:
                response.cost = dep.prices.cost(response.usage)
        route = {
            "group": routed.group,
            "deployment": dep.id,
            "model": dep.ref,
            "tries": routed.tries,
            "requested": routed.requested,
        }
        # A new dict: a model may hand out shallow copies of one answer (fakes, caches).
        response.metadata = {**response.metadata, "route": route}
