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

Before picking, a call's candidates may be narrowed: with `tag_filtering=True`, to the
deployments that carry one of the call's tags (else those tagged `"default"`); with
`pre_call_checks=True`, to those whose context window the prompt fits (none left: a
`ContextWindowExceededError`, so `context_window_fallbacks` apply). A deployment with
`max_parallel` takes that many calls at once in this process; more wait for a slot.

A name a call gives is a group; else one of `aliases`; else (with `route_by_id=True`) a
deployment's id, which routes to that deployment alone; else a name that a *pattern*
group matches (a group named with `*` wildcards, `"openai/*"` or `"*"`: its wildcard
deployments, `Deployment("openai/*")`, are filled in for the name, see
`Deployment.expand`); else `NotFoundError`.

`router.model(group)` is that as a `ChatModel`; `router.route(group, attempt)` runs any
`attempt(deployment)` the same way (the gateway forwards raw bytes for some deployments
through it) and returns a `Routed`, which says which deployment answered. Both take
per-call settings: `retry`, `retries_by_error`, `fallbacks`, `tags` (and, for
`model()`, `connection` settings that replace the deployments' own for those calls).

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

import random
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, KeysView, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from conduit.core.checks import check_count, check_seconds
from conduit.core.policy import RetryPolicy
from conduit.core.protocols import ChatModel
from conduit.core.sync import run_sync
from conduit.errors import (
    ConduitError,
    ContentFilterError,
    ContextWindowExceededError,
    NotFoundError,
    ValidationError,
)
from conduit.routing.calls import (
    RetriesByError,
    _Call,
    _fallbacks_for,
    _Group,
    _group_map,
    _pattern,
    _retries_by_error,
    _tags,
)
from conduit.routing.deployment import Deployment
from conduit.routing.failures import should_fall_back
from conduit.routing.health import _Health
from conduit.routing.names import _Names
from conduit.routing.routed import Attempt, Routed, T
from conduit.routing.slots import Slots
from conduit.routing.strategies import STRATEGIES, Stats
from conduit.routing.tries import _Tries
from conduit.storage.buckets import Bucket, BucketStore, MemoryBuckets
from conduit.storage.router_state import MemoryRouterState, RouterState

if TYPE_CHECKING:
    from conduit.routing.models import RoutedEmbedder, RoutedModel

__all__ = ["Attempt", "Routed", "Router"]


class Router(_Names, _Health, _Tries):
    """Route calls for model groups over their deployments (see the module docs).

    - `groups`: group name -> deployments (`Deployment`, model strings or `ChatModel`s);
      a name with `*` wildcards is a pattern group (its wildcard deployments are filled
      in for each name it matches).
    - `strategy`: one of `STRATEGIES` (`simple-shuffle` by default).
    - `retry`: a `RetryPolicy` or a number of retries (default `RetryPolicy()`, 2);
      `retries_by_error`: retries after an error of a class instead
      (`{RateLimitError: 3, AuthenticationError: 0}`; the most specific class counts).
      Which errors are worth repeating is still each error's own `retryable`.
    - `fallbacks`, `context_window_fallbacks`, `content_policy_fallbacks`: group ->
      other groups to try when it gives up; `fall_back_on` decides which errors do.
    - `allowed_fails`: failures in a minute a deployment may have before it cools
      down; `cooldown_seconds`: how long (0: never cool down).
    - `aliases`: other names for groups (`{"gpt-4": "chat"}`).
    - `route_by_id`: a call may name one deployment by its id (off by default).
    - `tag_filtering`: pick among the deployments that carry one of a call's `tags`
      (a call without tags, or whose tags no deployment has, goes to those tagged
      `"default"`; a call without tags goes anywhere when none is).
    - `pre_call_checks`: skip deployments whose context window a call's prompt does not
      fit (`Deployment.window`).
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
        retries_by_error: RetriesByError | None = None,
        fallbacks: Mapping[str, Sequence[str]] | None = None,
        context_window_fallbacks: Mapping[str, Sequence[str]] | None = None,
        content_policy_fallbacks: Mapping[str, Sequence[str]] | None = None,
        fall_back_on: Callable[[BaseException], bool] | None = None,
        allowed_fails: int = 3,
        cooldown_seconds: float = 5.0,
        aliases: Mapping[str, str] | None = None,
        route_by_id: bool = False,
        tag_filtering: bool = False,
        pre_call_checks: bool = False,
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
        self.retries_by_error = _retries_by_error(retries_by_error, "retries_by_error")
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
        if aliases is not None and not isinstance(aliases, Mapping):
            raise ValidationError(f"aliases must be a mapping of name -> group, not {aliases!r}")
        self.aliases: dict[str, str] = {}
        for alias, target in (aliases or {}).items():
            if not (isinstance(alias, str) and alias and isinstance(target, str) and target):
                raise ValidationError(f"aliases must map names to group names: {alias!r}")
            self.aliases[alias] = target
        for name, flag in (
            ("route_by_id", route_by_id),
            ("tag_filtering", tag_filtering),
            ("pre_call_checks", pre_call_checks),
        ):
            if not isinstance(flag, bool):
                raise ValidationError(f"{name} must be true or false, not {flag!r}")
        self.route_by_id = route_by_id
        self.tag_filtering = tag_filtering
        self.pre_call_checks = pre_call_checks
        if state is not None and not isinstance(state, RouterState):
            raise ValidationError(f"state must be a RouterState, not {type(state).__name__}")
        if buckets is not None and not isinstance(buckets, BucketStore):
            raise ValidationError(f"buckets must be a BucketStore, not {type(buckets).__name__}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValidationError(f"seed must be a whole number or None, not {seed!r}")
        self._own_state = state is None
        self._own_buckets = buckets is None
        self.state: RouterState = MemoryRouterState() if state is None else state
        self.buckets: BucketStore = MemoryBuckets() if buckets is None else buckets
        self._clock = clock
        self._rng = random.Random(seed)
        self._stats = Stats()
        self._call = _Call(self.retry, self.retries_by_error)
        self._groups: dict[str, _Group] = {}
        self._patterns: list[tuple[re.Pattern[str], str]] = []  # most specific first
        self._views: OrderedDict[str, _Group] = OrderedDict()  # ids, pattern matches
        self._by_id: dict[str, Deployment] = {}
        self._group_of: dict[str, _Group] = {}  # deployment id -> its group
        self._limits: dict[str, list[tuple[Bucket, bool]]] = {}  # id -> (bucket, is tokens)
        self._slots: dict[str, Slots] = {}  # id -> its `max_parallel` slots
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
        """The group names (pattern groups too), in the order they were added."""
        return self._groups.keys()

    def deployments(self, group: str | None = None) -> tuple[Deployment, ...]:
        """The deployments of `group` (any name a call may give: a group, an alias, a
        deployment id with `route_by_id`, a name a pattern group matches;
        `NotFoundError` for one that is none of these), or of every group, in the order
        they were added.

        Example:
            >>> router = Router({"g": ["fake/echo"], "h": ["fake/echo"]})
            >>> [d.id for d in router.deployments()], router.deployments("g")[0].ref
            (['g/fake/echo', 'h/fake/echo'], 'fake/echo')
        """
        if group is None:
            return tuple(d for found in self._groups.values() for d in found.deployments)
        return tuple(self._group(group).deployments)

    def deployment(self, id: str) -> Deployment:
        """The deployment with this id (`NotFoundError` when there is none).

        Example:
            >>> Router({"g": [Deployment("fake/echo", id="a")]}).deployment("a").ref
            'fake/echo'
        """
        found = self._by_id.get(id)
        if found is None:
            raise NotFoundError(f"no deployment has the id {id!r}")
        return found

    def add_deployment(self, group: str, deployment: Deployment | str | ChatModel) -> Deployment:
        """Add a deployment to `group` (made when new); returns it as the router keeps it
        (with its id: the given one, or `"<group>/<provider/name>"`, `#2`, ... for
        repeats). A wildcard deployment (`"openai/*"`) goes in a group whose name is a
        pattern (`"openai/*"`, `"*"`).

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
        pattern = _pattern(group)
        if dep.is_wildcard and pattern is None:
            raise ValidationError(
                f"the wildcard deployment {dep.ref!r} belongs to a group named with '*' "
                f"(like {dep.ref!r}), not to {group!r}"
            )
        if dep.id is None:
            base = f"{group}/{dep.ref}"
            name, n = base, 1
            while name in self._by_id:
                n += 1
                name = f"{base}#{n}"
            dep = replace(dep, id=name)
        elif dep.id in self._by_id:
            raise ValidationError(f"deployment id {dep.id!r} is used twice; ids must be unique")
        assert dep.id is not None
        limits = []
        if dep.rpm is not None:
            limits.append((Bucket(f"route:{dep.id}:requests", dep.rpm / 60, dep.rpm), False))
        if dep.tpm is not None:
            limits.append((Bucket(f"route:{dep.id}:tokens", dep.tpm / 60, dep.tpm), True))
        if limits:
            self._limits[dep.id] = limits
        if dep.max_parallel is not None:
            self._slots[dep.id] = Slots(dep.max_parallel)
        found = self._groups.get(group)
        if found is None:
            found = self._groups[group] = _Group(pattern=pattern)
            if pattern is not None:
                self._patterns.append((pattern, group))
                # LiteLLM's order: the longest pattern first, then the one with more wildcards
                self._patterns.sort(
                    key=lambda p: (len(p[0].pattern), p[0].pattern.count("(.*)")), reverse=True
                )
        self._register(found, dep)
        self._forget_views()
        return dep

    def model(
        self,
        group: str,
        *,
        retry: RetryPolicy | int | None = None,
        retries_by_error: RetriesByError | None = None,
        fallbacks: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
        tags: Iterable[str] | None = None,
        connection: Mapping[str, Any] | None = None,
    ) -> RoutedModel:
        """The group as a `ChatModel` (`chat` and `stream`). Without per-call settings,
        one object per group; with them, a new object whose calls use them: `retry` and
        `retries_by_error` instead of the router's, `fallbacks` (a list of groups for
        this group, or a mapping) instead of the router's, `tags` for `tag_filtering`,
        and `connection` settings (`api_key`, `base_url`, ...) over each deployment's
        own (deployments holding a model object keep theirs).

        Example:
            >>> Router({"g": ["fake/echo"]}).model("g").model_info.ref
            'router/g'
            >>> Router({"g": ["fake/echo"]}).model("g", retry=0).chat_sync("hi").text
            'hi'
        """
        from conduit.routing.models import RoutedModel

        settings = self._settings(group, retry, retries_by_error, fallbacks, tags)
        if connection is not None and not isinstance(connection, Mapping):
            raise ValidationError(f"connection must be a mapping of settings, not {connection!r}")
        if settings is None and not connection:
            found = self._models.get(group)
            if found is None:
                self._group(group)
                found = self._models[group] = RoutedModel(self, group)
            return found
        self._group(group)
        return RoutedModel(self, group, settings=settings, connection=connection)

    def _settings(
        self,
        group: str,
        retry: RetryPolicy | int | None,
        retries_by_error: RetriesByError | None,
        fallbacks: Any,
        tags: Iterable[str] | None,
    ) -> _Call | None:
        if retry is None and retries_by_error is None and fallbacks is None and tags is None:
            return None
        return _Call(
            self.retry if retry is None else RetryPolicy.of(retry, name="retry"),
            self.retries_by_error
            if retries_by_error is None
            else _retries_by_error(retries_by_error, "retries_by_error"),
            _fallbacks_for(fallbacks, group),
            _tags(tags, "tags"),
        )

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

    def reset(self) -> None:
        """Forget what the router learned: cooldowns, failure counts, tokens used and the
        round-robin turn (when its `state` is its own, in memory), its rpm/tpm buckets
        (when its own), latencies, and the names it resolved. Shared state (Redis)
        is left alone: other processes use it.

        Example:
            >>> router = Router({"g": ["fake/echo"]})
            >>> router.reset(); router.model("g").chat_sync("hi").text
            'hi'
        """
        if self._own_state:
            self.state = MemoryRouterState()
        if self._own_buckets:
            self.buckets = MemoryBuckets()
        self._stats.latency.clear()
        self._forget_views()

    # ----------------------------------------------------------------- routing

    async def route(
        self,
        group: str,
        attempt: Attempt[T],
        *,
        tokens: int = 0,
        retry: RetryPolicy | int | None = None,
        retries_by_error: RetriesByError | None = None,
        fallbacks: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
        tags: Iterable[str] | None = None,
        prompt_tokens: int | None = None,
    ) -> Routed[T]:
        """Run `attempt(deployment)` on a deployment of `group` under the router's
        picking, rpm/tpm limits (`tokens`: the call's estimated tokens), retries,
        cooldowns and fallbacks. A `ConduitError` from `attempt` is a failed try; any
        other exception propagates at once. Returns a `Routed`: the attempt's value,
        the deployment that answered and its group; call `routed.settle(total_tokens)`
        once the real usage is known unless the value is a `Response`. Per-call
        `retry`, `retries_by_error`, `fallbacks` and `tags` are as for `model()`;
        `prompt_tokens` is the prompt's size for `pre_call_checks`.

        Example:
            >>> import asyncio
            >>> router = Router({"g": [Deployment("fake/echo", id="one")]})
            >>> async def name_it(deployment):
            ...     return f"sent to {deployment.id}"
            >>> asyncio.run(router.route("g", name_it)).value
            'sent to one'
        """
        call = self._settings(group, retry, retries_by_error, fallbacks, tags) or self._call
        if prompt_tokens is not None:
            size = check_count(prompt_tokens, "prompt_tokens")
            call = replace(call, prompt=lambda deployment: size)
        return await self._run(group, attempt, check_count(tokens, "tokens"), False, call)

    def route_sync(
        self,
        group: str,
        attempt: Attempt[T],
        *,
        tokens: int = 0,
        retry: RetryPolicy | int | None = None,
        retries_by_error: RetriesByError | None = None,
        fallbacks: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
        tags: Iterable[str] | None = None,
        prompt_tokens: int | None = None,
    ) -> Routed[T]:
        """`route` for synchronous code (`attempt` is still async; it runs on the sync
        bridge's event loop).

        Example:
            >>> router = Router({"g": ["fake/echo"]})
            >>> router.route_sync("g", lambda d: d.chat_model.chat("hi")).value.text
            'hi'
        """
        return run_sync(
            self.route(
                group,
                attempt,
                tokens=tokens,
                retry=retry,
                retries_by_error=retries_by_error,
                fallbacks=fallbacks,
                tags=tags,
                prompt_tokens=prompt_tokens,
            )
        )

    async def _run(
        self, requested: str, attempt: Attempt[T], tokens: int, hold: bool, call: _Call
    ) -> Routed[T]:
        tries = [0]
        try:
            return await self._on_group(requested, requested, attempt, tokens, hold, tries, call)
        except ConduitError as error:
            if not self.fall_back_on(error):
                raise
            names = [requested]
            if requested in self.aliases:
                names.append(self.aliases[requested])
            fallbacks = self.fallbacks if call.fallbacks is None else call.fallbacks
            chain: list[str] = []
            for name in names:
                if isinstance(error, ContextWindowExceededError):
                    chain += self.context_window_fallbacks.get(name, ())
                elif isinstance(error, ContentFilterError):
                    chain += self.content_policy_fallbacks.get(name, ())
                chain += fallbacks.get(name, ())
            for group in dict.fromkeys(chain):
                if group in names:
                    continue
                try:
                    return await self._on_group(
                        group, requested, attempt, tokens, hold, tries, call
                    )
                except ConduitError as failed:
                    error.add_note(f"fallback group {group!r} failed too: {failed!r}")
            raise

    def __repr__(self) -> str:
        return f"Router(groups={list(self._groups)!r}, strategy={self.strategy!r})"
