"""A router call's own settings and the candidates it may go to: `_Call` (retries, retries
by error class, fallbacks, tags, the prompt's size), `_Group` (a group's deployments),
the checks of per-call arguments, `eligible` (tags and context windows narrow a group's
deployments) and `retries_after`.

Example:
    >>> from conduit.core.policy import RetryPolicy
    >>> from conduit.errors import RateLimitError
    >>> call = _Call(RetryPolicy(max_retries=2), {RateLimitError: 5})
    >>> retries_after(RateLimitError("slow down"), call), retries_after(ConduitError("x"), call)
    (5, 2)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conduit.core.checks import check_count
from conduit.core.policy import RetryPolicy
from conduit.errors import (
    BadRequestError,
    ConduitError,
    ContextWindowExceededError,
    ValidationError,
)
from conduit.routing.deployment import Deployment

__all__ = ["NO_TAGGED_DEPLOYMENT", "RetriesByError", "eligible", "retries_after"]

NO_TAGGED_DEPLOYMENT = "no_tagged_deployment"
"""The `code` of the `BadRequestError` a router raises when tag filtering leaves a call
no deployment."""

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


def eligible(
    name: str, group: _Group, call: _Call, *, tag_filtering: bool, pre_call_checks: bool
) -> list[Deployment]:
    """The group's deployments this call may go to: by tags (`tag_filtering`), by
    context window (`pre_call_checks`, when the call knows its prompt's size)."""
    deployments = group.deployments
    if tag_filtering:
        tags = call.tags or frozenset()
        tagged = [d for d in deployments if not tags.isdisjoint(d.tags)] if tags else []
        if not tagged:
            tagged = [d for d in deployments if _DEFAULT_TAG in d.tags]
        if not tagged and tags:
            refused = BadRequestError(
                f"no deployment of model group {name!r} may take a call tagged "
                f"{sorted(tags)} (deployment tags: "
                f"{sorted({t for d in deployments for t in d.tags}) or 'none'})",
                provider="router",
            )
            refused.code = NO_TAGGED_DEPLOYMENT
            raise refused
        deployments = tagged or deployments
    if pre_call_checks and call.prompt is not None:
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


def retries_after(error: ConduitError, call: _Call) -> int:
    """Retries a call may make after `error`: its `by_error` count for the most specific
    class listed, else its retry policy's."""
    by_error = call.by_error
    if by_error:
        for cls in type(error).__mro__:
            if cls in by_error:
                return by_error[cls]
    return call.retry.max_retries
