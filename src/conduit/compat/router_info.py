"""What a LiteLLM `Router` tells about itself, read from the core router: a group's facts
(`model_group_info`) and the cooldowns (`CooldownCache`, LiteLLM's
`router.cooldown_cache`).

Example:
    >>> from conduit.routing import Router
    >>> core = Router({"g": ["openai/gpt-4o-mini"]})
    >>> info = model_group_info(core, "g")
    >>> info.model_group, info["providers"], info.max_input_tokens
    ('g', ['openai'], 128000)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conduit.catalog import parse_model_ref
from conduit.compat.catalog import get_model_info
from conduit.compat.types.router import ModelGroupInfo
from conduit.core.sync import run_sync
from conduit.errors import RETRYABLE_STATUS, ConduitError
from conduit.routing import Router

__all__ = ["CooldownCache", "model_group_info", "should_retry_this_error"]

_FACTS = (
    "max_input_tokens",
    "max_output_tokens",
    "input_cost_per_token",
    "output_cost_per_token",
    "mode",
    "supports_function_calling",
    "supports_parallel_function_calling",
    "supports_vision",
)


def model_group_info(core: Router, group: str) -> ModelGroupInfo | None:
    """LiteLLM's `ModelGroupInfo` of a group (None for a name that is no group): its
    providers, the largest limits and the highest prices of its deployments, capabilities
    any of them has, and the summed `rpm`/`tpm` (None when no deployment sets one).

    Example:
        >>> model_group_info(Router(), "nope") is None
        True
    """
    try:
        deployments = core.deployments(group)
    except ConduitError:
        return None
    info: dict[str, Any] = {"model_group": group, "providers": []}
    for name in _FACTS:
        info[name] = False if name.startswith("supports_") else None
    for dep in deployments:
        provider = parse_model_ref(dep.ref).provider if "/" in dep.ref else dep.ref
        if provider not in info["providers"]:
            info["providers"].append(provider)
        try:
            facts = get_model_info(dep.ref)
        except Exception:  # a model the catalog does not know: no facts
            facts = {}
        if dep.context_window is not None:
            facts = {**facts, "max_input_tokens": dep.context_window}
        prices = dep.prices
        if prices is not None and prices.input is not None and prices.output is not None:
            facts = {
                **facts,
                "input_cost_per_token": prices.input / 1e6,
                "output_cost_per_token": prices.output / 1e6,
            }
        for name in _FACTS:
            value = facts.get(name)
            if value is None:
                continue
            if name.startswith("supports_"):
                info[name] = info[name] or bool(value)
            elif name == "mode":
                info[name] = info[name] or value
            else:
                info[name] = value if info[name] is None else max(info[name], value)
    for name in ("rpm", "tpm"):
        values = [getattr(d, name) for d in deployments if getattr(d, name) is not None]
        info[name] = int(sum(values)) if values else None
    return ModelGroupInfo(info)


def should_retry_this_error(
    error: BaseException, healthy_deployments: Sequence[Any] | None = None
) -> bool:
    """LiteLLM's `Router.should_retry_this_error`: True when `error` is worth another try
    in the same model group (it is `retryable`: a rate limit, a timeout, a server error)
    and a healthy deployment is left; otherwise `error` itself is raised. An error that
    is not Conduit's (`openai.RateLimitError`) is judged by its `status_code`, as Conduit
    judges an HTTP status (`conduit.errors.RETRYABLE_STATUS`, 5xx).

    Example:
        >>> from conduit.errors import RateLimitError
        >>> should_retry_this_error(RateLimitError("slow down"), ["d1", "d2"])
        True
        >>> should_retry_this_error(RateLimitError("slow down"), [])
        Traceback (most recent call last):
        ...
        conduit.errors.RateLimitError: slow down...
    """
    retryable = getattr(error, "retryable", None)
    if retryable is None:
        status = getattr(error, "status_code", None)
        retryable = isinstance(status, int) and (status in RETRYABLE_STATUS or status >= 500)
    if not retryable or not healthy_deployments:
        raise error
    return True


class CooldownCache:
    """LiteLLM's `router.cooldown_cache` over the core router's state: which deployments
    cool down now, and putting one in cooldown by hand.

    Example:
        >>> core = Router({"g": ["fake/echo", "fake/echo"]})
        >>> cache = CooldownCache(core)
        >>> cache.add_deployment_to_cooldown("g/fake/echo", None, 429, 60)
        >>> [found for found, _ in cache.get_active_cooldowns(["g/fake/echo"], None)]
        ['g/fake/echo']
    """

    def __init__(self, core: Router) -> None:
        self.core = core

    @property
    def default_cooldown_time(self) -> float:
        """The router's cooldown in seconds."""
        return self.core.cooldown_seconds

    async def async_get_active_cooldowns(
        self, model_ids: Sequence[str], parent_otel_span: Any = None
    ) -> list[tuple[str, dict[str, Any]]]:
        """`(id, {"cooldown_time": seconds})` for each of `model_ids` cooling down now."""
        ids = list(model_ids)
        cooling = await self.core.state.cooling(ids) if ids else []
        seconds = self.core.cooldown_seconds
        return [
            (i, {"cooldown_time": seconds}) for i, cool in zip(ids, cooling, strict=True) if cool
        ]

    def get_active_cooldowns(
        self, model_ids: Sequence[str], parent_otel_span: Any = None
    ) -> list[tuple[str, dict[str, Any]]]:
        """`async_get_active_cooldowns` for synchronous code."""
        return run_sync(self.async_get_active_cooldowns(model_ids, parent_otel_span))

    def add_deployment_to_cooldown(
        self,
        model_id: str,
        original_exception: Any = None,
        exception_status: Any = None,
        cooldown_time: float | None = None,
    ) -> None:
        """Cool the deployment `model_id` down for `cooldown_time` seconds (default: the
        router's)."""
        seconds = self.core.cooldown_seconds if cooldown_time is None else float(cooldown_time)
        run_sync(self.core.state.cool(model_id, seconds))

    def __repr__(self) -> str:
        return f"CooldownCache({self.core.state!r})"
