"""LiteLLM's router vocabulary in the core router's terms, for the two faces that speak it:
the LiteLLM face (`conduit.compat.Router(...)`) and the gateway's YAML config
(`model_list`, `router_settings`, as LiteLLM's proxy reads them).

One translation, so a `routing_strategy`, a `fallbacks` list or a price per token means
the same in both: `STRATEGY_NAMES`, `fallback_map`, `prices_of`, `redis_url_of` and
`router_arguments` (a whole `router_settings` mapping as `conduit.routing.Router`
keyword arguments). Every number is checked (`conduit.core.checks`); errors name the
field.

Example:
    >>> router_arguments({"routing_strategy": "latency-based-routing", "num_retries": 1,
    ...                   "fallbacks": [{"gpt": ["claude"]}]}, ["gpt", "claude"])["strategy"]
    'lowest-latency'
    >>> fallback_map([{"gpt": "claude"}], "fallbacks")
    {'gpt': ['claude']}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from conduit.core.checks import check_count, check_money, check_seconds
from conduit.core.policy import RetryPolicy
from conduit.errors import ValidationError
from conduit.schema import Prices

__all__ = ["STRATEGY_NAMES", "fallback_map", "prices_of", "redis_url_of", "router_arguments"]

STRATEGY_NAMES: dict[str, str] = {
    "simple-shuffle": "simple-shuffle",
    "least-busy": "least-busy",
    "latency-based-routing": "lowest-latency",
    "usage-based-routing": "usage-based",
    "usage-based-routing-v2": "usage-based",
    "cost-based-routing": "cost-based",
    # the core router's own names
    "round-robin": "round-robin",
    "lowest-latency": "lowest-latency",
    "usage-based": "usage-based",
    "cost-based": "cost-based",
}
"""LiteLLM's `routing_strategy` names (and the core's) -> the core router's strategy."""

_PRICE_FIELDS = (
    ("input", "input_cost_per_token"),
    ("output", "output_cost_per_token"),
    ("cached_input", "cache_read_input_token_cost"),
    ("cache_write", "cache_creation_input_token_cost"),
)


def prices_of(fields: Mapping[str, Any], where: str) -> Prices | None:
    """LiteLLM's per-token prices in `fields` (`input_cost_per_token`,
    `output_cost_per_token`, `cache_read_input_token_cost`,
    `cache_creation_input_token_cost`) as `Prices` (USD per million tokens); None when
    none is given. Input or output not given costs 0 when the other is.

    Example:
        >>> prices_of({"input_cost_per_token": 0.000001}, "model_info")
        Prices(input=1.0, output=0.0, cached_input=None, cache_write=None)
    """
    found: dict[str, float] = {}
    for side, name in _PRICE_FIELDS:
        value = fields.get(name)
        if value is not None:
            found[side] = check_money(value, f"{where}.{name}") * 1_000_000
    if not found:
        return None
    found.setdefault("input", 0.0)
    found.setdefault("output", 0.0)
    return Prices(**found)


def fallback_map(value: Any, where: str) -> dict[str, list[str]]:
    """LiteLLM's `[{"gpt": ["claude"]}, ...]` (or one mapping; a target may be one name)
    as `{group: [groups]}`.

    Example:
        >>> fallback_map({"a": ["b", "c"]}, "fallbacks")
        {'a': ['b', 'c']}
    """
    if value is None:
        return {}
    entries = [value] if isinstance(value, Mapping) else value
    if isinstance(entries, str) or not isinstance(entries, Sequence):
        raise ValidationError(f"{where} looks like [{{group: [other, ...]}}], not {value!r}")
    out: dict[str, list[str]] = {}
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise ValidationError(f"{where} looks like [{{group: [other, ...]}}], not {entry!r}")
        for group, targets in entry.items():
            listed = [targets] if isinstance(targets, str) else targets
            if not isinstance(listed, Sequence) or not all(isinstance(t, str) for t in listed):
                raise ValidationError(f"{where}[{group!r}] must list group names")
            out.setdefault(str(group), []).extend(listed)
    return out


def redis_url_of(settings: Mapping[str, Any]) -> str | None:
    """`redis_url`, or a URL from LiteLLM's `redis_host`/`redis_port`/`redis_password`/
    `redis_db`; None when neither is set.

    Example:
        >>> redis_url_of({"redis_host": "127.0.0.1", "redis_port": 6380})
        'redis://127.0.0.1:6380'
    """
    url = settings.get("redis_url")
    host = settings.get("redis_host")
    if url or not host:
        return str(url) if url else None
    password = settings.get("redis_password")
    auth = f":{password}@" if password else ""
    port = settings.get("redis_port") or 6379
    db = settings.get("redis_db")
    return f"redis://{auth}{host}:{port}" + (f"/{db}" if db else "")


def router_arguments(
    settings: Mapping[str, Any], groups: Sequence[str], where: str = "router_settings"
) -> dict[str, Any]:
    """LiteLLM's router settings as keyword arguments of `conduit.routing.Router`:
    `routing_strategy` -> `strategy`, `num_retries`/`retry_after` -> `retry`, the three
    fallback lists and `default_fallbacks` -> `fallbacks`..., `allowed_fails`,
    `cooldown_time`/`disable_cooldowns` -> `cooldown_seconds`. Settings not given are
    left to the core router's defaults.

    Example:
        >>> router_arguments({"routing_strategy": "latency-based-routing", "num_retries": 1,
        ...                   "disable_cooldowns": True}, ["chat"])
        {'strategy': 'lowest-latency', 'retry': RetryPolicy(max_retries=1, ...), 'cooldown_seconds': 0.0}
    """  # noqa: E501
    out: dict[str, Any] = {}
    strategy = settings.get("routing_strategy")
    if strategy is not None:
        if strategy not in STRATEGY_NAMES:
            raise ValidationError(
                f"{where}.routing_strategy must be one of {', '.join(STRATEGY_NAMES)}, "
                f"not {strategy!r}"
            )
        out["strategy"] = STRATEGY_NAMES[strategy]
    retries = settings.get("num_retries")
    wait = settings.get("retry_after")
    if retries is not None or wait is not None:
        default = RetryPolicy()
        fields: dict[str, Any] = {
            "max_retries": default.max_retries
            if retries is None
            else check_count(retries, f"{where}.num_retries")
        }
        if wait is not None:
            delay = check_seconds(wait, f"{where}.retry_after", allow_zero=True)
            fields.update(initial_delay=delay, max_delay=max(delay, default.max_delay))
        out["retry"] = RetryPolicy(**fields)
    fallbacks = fallback_map(settings.get("fallbacks"), f"{where}.fallbacks")
    default_groups = settings.get("default_fallbacks")
    if default_groups:
        if isinstance(default_groups, str) or not isinstance(default_groups, Sequence):
            raise ValidationError(f"{where}.default_fallbacks must list group names")
        for group in groups:
            fallbacks.setdefault(group, [g for g in default_groups if g != group])
    if fallbacks:
        out["fallbacks"] = fallbacks
    for name in ("context_window_fallbacks", "content_policy_fallbacks"):
        found = fallback_map(settings.get(name), f"{where}.{name}")
        if found:
            out[name] = found
    if settings.get("allowed_fails") is not None:
        out["allowed_fails"] = check_count(settings["allowed_fails"], f"{where}.allowed_fails")
    if settings.get("cooldown_time") is not None:
        out["cooldown_seconds"] = check_seconds(
            settings["cooldown_time"], f"{where}.cooldown_time", allow_zero=True
        )
    disable = settings.get("disable_cooldowns")
    if disable is not None and not isinstance(disable, bool):
        raise ValidationError(f"{where}.disable_cooldowns must be true or false")
    if disable:
        out["cooldown_seconds"] = 0.0
    return out
