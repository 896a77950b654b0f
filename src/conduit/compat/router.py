"""`Router`: LiteLLM's load balancer over model groups, on Conduit's models.

A model group is a name (`"gpt"`) with several deployments, each a set of
`completion()` parameters (`"model": "openai/gpt-4o-mini"`, `api_base`, `api_key`, any
provider) plus optional `rpm`/`tpm` limits. Each call picks one deployment of the group
by the strategy (`simple-shuffle`, weighted by `weight`/`rpm`/`tpm` when given;
`round-robin`; `least-busy`, fewest calls in flight; `lowest-latency`, lowest moving
average of answer time), skipping deployments that are cooling down or that would pass
their requests or tokens per minute. A failed call is retried (`num_retries`, on another
deployment when there is one); a deployment that fails hard (401, 404, 408, 429) or
more than `allowed_fails` times in a minute cools down for `cooldown_time` seconds
(never the only deployment of a group). When the group gives up, `fallbacks`
(`[{"gpt": ["claude"]}]`) name other groups to try; a context window overflow goes to
`context_window_fallbacks` first, a content-policy refusal to
`content_policy_fallbacks`.

Shared state (per-minute counts, cooldowns, the round-robin counter) lives in memory,
or in Redis with `redis_url=` (or `redis_host`/`redis_port`/`redis_password`) so several
processes share the limits; calls in flight and latencies are per process.

Example:
    >>> router = Router(model_list=[
    ...     {"model_name": "chat", "litellm_params": {"model": "fake/echo"}},
    ...     {"model_name": "chat", "litellm_params": {"model": "fake/echo", "rpm": 100}},
    ... ], routing_strategy="round-robin")
    >>> router.completion("chat", [{"role": "user", "content": "Hi"}]).choices[0].message.content
    'Hi'
    >>> router.get_model_names()
    ['chat']
"""

from __future__ import annotations

import asyncio
import math
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conduit import errors
from conduit.compat import exceptions as exc_mod
from conduit.compat.chat import CustomStreamWrapper, _complete
from conduit.compat.responses import EmbeddingResponse, ModelResponse
from conduit.core.sync import run_sync
from conduit.errors import ConduitError, ProviderError, ValidationError
from conduit.storage.router_state import MemoryRouterState, RedisRouterState, RouterState

__all__ = [
    "Attempt",
    "Deployment",
    "MemoryRouterState",
    "RedisRouterState",
    "Router",
    "RouterState",
]

STRATEGIES = ("simple-shuffle", "round-robin", "least-busy", "lowest-latency")
_ALIASES = {"latency-based-routing": "lowest-latency", "usage-based-routing": "simple-shuffle"}
_HARD_FAILURES = frozenset({401, 404, 408, 429})
_ROUTER_KEYS = frozenset({"rpm", "tpm", "weight", "model"})

Attempt = Callable[["Deployment", Any, dict[str, Any]], Awaitable[Any]]
"""`attempt(deployment, messages, call_kwargs)`: one try on one deployment (`Router.aroute`)."""


@dataclass(frozen=True, slots=True)
class Deployment:
    """One deployment of a model group.

    Example:
        >>> Deployment("chat", {"model": "openai/gpt-4o-mini"}, id="d1", rpm=60).rpm
        60
    """

    model_name: str
    params: Mapping[str, Any]
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    rpm: int | None = None
    tpm: int | None = None
    weight: float | None = None
    model_info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> str:
        """The deployment's `provider/model`."""
        return str(self.params["model"])


def _fallback_map(entries: Sequence[Mapping[str, Sequence[str]]] | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for entry in entries or ():
        for group, targets in entry.items():
            out.setdefault(group, []).extend([targets] if isinstance(targets, str) else targets)
    return out


class Router:
    """Route calls for model groups over their deployments (LiteLLM's `Router`).

    Example:
        >>> import asyncio
        >>> router = Router([{"model_name": "g", "litellm_params": {"model": "fake/echo"}}])
        >>> asyncio.run(router.acompletion("g", [{"role": "user", "content": "Hi"}])).model
        'echo'
    """

    def __init__(
        self,
        model_list: Sequence[Mapping[str, Any]] | None = None,
        *,
        routing_strategy: str = "simple-shuffle",
        num_retries: int | None = None,
        retry_after: float = 0.0,
        timeout: float | None = None,
        fallbacks: Sequence[Mapping[str, Sequence[str]]] | None = None,
        context_window_fallbacks: Sequence[Mapping[str, Sequence[str]]] | None = None,
        content_policy_fallbacks: Sequence[Mapping[str, Sequence[str]]] | None = None,
        fallback_errors: tuple[type[BaseException], ...] = (ProviderError,),
        allowed_fails: int = 3,
        cooldown_time: float = 5.0,
        disable_cooldowns: bool = False,
        redis_url: str | None = None,
        redis_host: str | None = None,
        redis_port: int | None = None,
        redis_password: str | None = None,
        state: RouterState | None = None,
        seed: int | None = None,
        **_litellm: Any,
    ) -> None:
        strategy = _ALIASES.get(routing_strategy, routing_strategy)
        if strategy not in STRATEGIES:
            raise ValidationError(
                f"routing_strategy must be one of {', '.join(STRATEGIES)}, not {routing_strategy!r}"
            )
        self.routing_strategy = strategy
        self.num_retries = 2 if num_retries is None else int(num_retries)
        self.retry_after = retry_after
        self.timeout = timeout
        self.fallbacks = _fallback_map(fallbacks)
        self.context_window_fallbacks = _fallback_map(context_window_fallbacks)
        self.content_policy_fallbacks = _fallback_map(content_policy_fallbacks)
        self.fallback_errors = fallback_errors
        self.allowed_fails = allowed_fails
        self.cooldown_time = cooldown_time
        self.disable_cooldowns = disable_cooldowns
        if state is None and (redis_url or redis_host):
            url = redis_url or (
                f"redis://{':' + redis_password + '@' if redis_password else ''}"
                f"{redis_host}:{redis_port or 6379}"
            )
            state = RedisRouterState(url)
        self.state: RouterState = state or MemoryRouterState()
        self._random = random.Random(seed)
        self.groups: dict[str, list[Deployment]] = {}
        self._in_flight: dict[str, int] = {}
        self._latency: dict[str, float] = {}
        for entry in model_list or ():
            self.add_deployment(entry)

    # ----------------------------------------------------------------- deployments

    def add_deployment(self, entry: Mapping[str, Any] | Deployment) -> Deployment:
        """Add one `{"model_name", "litellm_params", "model_info"}` entry (or a `Deployment`)."""
        if isinstance(entry, Deployment):
            dep = entry
        else:
            params = dict(entry.get("litellm_params") or {})
            if "model" not in params or "model_name" not in entry:
                raise ValidationError(
                    "a deployment needs model_name and litellm_params={'model': ...}: "
                    f"{dict(entry)!r}"
                )
            info = dict(entry.get("model_info") or {})
            dep = Deployment(
                model_name=str(entry["model_name"]),
                params=params,
                id=str(info.get("id") or uuid.uuid4().hex[:12]),
                rpm=params.get("rpm"),
                tpm=params.get("tpm"),
                weight=params.get("weight"),
                model_info=info,
            )
        self.groups.setdefault(dep.model_name, []).append(dep)
        return dep

    @property
    def model_list(self) -> list[Deployment]:
        """Every deployment."""
        return [d for group in self.groups.values() for d in group]

    def get_model_names(self) -> list[str]:
        """The model group names."""
        return list(self.groups)

    # ----------------------------------------------------------------- picking

    @staticmethod
    def _minute() -> int:
        return int(time.time() // 60)

    async def _pick(self, group: str, tokens: int, exclude: set[str]) -> Deployment:
        deployments = self.groups.get(group)
        if not deployments:
            raise exc_mod.BadRequestError(
                f"no deployments for model group {group!r}; known groups: "
                f"{', '.join(self.groups) or '(none)'}",
                model=group,
            )
        ids = [d.id for d in deployments]
        cooling = (
            await self.state.cooling(ids) if not self.disable_cooldowns else [False] * len(ids)
        )
        minute = self._minute()
        limited = [d for d in deployments if d.rpm is not None or d.tpm is not None]
        used: dict[str, tuple[int, int]] = {}
        if limited:
            counts = await self.state.get_many(
                [k for d in limited for k in (f"rpm:{d.id}:{minute}", f"tpm:{d.id}:{minute}")]
            )
            for i, d in enumerate(limited):
                used[d.id] = (counts[2 * i], counts[2 * i + 1])
        available = []
        for dep, cool in zip(deployments, cooling, strict=True):
            if cool:
                continue
            requests, tokens_used = used.get(dep.id, (0, 0))
            if dep.rpm is not None and requests + 1 > dep.rpm:
                continue
            if dep.tpm is not None and tokens_used + tokens > dep.tpm:
                continue
            available.append(dep)
        fresh = [d for d in available if d.id not in exclude] or available
        if not fresh:
            wait = 60 - time.time() % 60
            reason = "cooling down" if all(cooling) else "at their rpm/tpm limits"
            raise exc_mod.RateLimitError(
                f"no deployments available for model group {group!r}: all are {reason}",
                model=group,
                retry_after=None if all(cooling) else round(wait, 3),
            )
        dep = await self._choose(group, fresh)
        if dep.rpm is not None or dep.tpm is not None:
            await self.state.incr(f"rpm:{dep.id}:{minute}", 1, 60)
        return dep

    async def _choose(self, group: str, candidates: list[Deployment]) -> Deployment:
        if len(candidates) == 1:
            return candidates[0]
        strategy = self.routing_strategy
        if strategy == "round-robin":
            turn = await self.state.incr(f"rr:{group}", 1, 86400)
            return candidates[(turn - 1) % len(candidates)]
        if strategy == "least-busy":
            return min(candidates, key=lambda d: self._in_flight.get(d.id, 0))
        if strategy == "lowest-latency":
            # Untried deployments first (latency 0), so each gets measured.
            # (calls in flight break ties, so a burst spreads before anything is measured).
            return min(
                candidates,
                key=lambda d: (self._latency.get(d.id, 0.0), self._in_flight.get(d.id, 0)),
            )
        weights = [d.weight or d.rpm or d.tpm or 1 for d in candidates]
        return self._random.choices(candidates, weights=weights)[0]

    async def _failed(self, dep: Deployment, exc: BaseException) -> None:
        if self.disable_cooldowns or len(self.groups.get(dep.model_name, ())) < 2:
            return  # never cool down the only deployment of a group
        status = getattr(exc, "status_code", None)
        fails = await self.state.incr(f"fails:{dep.id}:{self._minute()}", 1, 60)
        if status in _HARD_FAILURES or fails > self.allowed_fails:
            await self.state.cool(dep.id, self.cooldown_time)

    # ----------------------------------------------------------------- calling

    def _estimate(self, messages: Any, kwargs: Mapping[str, Any]) -> int:
        if isinstance(messages, str):
            chars = len(messages)
        else:
            chars = sum(
                len(str(m.get("content") or "")) for m in messages or () if isinstance(m, Mapping)
            )
        return math.ceil(chars / 4) + int(kwargs.get("max_tokens") or 0)

    async def _on_group(
        self,
        group: str,
        messages: Any,
        kwargs: dict[str, Any],
        is_async: bool,
        try_once: Attempt | None = None,
    ) -> Any:
        tokens = self._estimate(messages, kwargs)
        tried: set[str] = set()
        last: BaseException | None = None
        for attempt in range(self.num_retries + 1):
            dep = await self._pick(group, tokens, tried)
            tried.add(dep.id)
            params = {k: v for k, v in dep.params.items() if k not in _ROUTER_KEYS}
            call = {**params, **kwargs, "num_retries": 0}
            if self.timeout is not None:
                call.setdefault("timeout", self.timeout)
            call.setdefault("metadata", {})
            call["metadata"] = {**call["metadata"], "model_group": group, "deployment": dep.model}
            self._in_flight[dep.id] = self._in_flight.get(dep.id, 0) + 1
            started = time.perf_counter()
            try:
                if try_once is None:
                    answer = await _complete(dep.model, messages, call, is_async=is_async)
                else:
                    answer = await try_once(dep, messages, call)
            except ConduitError as exc:
                last = exc
                await self._failed(dep, exc)
                if not _retryable(exc) or attempt == self.num_retries:
                    raise
                if self.retry_after:
                    await asyncio.sleep(self.retry_after)
                continue
            finally:
                self._in_flight[dep.id] -= 1
            elapsed = time.perf_counter() - started
            old = self._latency.get(dep.id)
            self._latency[dep.id] = elapsed if old is None else 0.7 * old + 0.3 * elapsed
            if dep.tpm is not None and isinstance(answer, ModelResponse | dict):
                used = int((answer.get("usage") or {}).get("total_tokens") or 0)
                await self.state.incr(f"tpm:{dep.id}:{self._minute()}", used, 60)
            hidden = getattr(answer, "_hidden_params", None)
            if hidden is not None:
                hidden["model_id"] = dep.id
                hidden["model_group"] = group
            return answer
        raise AssertionError(last)  # pragma: no cover - the loop returns or raises

    async def _acompletion(
        self,
        model: str,
        messages: Any,
        kwargs: dict[str, Any],
        *,
        is_async: bool,
        try_once: Attempt | None = None,
    ) -> Any:
        groups_tried = [model]
        try:
            return await self._on_group(model, messages, dict(kwargs), is_async, try_once)
        except ConduitError as first:
            error: BaseException = first
            if isinstance(first, errors.ContextWindowExceededError):
                chain = self.context_window_fallbacks.get(model) or self.fallbacks.get(model, [])
            elif isinstance(first, errors.ContentFilterError):
                chain = self.content_policy_fallbacks.get(model) or self.fallbacks.get(model, [])
            elif isinstance(first, self.fallback_errors):
                chain = self.fallbacks.get(model, [])
            else:
                raise
            for group in chain:
                if group in groups_tried:
                    continue
                groups_tried.append(group)
                try:
                    result = await self._on_group(group, messages, dict(kwargs), is_async, try_once)
                    hidden = getattr(result, "_hidden_params", None)
                    if hidden is not None:
                        hidden["fallback_from"] = model
                    return result
                except ConduitError as exc:
                    error = exc
            raise error from None

    async def acompletion(
        self, model: str, messages: Any = None, **kwargs: Any
    ) -> ModelResponse | CustomStreamWrapper:
        """`acompletion()` on a deployment of the model group `model`.

        Example:
            >>> import asyncio
            >>> router = Router([{"model_name": "g", "litellm_params": {"model": "fake/echo"}}])
            >>> asyncio.run(router.acompletion("g", "Hi")).choices[0].message.content
            'Hi'
        """
        answer: ModelResponse | CustomStreamWrapper = await self._acompletion(
            model, messages, kwargs, is_async=True
        )
        return answer

    async def aroute(self, model: str, messages: Any, attempt: Attempt, **kwargs: Any) -> Any:
        """Run `attempt(deployment, messages, call_kwargs)` on a deployment of the group
        `model`, with everything `acompletion` does around a call: the strategy, rpm/tpm
        limits, retries, cooldowns and fallbacks (a `ConduitError` from `attempt` counts
        as a failed try). The gateway forwards OpenAI-shaped bodies this way. What
        `attempt` returns is returned.

        Example:
            >>> import asyncio
            >>> router = Router([{"model_name": "g", "litellm_params": {"model": "fake/echo"}}])
            >>> async def name_it(deployment, messages, call):
            ...     return {"deployment": deployment.model}
            >>> asyncio.run(router.aroute("g", "Hi", name_it))
            {'deployment': 'fake/echo'}
        """
        return await self._acompletion(model, messages, kwargs, is_async=True, try_once=attempt)

    def completion(
        self, model: str, messages: Any = None, **kwargs: Any
    ) -> ModelResponse | CustomStreamWrapper:
        """`completion()` on a deployment of the model group `model`.

        Example:
            >>> router = Router([{"model_name": "g", "litellm_params": {"model": "fake/echo"}}])
            >>> router.completion("g", "Hi").usage.total_tokens > 0
            True
        """
        answer: ModelResponse | CustomStreamWrapper = run_sync(
            self._acompletion(model, messages, kwargs, is_async=False)
        )
        return answer

    async def aembedding(self, model: str, input: Any = (), **kwargs: Any) -> EmbeddingResponse:
        """`aembedding()` on a deployment of the model group `model` (retried like chat).

        Example:
            >>> import asyncio
            >>> router = Router([{"model_name": "e", "litellm_params": {"model": "fake/hash"}}])
            >>> len(asyncio.run(router.aembedding("e", ["a", "b"])).data)
            2
        """
        from conduit.compat.embeddings import aembedding

        tried: set[str] = set()
        for attempt in range(self.num_retries + 1):
            dep = await self._pick(model, 0, tried)
            tried.add(dep.id)
            params = {k: v for k, v in dep.params.items() if k not in _ROUTER_KEYS}
            try:
                return await aembedding(dep.model, input, **{**params, **kwargs, "num_retries": 0})
            except ConduitError as exc:
                await self._failed(dep, exc)
                if not _retryable(exc) or attempt == self.num_retries:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def embedding(self, model: str, input: Any = (), **kwargs: Any) -> EmbeddingResponse:
        """`aembedding()` for synchronous code.

        Example:
            >>> router = Router([{"model_name": "e", "litellm_params": {"model": "fake/hash"}}])
            >>> router.embedding("e", "a").object
            'list'
        """
        return run_sync(self.aembedding(model, input, **kwargs))


def _retryable(exc: BaseException) -> bool:
    """Worth another try: rate limits, server errors, timeouts and connection failures."""
    return isinstance(
        exc,
        errors.RateLimitError | errors.ServerError | errors.APIConnectionError,
    ) or (isinstance(exc, ProviderError) and exc.status_code in (408, 409))
