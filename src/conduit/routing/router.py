"""`Router`: model groups over deployments, with strategies, limits, retries, cooldowns
and fallbacks, in one place for every face.

A model group is a name (`"chat"`) for several deployments of (usually) the same model:
two regions, two keys, two providers. Each call to a group:

1. **Picks** a deployment: not cooling down, not yet tried by this call when another is
   available, of the lowest `order`, and then by the strategy (`conduit.routing.
   strategies`). Its rpm/tpm token buckets (`conduit.storage.buckets`, the same mechanism
   as the `RateLimit` interceptor) are taken from as it is picked (one request, the
   estimated tokens); a deployment whose buckets are short is skipped. When none is
   left the call fails with `RateLimitError` (`retry_after`: when the first would fit).
2. **Tries** it. A `ConduitError` is a failed try. A deployment that fails hard (a
   refused key, a missing model, a rate limit, a timeout: `is_hard_failure`) cools down
   for `cooldown_seconds` (a rate limit's `retry_after` when that is longer) at once;
   one that fails otherwise more than `allowed_fails` times in a minute cools down too.
   The only deployment of a group never cools down, and errors that are the request's
   fault (`is_callers_failure`) blame no deployment.
3. **Retries** by `retry` (a `RetryPolicy`): an error that says it is `retryable` is
   tried again, on another deployment when one is available (at once) or on the same
   one after the policy's backoff (or the error's `retry_after`); a hard failure that is
   not retryable (a refused key) moves to another deployment only.
4. **Falls back** when the group gives up and `fall_back_on(error)` agrees (default
   `should_fall_back`): a context window overflow goes to `context_window_fallbacks`
   first, a content filter refusal to `content_policy_fallbacks` first, then
   `fallbacks`, each a list of other groups tried in turn (one level: a fallback
   group's own fallbacks are not followed). When they all fail, the group's own error
   is raised, with a note per fallback.
5. **Settles** the tpm buckets with the real usage: unused estimated tokens go back,
   extra ones are taken. A failed try keeps what it took (the provider may have counted
   it).

`router.model(group)` is that as a `ChatModel`; `router.route(group, attempt)` runs any
`attempt(deployment)` the same way (the gateway forwards raw bytes for some deployments
through it) and returns a `Routed`, which says which deployment answered.

Cooldowns, failure counts, the round-robin turn and tokens used (for `usage-based`) live
in `state` (`MemoryRouterState`, or `RedisRouterState` shared by processes); calls in
flight and latencies are per process.

Example:
    >>> import asyncio
    >>> from conduit.providers.fake import FunctionModel
    >>> east = FunctionModel(lambda messages, options: "east", name="east")
    >>> west = FunctionModel(lambda messages, options: "west", name="west")
    >>> router = Router({"chat": [east, west]}, strategy="round-robin")
    >>> async def main():
    ...     model = router.model("chat")
    ...     return [(await model.chat("hi")).text for _ in range(3)]
    >>> asyncio.run(main())
    ['east', 'west', 'east']
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, KeysView, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from conduit.core.checks import check_count, check_seconds
from conduit.core.policy import RetryPolicy
from conduit.core.protocols import ChatModel
from conduit.core.sync import run_sync
from conduit.errors import (
    ConduitError,
    ContentFilterError,
    ContextWindowExceededError,
    NotFoundError,
    RateLimitError,
    ValidationError,
)
from conduit.routing.deployment import Deployment
from conduit.routing.failures import is_callers_failure, is_hard_failure, should_fall_back
from conduit.routing.strategies import STRATEGIES, Stats, choose
from conduit.schema import Response
from conduit.storage.buckets import Bucket, BucketStore, MemoryBuckets
from conduit.storage.router_state import MemoryRouterState, RouterState

if TYPE_CHECKING:
    from conduit.routing.models import RoutedEmbedder, RoutedModel

__all__ = ["Attempt", "Routed", "Router"]

T = TypeVar("T")

Attempt = Callable[[Deployment], Awaitable[T]]
"""`attempt(deployment) -> awaitable`: one try of a call on one deployment (`route`)."""

_FAIL_WINDOW = 60.0  # seconds: `allowed_fails` counts failures within a minute
_USAGE_WINDOW = 60.0  # seconds: `usage-based` compares tokens used within a minute


@dataclass(slots=True, eq=False)
class Routed(Generic[T]):
    """What `Router.route` returns: the attempt's `value` and where it came from.

    - `deployment`: the deployment that answered (its `id`, `ref`, `cost(usage)`).
    - `group`: the group it belongs to; `requested`: the group asked for (they differ
      when a fallback answered: `fell_back`).
    - `tries`: tries made, failed ones and fallbacks included.

    When the value is a `Response` the router settles it itself (tpm buckets, cost,
    `metadata["route"]`). Otherwise call `settle(tokens)` with the call's real total
    tokens once known (for a stream, at its end): the estimate taken from the
    deployment's tpm bucket is corrected by the difference. Unsettled, the estimate
    stands.

    Example:
        >>> import asyncio
        >>> router = Router({"g": ["fake/echo"]})
        >>> async def main():
        ...     routed = await router.route("g", lambda d: d.chat_model.chat("hi"))
        ...     return routed.deployment.id, routed.value.text, routed.fell_back
        >>> asyncio.run(main())
        ('g/fake/echo', 'hi', False)
    """

    value: T
    deployment: Deployment
    group: str
    requested: str
    tries: int
    _router: Router = field(repr=False)
    _estimate: int = field(default=0, repr=False)
    _settled: bool = field(default=False, repr=False)
    _held: bool = field(default=False, repr=False)

    @property
    def fell_back(self) -> bool:
        """Whether a fallback group answered (`group != requested`)."""
        return self.group != self.requested

    async def settle(self, tokens: int) -> None:
        """Correct the deployment's tpm bucket (and `usage-based` count) from the
        estimate to the real total `tokens`; only the first call counts."""
        check_count(tokens, "tokens")
        if self._settled:
            return
        self._settled = True
        await self._router._settle(self.deployment, self._estimate, tokens)

    def settle_sync(self, tokens: int) -> None:
        """`settle` for synchronous code."""
        run_sync(self.settle(tokens))

    def _release(self) -> None:
        """Stop counting the call as in flight (`router.model()` streams hold it until
        they end); only the first call counts."""
        if self._held:
            self._held = False
            self._router._stats.in_flight[self.deployment.id or ""] -= 1


def _rank(deployment: Deployment) -> float:
    """Lower orders first; deployments without an order after all that have one."""
    return math.inf if deployment.order is None else deployment.order


@dataclass(slots=True)
class _Group:
    deployments: list[Deployment] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    ordered: bool = False
    tokens: bool = False


def _group_map(value: Any, name: str) -> dict[str, list[str]]:
    if not isinstance(value, Mapping):
        raise ValidationError(f"{name} must be a mapping of group -> [groups], not {value!r}")
    out: dict[str, list[str]] = {}
    for group, targets in value.items():
        if not isinstance(group, str) or not group:
            raise ValidationError(f"{name} keys must be group names, not {group!r}")
        if isinstance(targets, str) or not isinstance(targets, Sequence):
            raise ValidationError(
                f"{name}[{group!r}] must be a list of group names, not {targets!r}"
            )
        for target in targets:
            if not isinstance(target, str) or not target:
                raise ValidationError(f"{name}[{group!r}] must hold group names, not {target!r}")
        out[group] = list(targets)
    return out


class Router:
    """Route calls for model groups over their deployments (see the module docs).

    - `groups`: group name -> deployments (`Deployment`, model strings or `ChatModel`s).
    - `strategy`: one of `STRATEGIES` (`simple-shuffle` by default).
    - `retry`: a `RetryPolicy` or a number of retries (default `RetryPolicy()`, 2).
    - `fallbacks`, `context_window_fallbacks`, `content_policy_fallbacks`: group ->
      other groups to try when it gives up; `fall_back_on` decides which errors do.
    - `allowed_fails`: failures in a minute a deployment may have before it cools
      down; `cooldown_seconds`: how long (0: never cool down).
    - `state`: shared state (`MemoryRouterState()` by default; `RedisRouterState` for
      several processes); `buckets`: the rpm/tpm token buckets (`MemoryBuckets()` by
      default; `RedisRouterState(url).buckets()` for several processes).
    - `seed`: for `simple-shuffle`'s random choice; `clock`: seconds, for latencies.

    Example:
        >>> router = Router({"chat": ["fake/echo", Deployment("fake/echo", id="b", rpm=60)]})
        >>> list(router.groups), [d.id for d in router.deployments("chat")]
        (['chat'], ['chat/fake/echo', 'b'])
    """

    def __init__(
        self,
        groups: Mapping[str, Sequence[Deployment | str | ChatModel]] | None = None,
        *,
        strategy: str = "simple-shuffle",
        retry: RetryPolicy | int | None = None,
        fallbacks: Mapping[str, Sequence[str]] | None = None,
        context_window_fallbacks: Mapping[str, Sequence[str]] | None = None,
        content_policy_fallbacks: Mapping[str, Sequence[str]] | None = None,
        fall_back_on: Callable[[BaseException], bool] | None = None,
        allowed_fails: int = 3,
        cooldown_seconds: float = 5.0,
        state: RouterState | None = None,
        buckets: BucketStore | None = None,
        seed: int | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValidationError(
                f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}"
            )
        self.strategy = strategy
        self.retry = RetryPolicy.of(retry, name="retry")
        self.fallbacks = _group_map(fallbacks or {}, "fallbacks")
        self.context_window_fallbacks = _group_map(
            context_window_fallbacks or {}, "context_window_fallbacks"
        )
        self.content_policy_fallbacks = _group_map(
            content_policy_fallbacks or {}, "content_policy_fallbacks"
        )
        if fall_back_on is not None and not callable(fall_back_on):
            raise ValidationError(f"fall_back_on must be a function, not {fall_back_on!r}")
        self.fall_back_on = fall_back_on or should_fall_back
        self.allowed_fails = check_count(allowed_fails, "allowed_fails")
        self.cooldown_seconds = check_seconds(cooldown_seconds, "cooldown_seconds", allow_zero=True)
        if state is not None and not isinstance(state, RouterState):
            raise ValidationError(f"state must be a RouterState, not {type(state).__name__}")
        if buckets is not None and not isinstance(buckets, BucketStore):
            raise ValidationError(f"buckets must be a BucketStore, not {type(buckets).__name__}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValidationError(f"seed must be a whole number or None, not {seed!r}")
        self.state: RouterState = MemoryRouterState() if state is None else state
        self.buckets: BucketStore = MemoryBuckets() if buckets is None else buckets
        self._clock = clock
        self._rng = random.Random(seed)
        self._stats = Stats()
        self._groups: dict[str, _Group] = {}
        self._group_of: dict[str, str] = {}  # deployment id -> its group
        self._limits: dict[str, list[tuple[Bucket, bool]]] = {}  # id -> (bucket, is tokens)
        self._models: dict[str, RoutedModel] = {}
        self._embedders: dict[str, RoutedEmbedder] = {}
        if groups is not None:
            if not isinstance(groups, Mapping):
                raise ValidationError(
                    f"groups must be a mapping of group name -> deployments, not {groups!r}"
                )
            for group, entries in groups.items():
                if isinstance(entries, str) or not isinstance(entries, Sequence) or not entries:
                    raise ValidationError(
                        f"groups[{group!r}] must be a non-empty list of deployments, "
                        f"not {entries!r}"
                    )
                for entry in entries:
                    self.add_deployment(group, entry)

    # ----------------------------------------------------------------- deployments

    @property
    def groups(self) -> KeysView[str]:
        """The group names, in the order they were added."""
        return self._groups.keys()

    def deployments(self, group: str | None = None) -> tuple[Deployment, ...]:
        """The deployments of `group` (`NotFoundError` for an unknown group), or of every
        group, in the order they were added.

        Example:
            >>> router = Router({"g": ["fake/echo"], "h": ["fake/echo"]})
            >>> [d.id for d in router.deployments()], router.deployments("g")[0].ref
            (['g/fake/echo', 'h/fake/echo'], 'fake/echo')
        """
        if group is None:
            return tuple(d for found in self._groups.values() for d in found.deployments)
        return tuple(self._group(group).deployments)

    def add_deployment(self, group: str, deployment: Deployment | str | ChatModel) -> Deployment:
        """Add a deployment to `group` (made when new); returns it as the router keeps it
        (with its id: the given one, or `"<group>/<provider/name>"`, `#2`, ... for
        repeats).

        Example:
            >>> router = Router()
            >>> router.add_deployment("g", "fake/echo").id
            'g/fake/echo'
            >>> router.add_deployment("g", "fake/echo").id
            'g/fake/echo#2'
        """
        if not isinstance(group, str) or not group:
            raise ValidationError(f"a group name must be a non-empty string, not {group!r}")
        dep = deployment if isinstance(deployment, Deployment) else Deployment(deployment)
        if dep.id is None:
            base = f"{group}/{dep.ref}"
            name, n = base, 1
            while name in self._group_of:
                n += 1
                name = f"{base}#{n}"
            dep = replace(dep, id=name)
        elif dep.id in self._group_of:
            raise ValidationError(f"deployment id {dep.id!r} is used twice; ids must be unique")
        assert dep.id is not None
        self._group_of[dep.id] = group
        limits = []
        if dep.rpm is not None:
            limits.append((Bucket(f"route:{dep.id}:requests", dep.rpm / 60, dep.rpm), False))
        if dep.tpm is not None:
            limits.append((Bucket(f"route:{dep.id}:tokens", dep.tpm / 60, dep.tpm), True))
        if limits:
            self._limits[dep.id] = limits
        found = self._groups.setdefault(group, _Group())
        found.deployments.append(dep)
        found.ids.append(dep.id)
        found.ordered = found.ordered or dep.order is not None
        found.tokens = found.tokens or dep.tpm is not None or self.strategy == "usage-based"
        return dep

    def _group(self, group: str) -> _Group:
        found = self._groups.get(group)
        if found is None:
            known = ", ".join(map(repr, self._groups)) or "(none)"
            raise NotFoundError(f"unknown model group {group!r}; groups: {known}")
        return found

    def model(self, group: str) -> RoutedModel:
        """The group as a `ChatModel` (`chat` and `stream`; one object per group).

        Example:
            >>> Router({"g": ["fake/echo"]}).model("g").model_info.ref
            'router/g'
        """
        found = self._models.get(group)
        if found is None:
            from conduit.routing.models import RoutedModel

            self._group(group)
            found = self._models[group] = RoutedModel(self, group)
        return found

    def embedder(self, group: str) -> RoutedEmbedder:
        """A group of embedding models as an `Embedder` (one object per group).

        Example:
            >>> import asyncio
            >>> len(asyncio.run(Router({"e": ["fake/hash"]}).embedder("e").embed(["a", "b"])))
            2
        """
        found = self._embedders.get(group)
        if found is None:
            from conduit.routing.models import RoutedEmbedder

            self._group(group)
            found = self._embedders[group] = RoutedEmbedder(self, group)
        return found

    # ----------------------------------------------------------------- routing

    async def route(self, group: str, attempt: Attempt[T], *, tokens: int = 0) -> Routed[T]:
        """Run `attempt(deployment)` on a deployment of `group` under the router's
        picking, rpm/tpm limits (`tokens`: the call's estimated tokens), retries,
        cooldowns and fallbacks. A `ConduitError` from `attempt` is a failed try; any
        other exception propagates at once. Returns a `Routed`: the attempt's value,
        the deployment that answered and its group; call `routed.settle(total_tokens)`
        once the real usage is known unless the value is a `Response`.

        Example:
            >>> import asyncio
            >>> router = Router({"g": [Deployment("fake/echo", id="one")]})
            >>> async def name_it(deployment):
            ...     return f"sent to {deployment.id}"
            >>> asyncio.run(router.route("g", name_it)).value
            'sent to one'
        """
        return await self._run(group, attempt, check_count(tokens, "tokens"), hold=False)

    def route_sync(self, group: str, attempt: Attempt[T], *, tokens: int = 0) -> Routed[T]:
        """`route` for synchronous code (`attempt` is still async; it runs on the sync
        bridge's event loop).

        Example:
            >>> router = Router({"g": ["fake/echo"]})
            >>> router.route_sync("g", lambda d: d.chat_model.chat("hi")).value.text
            'hi'
        """
        return run_sync(self.route(group, attempt, tokens=tokens))

    async def _run(self, requested: str, attempt: Attempt[T], tokens: int, hold: bool) -> Routed[T]:
        tries = [0]
        try:
            return await self._on_group(requested, requested, attempt, tokens, hold, tries)
        except ConduitError as error:
            if not self.fall_back_on(error):
                raise
            chain: list[str] = []
            if isinstance(error, ContextWindowExceededError):
                chain += self.context_window_fallbacks.get(requested, ())
            elif isinstance(error, ContentFilterError):
                chain += self.content_policy_fallbacks.get(requested, ())
            chain += self.fallbacks.get(requested, ())
            for group in dict.fromkeys(chain):
                if group == requested:
                    continue
                try:
                    return await self._on_group(group, requested, attempt, tokens, hold, tries)
                except ConduitError as failed:
                    error.add_note(f"fallback group {group!r} failed too: {failed!r}")
            raise

    async def _on_group(
        self,
        name: str,
        requested: str,
        attempt: Attempt[T],
        tokens: int,
        hold: bool,
        tries: list[int],
    ) -> Routed[T]:
        group = self._group(name)
        policy = self.retry
        stats = self._stats
        tried: list[str] = []
        last: ConduitError | None = None
        retries = 0
        delay: float | None
        while True:
            fresh_only, delay = False, 0.0
            if last is not None:
                if retries >= policy.max_retries:
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
                dep = await self._pick(name, group, tokens, tried, fresh_only)
            except ConduitError as unavailable:
                if last is None:
                    raise
                last.add_note(f"no other deployment to retry on: {unavailable.message}")
                raise last from None
            dep_id: str = dep.id  # type: ignore[assignment]  # the router names them all
            if delay and dep_id in tried:
                await asyncio.sleep(delay)
            tried.append(dep_id)
            tries[0] += 1
            busy = stats.in_flight
            busy[dep_id] = busy.get(dep_id, 0) + 1
            started = self._clock()
            try:
                value = await attempt(dep)
            except ConduitError as exc:
                busy[dep_id] -= 1
                last = exc
                await self.failed(dep, exc)
                continue
            except BaseException:
                busy[dep_id] -= 1
                raise
            stats.observe(dep_id, self._clock() - started)
            if not hold:
                busy[dep_id] -= 1
            routed = Routed(value, dep, name, requested, tries[0], self, tokens, False, hold)
            if isinstance(value, Response):
                await self._answered(routed, value)
            return routed

    async def _pick(
        self, name: str, group: _Group, tokens: int, tried: list[str], fresh_only: bool
    ) -> Deployment:
        deployments = group.deployments
        if self.cooldown_seconds and len(deployments) > 1:
            cooling = await self.state.cooling(group.ids)
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
                dep = await choose(
                    self.strategy, name, tier, stats=self._stats, state=self.state, rng=self._rng
                )
                limits = self._limits.get(dep.id)  # type: ignore[arg-type]
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

    async def failed(self, deployment: Deployment, error: BaseException) -> None:
        """Count a failure of `deployment`: cool it down after a hard
        failure, or after more than `allowed_fails` failures in a minute (never the only
        deployment of its group, and never for the request's own fault). The router
        calls this for every failed try; call it for a failure it did not see (a stream
        that broke after its first event reached you).

        Example:
            >>> import asyncio
            >>> from conduit.errors import AuthenticationError
            >>> router = Router({"g": ["fake/echo", "fake/echo"]})
            >>> first = router.deployments("g")[0]
            >>> asyncio.run(router.failed(first, AuthenticationError("bad key")))
            >>> asyncio.run(router.state.cooling([first.id]))
            [True]
        """
        if not self.cooldown_seconds:
            return
        dep_id = deployment.id or ""
        group = self._group_of.get(dep_id)
        if group is None or len(self._groups[group].deployments) < 2:
            return  # never cool down the only deployment of a group
        if is_hard_failure(error):
            retry_after = getattr(error, "retry_after", None) or 0.0
            await self.state.cool(dep_id, max(self.cooldown_seconds, retry_after))
            return
        if is_callers_failure(error):
            return
        fails = await self.state.incr(f"fails:{dep_id}", 1, _FAIL_WINDOW)
        if fails > self.allowed_fails:
            await self.state.cool(dep_id, self.cooldown_seconds)

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

    async def _settle(self, dep: Deployment, estimate: int, tokens: int) -> None:
        if tokens == estimate:
            return
        limits = self._limits.get(dep.id)  # type: ignore[arg-type]
        if limits is not None:
            for bucket, is_tokens in limits:
                if is_tokens:
                    await self.buckets.give(bucket, estimate - tokens)
        if self.strategy == "usage-based":
            await self.state.incr(f"tokens:{dep.id}", tokens - estimate, _USAGE_WINDOW)

    async def _give_back(self, dep: Deployment, estimate: int) -> None:
        limits = self._limits.get(dep.id)  # type: ignore[arg-type]
        if limits is not None:
            for bucket, is_tokens in limits:
                await self.buckets.give(bucket, estimate if is_tokens else 1)
        if self.strategy == "usage-based" and estimate:
            await self.state.incr(f"tokens:{dep.id}", -estimate, _USAGE_WINDOW)

    def __repr__(self) -> str:
        return f"Router(groups={list(self._groups)!r}, strategy={self.strategy!r})"
