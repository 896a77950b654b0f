"""`Router`: LiteLLM's load balancer, translated into one core `conduit.routing.Router`.

LiteLLM's configuration is mapped once, in `__init__`, and every call goes through the
core router, which does all the routing: picking (the strategy, `order`, rpm/tpm token
buckets), retries (`RetryPolicy`), cooldowns and fallbacks. This class only translates:

- `model_list=[{"model_name", "litellm_params", "model_info"}]`: groups of core
  `Deployment`s, `id=model_info["id"]` (default: the core's `"<group>/<provider/name>"`);
- `litellm_params`: `rpm`, `tpm`, `weight`, `order` as they are;
  `input_cost_per_token`/`output_cost_per_token` as `prices` (per million tokens);
  `mock_response` as a `MockResponseModel` deployment; `api_key`, `api_base`, `timeout`,
  `extra_headers`, `max_retries` and any other provider setting as the deployment's
  `connection` (by the compat precedence: params > settings > environment); retries are
  the router's, so the model's own `max_retries` is 0 unless given;
- `routing_strategy`: `simple-shuffle`, `least-busy`, `latency-based-routing`
  (`lowest-latency`), `usage-based-routing` and `-v2` (`usage-based`),
  `cost-based-routing` (`cost-based`), and the core's `round-robin`;
- `num_retries` (2) and `retry_after`: `retry=RetryPolicy(max_retries=num_retries,
  initial_delay=retry_after)`;
- `fallbacks`, `context_window_fallbacks`, `content_policy_fallbacks` (LiteLLM's lists
  of `{group: [groups]}`) and `default_fallbacks`: the core's mappings;
- `allowed_fails`, `cooldown_time`, `disable_cooldowns`: `allowed_fails`,
  `cooldown_seconds` (0: off);
- `redis_url` (or `redis_host`, `redis_port`, `redis_password`, `redis_db`):
  `state=RedisRouterState(url)` and `buckets=state.buckets()`;
- `timeout`: each deployment's `Timeout`.

`completion`/`acompletion` are `conduit.compat.completion`'s path with the group as the
model (`router.core.model(group)`), so callbacks, budgets, `mock_response` and LiteLLM's
objects are the same; `_hidden_params` say which deployment answered (`model_id`,
`model_group`, `fallback_from`). `embedding`/`aembedding` use `router.core.embedder(group)`.

Example:
    >>> router = Router(model_list=[
    ...     {"model_name": "chat", "litellm_params": {"model": "fake/echo"}},
    ...     {"model_name": "chat", "litellm_params": {"model": "fake/echo", "rpm": 100}},
    ... ], routing_strategy="least-busy")
    >>> router.completion("chat", [{"role": "user", "content": "Hi"}]).choices[0].message.content
    'Hi'
    >>> router.get_model_names(), router.core.strategy
    (['chat'], 'least-busy')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from conduit.api.resolve import model_info
from conduit.compat import config
from conduit.compat.chat import (
    Bounds,
    CustomStreamWrapper,
    Target,
    complete,
    worst_case,
)
from conduit.compat.deployments import aliases_of, retries_by_error, to_deployment
from conduit.compat.embeddings import run_embedding
from conduit.compat.mock import MockFallbacks, RoutedMock
from conduit.compat.responses import EmbeddingResponse, ModelResponse
from conduit.compat.router_info import CooldownCache, model_group_info, should_retry_this_error
from conduit.compat.types.router import AllowedFailsPolicy as AllowedFailsPolicy
from conduit.compat.types.router import Deployment as DeploymentEntry
from conduit.compat.types.router import LiteLLM_Params, ModelGroupInfo
from conduit.compat.types.router import ModelInfo as LiteLLMModelInfo
from conduit.compat.types.router import RetryPolicy as RetryPolicy
from conduit.core.policy import Timeout
from conduit.core.protocols import ChatModel, Embedder
from conduit.core.sync import run_sync
from conduit.errors import ConduitError, ValidationError
from conduit.interceptors import with_interceptors
from conduit.routing import Deployment
from conduit.routing import Router as CoreRouter
from conduit.routing.litellm_config import redis_url_of, router_arguments
from conduit.storage.router_state import RedisRouterState, RouterState

__all__ = ["Router"]


class Router:
    """LiteLLM's `Router` over one core `conduit.routing.Router` (`router.core`); see
    the module's table for how each setting maps.

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
        timeout: float | Timeout | None = None,
        fallbacks: Sequence[Mapping[str, Sequence[str]]] | None = None,
        context_window_fallbacks: Sequence[Mapping[str, Sequence[str]]] | None = None,
        content_policy_fallbacks: Sequence[Mapping[str, Sequence[str]]] | None = None,
        default_fallbacks: Sequence[str] | None = None,
        allowed_fails: int = 3,
        cooldown_time: float = 5.0,
        disable_cooldowns: bool = False,
        redis_url: str | None = None,
        redis_host: str | None = None,
        redis_port: int | None = None,
        redis_password: str | None = None,
        redis_db: int | None = None,
        enable_pre_call_checks: bool = False,
        enable_tag_filtering: bool = False,
        default_max_parallel_requests: int | None = None,
        retry_policy: Any = None,
        model_group_alias: Mapping[str, Any] | None = None,
        fall_back_on: Callable[[BaseException], bool] | None = None,
        state: RouterState | None = None,
        seed: int | None = None,
        **_litellm: Any,  # LiteLLM's other settings (caching, alerting, ...): not provided
    ) -> None:
        if default_fallbacks is not None and not isinstance(default_fallbacks, Sequence):
            raise ValidationError(
                f"default_fallbacks must list group names, not {default_fallbacks!r}"
            )
        self._timeout = Timeout.of(timeout, name="timeout")
        self._max_parallel = default_max_parallel_requests
        url = redis_url_of(
            {
                "redis_url": redis_url,
                "redis_host": redis_host,
                "redis_port": redis_port,
                "redis_password": redis_password,
                "redis_db": redis_db,
            }
        )
        if state is None and url:
            state = RedisRouterState(url)
        buckets = state.buckets() if isinstance(state, RedisRouterState) else None
        settings = config.snapshot()
        made = [self._deployment(entry, settings) for entry in model_list or ()]
        # LiteLLM's router settings, translated as the gateway's config translates them.
        arguments = router_arguments(
            {
                "routing_strategy": routing_strategy,
                "num_retries": 2 if num_retries is None else num_retries,
                "retry_after": retry_after,
                "fallbacks": fallbacks,
                "context_window_fallbacks": context_window_fallbacks,
                "content_policy_fallbacks": content_policy_fallbacks,
                "default_fallbacks": default_fallbacks,
                "allowed_fails": allowed_fails,
                "cooldown_time": cooldown_time,
                "disable_cooldowns": disable_cooldowns,
            },
            [group for group, _, _ in made],
            where="Router",
        )
        self.core = CoreRouter(
            None,
            fall_back_on=fall_back_on,
            retries_by_error=retries_by_error(retry_policy) or None,
            aliases=aliases_of(model_group_alias),
            route_by_id=True,
            tag_filtering=bool(enable_tag_filtering),
            pre_call_checks=bool(enable_pre_call_checks),
            state=state,
            buckets=buckets,
            seed=seed,
            **arguments,
        )
        self._entries: list[dict[str, Any]] = []
        self._bounds: dict[str, Bounds] = {}
        for group, deployment, entry in made:
            self._add(group, deployment, entry)

    # ----------------------------------------------------------------- deployments

    def _deployment(
        self, entry: Mapping[str, Any], settings: config.Settings
    ) -> tuple[str, Deployment, dict[str, Any]]:
        return to_deployment(
            entry, settings, timeout=self._timeout, max_parallel=self._max_parallel
        )

    def _add(self, group: str, deployment: Deployment, entry: dict[str, Any]) -> dict[str, Any]:
        kept = self.core.add_deployment(group, deployment)
        entry["model_info"] = {**entry["model_info"], "id": kept.id}
        self._entries.append(entry)
        self._bounds.clear()
        return entry

    def add_deployment(self, deployment: Mapping[str, Any]) -> dict[str, Any]:
        """Add one `{"model_name", "litellm_params", "model_info"}` entry; returns it as
        `model_list` shows it (with its `model_info["id"]`).

        Example:
            >>> router = Router()
            >>> router.add_deployment({"model_name": "g", "litellm_params": {"model": "fake/echo"},
            ...                        "model_info": {"id": "x"}})["model_info"]
            {'id': 'x'}
        """
        return self._add(*self._deployment(deployment, config.snapshot()))

    @property
    def model_list(self) -> list[dict[str, Any]]:
        """Every deployment as LiteLLM lists them: `{"model_name", "litellm_params",
        "model_info": {"id", ...}}`.

        Example:
            >>> Router([{"model_name": "g", "litellm_params": {"model": "fake/echo"}}]
            ...        ).model_list[0]["model_info"]["id"]
            'g/fake/echo'
        """
        return [dict(entry) for entry in self._entries]

    def get_model_names(self) -> list[str]:
        """The model group names.

        Example:
            >>> Router([{"model_name": "g", "litellm_params": {"model": "fake/echo"}}]
            ...        ).get_model_names()
            ['g']
        """
        return [*self.core.aliases, *self.core.groups]

    def get_model_ids(self, model_name: str | None = None) -> list[str]:
        """The deployment ids (of one group, or all).

        Example:
            >>> Router([{"model_name": "g", "litellm_params": {"model": "fake/echo"},
            ...          "model_info": {"id": "a"}}]).get_model_ids()
            ['a']
        """
        return [str(d.id) for d in self.core.deployments(model_name) if d.id is not None]

    def get_model_list(self, model_name: str | None = None) -> list[dict[str, Any]]:
        """`model_list` entries (of one group, or all).

        Example:
            >>> Router([{"model_name": "g", "litellm_params": {"model": "fake/echo"}}]
            ...        ).get_model_list("g")[0]["model_name"]
            'g'
        """
        return [e for e in self.model_list if model_name in (None, e["model_name"])]

    def get_deployment(self, model_id: str) -> DeploymentEntry | None:
        """The `model_list` entry of the deployment with this `model_info["id"]` (None
        when there is none), as LiteLLM's `Deployment` (read as a dict or by attribute).

        Example:
            >>> Router([{"model_name": "g", "litellm_params": {"model": "fake/echo"},
            ...          "model_info": {"id": "a"}}]).get_deployment("a").model_name
            'g'
        """
        for entry in self._entries:
            if entry["model_info"].get("id") == model_id:
                return DeploymentEntry(
                    entry,
                    litellm_params=LiteLLM_Params(entry["litellm_params"]),
                    model_info=LiteLLMModelInfo(entry["model_info"]),
                )
        return None

    async def async_get_available_deployment(
        self, model: str, messages: Any = None, **_: Any
    ) -> dict[str, Any]:
        """The `model_list` entry a call to `model` would go to now (the core router's
        `pick`: cooldowns, `order`, the strategy; nothing is sent or counted).

        Example:
            >>> import asyncio
            >>> router = Router([{"model_name": "g", "litellm_params": {"model": "fake/echo"}}])
            >>> asyncio.run(router.async_get_available_deployment("g"))["model_name"]
            'g'
        """
        from conduit.compat.exceptions import BadRequestError

        name = self._group(model)
        try:
            chosen = await self.core.pick(name)
        except ConduitError as exc:
            raise BadRequestError(str(exc), model=model) from exc
        for entry in self._entries:
            if entry["model_info"].get("id") == chosen.id:
                return entry
        return {
            "model_name": name,
            "litellm_params": {"model": chosen.ref},
            "model_info": {"id": chosen.id},
        }  # a wildcard's concrete deployment

    def get_available_deployment(
        self, model: str, messages: Any = None, **kwargs: Any
    ) -> dict[str, Any]:
        """`async_get_available_deployment` for synchronous code.

        Example:
            >>> Router([{"model_name": "g", "litellm_params": {"model": "fake/echo"},
            ...          "model_info": {"id": "a"}}]).get_available_deployment("g")["model_info"]
            {'id': 'a'}
        """
        found: dict[str, Any] = run_sync(self.async_get_available_deployment(model, messages))
        return found

    def get_model_group_info(self, model_group: str, **_: Any) -> ModelGroupInfo | None:
        """LiteLLM's facts of a model group (`model_router_info.model_group_info`); None
        for a name that is no group.

        Example:
            >>> Router([{"model_name": "g", "litellm_params": {"model": "gpt-4o"}}]
            ...        ).get_model_group_info("g").providers
            ['openai']
        """
        return model_group_info(self.core, model_group)

    def should_retry_this_error(
        self,
        error: BaseException,
        healthy_deployments: Sequence[Any] | None = None,
        all_deployments: Sequence[Any] | None = None,
        context_window_fallbacks: Sequence[Any] | None = None,
        content_policy_fallbacks: Sequence[Any] | None = None,
        regular_fallbacks: Sequence[Any] | None = None,
    ) -> bool:
        """LiteLLM's retry check: True, or `error` raised (see
        `conduit.compat.router_info.should_retry_this_error`)."""
        return should_retry_this_error(error, healthy_deployments)

    @property
    def cooldown_cache(self) -> CooldownCache:
        """The deployments cooling down (LiteLLM's `CooldownCache`).

        Example:
            >>> Router().cooldown_cache.get_active_cooldowns([], None)
            []
        """
        return CooldownCache(self.core)

    def reset(self) -> None:
        """Forget cooldowns, failure counts, usage and latencies (the core's `reset`).

        Example:
            >>> Router().reset()
        """
        self.core.reset()

    @property
    def state(self) -> RouterState:
        """The core router's shared state (cooldowns, counters)."""
        return self.core.state

    async def aclose(self) -> None:
        """Close the shared state's and the rpm/tpm buckets' connections of the running
        event loop (Redis); nothing to do in memory."""
        for held in (self.core.buckets, self.core.state):
            aclose = getattr(held, "aclose", None)
            if aclose is not None:
                await aclose()

    # ----------------------------------------------------------------- calling

    def _group(self, group: Any) -> str:
        """The name a call gives, checked: a group, an alias, a deployment id or a name a
        `"*"` pattern group matches (the core router resolves all of them)."""
        from conduit.compat.exceptions import BadRequestError

        try:
            self.core.deployments(str(group))
        except ConduitError:
            known = ", ".join(self.core.groups) or "(none)"
            raise BadRequestError(
                f"no deployments for model group {group!r}; known groups: {known}", model=group
            ) from None
        return str(group)

    def _worst(self, group: str) -> Bounds:
        found = self._bounds.get(group)
        if found is None:
            core = self.core
            chain = [
                group,
                *core.fallbacks.get(group, ()),
                *core.context_window_fallbacks.get(group, ()),
                *core.content_policy_fallbacks.get(group, ()),
            ]
            facts = []
            for name in dict.fromkeys(chain):
                for d in self._listed(name):
                    info = d.chat_model.model_info if not isinstance(d.model, str) else None
                    longest = (info or model_info(d.ref)).max_output_tokens
                    facts.append((d.effective_prices, longest))
            found = self._bounds[group] = worst_case(facts)
        return found

    def _listed(self, name: str) -> tuple[Deployment, ...]:
        try:
            return self.core.deployments(name)
        except ConduitError:
            return ()

    def _for(self, kwargs: dict[str, Any]) -> Callable[..., Target]:
        """The call's target function; LiteLLM's `mock_testing_fallbacks` read here."""
        drill = kwargs.pop("mock_testing_fallbacks", None)
        if not drill:
            return self._target
        return lambda group, params, settings: self._target(
            group, {**params, "mock_testing_fallbacks": True}, settings
        )

    def _target(self, group: Any, params: dict[str, Any], settings: config.Settings) -> Target:
        name = self._group(group)
        mock = params.get("mock_response")
        metadata = params.get("metadata")
        tags = metadata.get("tags") if isinstance(metadata, Mapping) else None
        if not self.core.tag_filtering:
            tags = None  # LiteLLM reads a call's tags only with enable_tag_filtering
        model: ChatModel
        if params.get("mock_testing_fallbacks"):
            model = MockFallbacks(self.core, name, tags=tags)
        elif mock is not None:
            model = RoutedMock(self.core, name, mock, tags=tags)
        else:
            model = self.core.model(name, tags=tags)
        if params.get("timeout") is not None:  # the whole routed call, retries included
            model = with_interceptors(model, [Timeout.of(params["timeout"], name="timeout")])
        refs = tuple(d.ref for d in self.core.deployments(name))
        return Target(model, refs, name, routed=True, bounds=lambda: self._worst(name))

    async def acompletion(
        self, model: str, messages: Any = None, **kwargs: Any
    ) -> ModelResponse | CustomStreamWrapper:
        """`acompletion()` on the model group `model`. Per-call `timeout=` bounds the
        whole routed call; the connection settings (`api_key=`, `api_base=`,
        `num_retries=`) and `fallbacks=` are the router's and its deployments'.

        Example:
            >>> import asyncio
            >>> router = Router([{"model_name": "g", "litellm_params": {"model": "fake/echo"}}])
            >>> asyncio.run(router.acompletion("g", "Hi")).choices[0].message.content
            'Hi'
        """
        return await complete(model, messages, kwargs, is_async=True, target=self._for(kwargs))

    def completion(
        self, model: str, messages: Any = None, **kwargs: Any
    ) -> ModelResponse | CustomStreamWrapper:
        """`completion()` on the model group `model`.

        Example:
            >>> router = Router([{"model_name": "g", "litellm_params": {"model": "fake/echo"}}])
            >>> router.completion("g", "Hi").usage.total_tokens > 0
            True
        """
        answer: ModelResponse | CustomStreamWrapper = run_sync(
            complete(model, messages, kwargs, is_async=False, target=self._for(kwargs))
        )
        return answer

    async def aembedding(self, model: str, input: Any = (), **kwargs: Any) -> EmbeddingResponse:
        """`aembedding()` on the model group `model` (routed like chat).

        Example:
            >>> import asyncio
            >>> router = Router([{"model_name": "e", "litellm_params": {"model": "fake/hash"}}])
            >>> len(asyncio.run(router.aembedding("e", ["a", "b"])).data)
            2
        """

        def embedder() -> tuple[Embedder, str]:
            return self.core.embedder(self._group(model)), model

        return await run_embedding(model, input, embedder, kwargs.get("metadata"))

    def embedding(self, model: str, input: Any = (), **kwargs: Any) -> EmbeddingResponse:
        """`aembedding()` for synchronous code.

        Example:
            >>> router = Router([{"model_name": "e", "litellm_params": {"model": "fake/hash"}}])
            >>> router.embedding("e", "a").object
            'list'
        """
        return run_sync(self.aembedding(model, input, **kwargs))

    def __repr__(self) -> str:
        return f"Router({self.core!r})"
