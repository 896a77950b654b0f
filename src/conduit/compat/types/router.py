"""`litellm.types.router`: the shapes of a Router's configuration (`Deployment`,
`LiteLLM_Params`, `ModelInfo`, `RetryPolicy`, `AllowedFailsPolicy`, ...), as dicts.

Example:
    >>> from conduit.compat.types.router import Deployment, LiteLLM_Params
    >>> Deployment(model_name="g", litellm_params=LiteLLM_Params(model="fake/echo"))["model_name"]
    'g'
"""

from __future__ import annotations

import enum
from typing import Any

__all__ = [
    "AllowedFailsPolicy",
    "Deployment",
    "LiteLLM_Params",
    "ModelGroupInfo",
    "ModelInfo",
    "RetryPolicy",
    "RouterErrors",
]


class _Shape(dict[str, Any]):
    """A dict with attribute access (LiteLLM's pydantic models are read both ways)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class LiteLLM_Params(_Shape):
    """A deployment's `litellm_params` (`model`, `api_key`, `api_base`, `rpm`, ...)."""


class ModelInfo(_Shape):
    """A deployment's `model_info` (`id`, prices, ...)."""


class ModelGroupInfo(_Shape):
    """A model group's facts (`model_group`, `providers`, `max_input_tokens`, prices,
    `supports_*`, `rpm`, `tpm`), as `Router.get_model_group_info` gives them."""


class Deployment(_Shape):
    """One `model_list` entry: `model_name`, `litellm_params`, `model_info`."""


class RetryPolicy(_Shape):
    """Retries per error class: `{"RateLimitErrorRetries": 3, ...}` (LiteLLM's keys)."""

    def __init__(self, **retries: int) -> None:
        super().__init__(**retries)


class AllowedFailsPolicy(_Shape):
    """Failures allowed per error class before a cooldown (LiteLLM's keys)."""

    def __init__(self, **fails: int) -> None:
        super().__init__(**fails)


class RouterErrors(enum.Enum):
    """LiteLLM's router error messages (`RouterErrors.no_deployments_available.value`)."""

    user_defined_ratelimit_error = "Deployment over user-defined ratelimit."
    max_parallel_requests_exceeded = "Deployment has all max_parallel_requests slots in use."
    no_deployments_available = "No deployments available for selected model"
    all_deployments_in_cooldown = "All deployments for selected model are in cooldown"
    no_deployments_with_tag_routing = "Not allowed to access model due to tags configuration"
