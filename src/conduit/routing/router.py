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

import asyncio
import math
import random
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, KeysView, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from conduit.core.checks import check_count, check_seconds
from conduit.core.policy import RetryPolicy
from conduit.core.protocols import ChatModel
from conduit.core.sync import run_sync
from conduit.errors import (
    BadRequestError,
    ConduitError,
    ContentFilterError,
    ContextWindowExceededError,
    NotFoundError,
    RateLimitError,
    ValidationError,
)
from conduit.routing.deployment import Deployment
from conduit.routing.failures import is_callers_failure, is_hard_failure, should_fall_back
from conduit.routing.slots import Slots
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
_VIEWS = 1024  # names resolved to a deployment or through a pattern, kept at most
_DEFAULT_TAG = "default"  # LiteLLM's tag for deployments that serve untagged calls

RetriesByError = Mapping[type[BaseException], int]
"""Retries allowed after an error of a class (the most specific class listed counts)."""


@dataclass(frozen=True, slots=True)
class _Call:
    """Settings of one call (or of a `RoutedModel` made with per-call settings)."""

    retry: RetryPolicy
    by_error: RetriesByError | None = None
    fallbacks: dict[str, list[str]] | None = None
    tags: frozenset[str] | None = None
    prompt: Callable[[Deployment], int] | None = None


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
    _slots: Slots | None = field(default=None, repr=False)

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
            self._router._done(self.deployment.id or "", self._slots)


def _rank(deployment: Deployment) -> float:
    """Lower orders first; deployments without an order after all that have one."""
    return math.inf if deployment.order is None else deployment.order


@dataclass(slots=True)
class _Group:
    deployments: list[Deployment] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    ordered: bool = False
    tokens: bool = False
    parallel: bool = False  # a deployment has `max_parallel`
    pattern: re.Pattern[str] | None = None  # a group named with `*` wildcards


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


def _pattern(group: str) -> re.Pattern[str] | None:
    """The regular expression of a group name with `*` wildcards (each a captured part)."""
    if "*" not in group:
        return None
    return re.compile(re.escape(group).replace(r"\*", "(.*)"))


def _retries_by_error(value: Any, name: str) -> RetriesByError | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValidationError(f"{name} must be a mapping of error class -> retries, not {value!r}")
    out: dict[type[BaseException], int] = {}
    for cls, count in value.items():
        if not (isinstance(cls, type) and issubclass(cls, BaseException)):
            raise ValidationError(f"{name} keys must be error classes, not {cls!r}")
        out[cls] = check_count(count, f"{name}[{cls.__name__}]")
    return out


def _fallbacks_for(value: Any, requested: str) -> dict[str, list[str]] | None:
    """A call's `fallbacks`: a list of groups (for the group it asks for) or a mapping."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return _group_map(value, "fallbacks")
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValidationError(f"fallbacks must be a list of group names, not {value!r}")
    return _group_map({requested: value}, "fallbacks")


def _tags(value: Any, name: str) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError(f"{name} must be a list of tag names, not {value!r}")
    tags = frozenset(value)
    if not all(isinstance(t, str) and t for t in tags):
        raise ValidationError(f"{name} must hold tag names, not {value!r}")
    return tags


class Router:
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

    def _register(self, group: _Group, dep: Deployment) -> None:
        assert dep.id is not None
        self._by_id[dep.id] = dep
        self._group_of[dep.id] = group
        group.deployments.append(dep)
        group.ids.append(dep.id)
        group.ordered = group.ordered or dep.order is not None
        group.tokens = group.tokens or dep.tpm is not None or self.strategy == "usage-based"
        group.parallel = group.parallel or dep.max_parallel is not None

    def _forget_views(self, keep: int = 0) -> None:
        """Drop resolved names (all, or the oldest beyond `keep`) and what they made."""
        while len(self._views) > keep:
            _, view = self._views.popitem(last=False)
            for dep_id in view.ids:
                if self._group_of.get(dep_id) is view:  # a wildcard's concrete deployment
                    del self._group_of[dep_id]
                    del self._by_id[dep_id]
                    self._limits.pop(dep_id, None)
                    self._slots.pop(dep_id, None)

    def _group(self, group: str) -> _Group:
        found = self._groups.get(group)
        if found is not None and found.pattern is None:
            return found
        view = self._views.get(group)
        if view is not None:
            self._views.move_to_end(group)
            return view
        target = self.aliases.get(group)
        if target is not None and target != group:
            return self._group(target)
        if self.route_by_id:
            dep = self._by_id.get(group)
            if dep is not None and not dep.is_wildcard:
                parent = self._group_of[group]
                view = _Group([dep], [group], tokens=parent.tokens, parallel=parent.parallel)
                return self._keep(group, view)
        matched = self._match(group)
        if matched is not None:
            return matched
        if found is not None:  # a pattern group asked for by its own name
            return found
        known = ", ".join(map(repr, self._groups)) or "(none)"
        raise NotFoundError(f"unknown model group {group!r}; groups: {known}")

    def _keep(self, name: str, view: _Group) -> _Group:
        self._views[name] = view
        self._forget_views(keep=_VIEWS)
        return view

    def _first_match(self, text: str) -> tuple[re.Match[str], str] | None:
        for pattern, group in self._patterns:
            match = pattern.fullmatch(text)
            if match is not None:
                return match, group
        return None

    def _match(self, name: str) -> _Group | None:
        """The concrete group of `name` through the most specific pattern group that
        matches it; else through one that matches its resolved `"provider/name"` (as
        LiteLLM tries both, in that order)."""
        if not self._patterns:
            return None
        found = self._first_match(name)
        if found is None and "/" not in name:
            from conduit.api.resolve import resolve_ref

            try:
                found = self._first_match(resolve_ref(name))
            except ConduitError:
                return None
        if found is None:
            return None
        match, group = found
        source = self._groups[group]
        view = _Group(ordered=source.ordered, tokens=source.tokens, parallel=source.parallel)
        made = [  # all expanded before any is registered: one that fails leaves nothing
            (t, t.expand(match.groups(), match.string, id=f"{t.id}[{name}]"))
            for t in source.deployments
        ]
        for template, dep in made:
            dep_id, template_id = dep.id or "", template.id or ""
            if dep is not template:
                # Limits belong to the deployment (its key, its capacity): a wildcard's
                # concrete deployments share its buckets and slots; health is per model.
                self._by_id[dep_id] = dep
                self._group_of[dep_id] = view
                if template_id in self._limits:
                    self._limits[dep_id] = self._limits[template_id]
                if template_id in self._slots:
                    self._slots[dep_id] = self._slots[template_id]
            view.deployments.append(dep)
            view.ids.append(dep_id)
        return self._keep(name, view)

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

    def _eligible(self, name: str, group: _Group, call: _Call) -> list[Deployment]:
        """The group's deployments this call may go to: by tags, by context window."""
        deployments = group.deployments
        if self.tag_filtering:
            tags = call.tags or frozenset()
            tagged = [d for d in deployments if not tags.isdisjoint(d.tags)] if tags else []
            if not tagged:
                tagged = [d for d in deployments if _DEFAULT_TAG in d.tags]
            if not tagged and tags:
                raise BadRequestError(
                    f"no deployment of model group {name!r} may take a call tagged "
                    f"{sorted(tags)} (deployment tags: "
                    f"{sorted({t for d in deployments for t in d.tags}) or 'none'})",
                    provider="router",
                )
            deployments = tagged or deployments
        if self.pre_call_checks and call.prompt is not None:
            fits, largest, size = [], 0, 0
            for dep in deployments:
                window = dep.window
                size = call.prompt(dep)
                if window is None or size <= window:
                    fits.append(dep)
                else:
                    largest = max(largest, window)
            if not fits:
                raise ContextWindowExceededError(
                    f"no deployment of model group {name!r} takes a prompt of {size} tokens "
                    f"(the largest context window is {largest})",
                    provider="router",
                )
            deployments = fits
        return deployments

    def _retries_after(self, error: ConduitError, call: _Call) -> int:
        by_error = call.by_error
        if by_error:
            for cls in type(error).__mro__:
                if cls in by_error:
                    return by_error[cls]
        return call.retry.max_retries

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
        eligible = group.deployments
        if self.tag_filtering or (self.pre_call_checks and call.prompt is not None):
            eligible = self._eligible(name, group, call)
        policy = call.retry
        stats = self._stats
        tried: list[str] = []
        last: ConduitError | None = None
        retries = 0
        delay: float | None
        while True:
            fresh_only, delay = False, 0.0
            if last is not None:
                if retries >= self._retries_after(last, call):
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
                dep = await self._pick(name, group, eligible, tokens, tried, fresh_only)
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
                self,
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

    def _has_slot(self, deployment: Deployment) -> bool:
        slots = self._slots.get(deployment.id)  # type: ignore[arg-type]
        return slots is None or slots.free

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
        if group is None or len(group.deployments) < 2:
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
