"""LiteLLM's `model_list` entries and router settings in the core router's terms, for
`conduit.compat.Router`: each entry becomes one core `conduit.routing.Deployment`, and
LiteLLM's `RetryPolicy` becomes the core's retries per error class.

An entry's `litellm_params` are read once, here:

- `model`: the deployment's model, through the one resolver (LiteLLM's provider names
  translated); a model with `*` wildcards (`"openai/*"`, `"*"`) makes a wildcard
  deployment whose concrete models are built for each name a call asks for;
- `rpm`, `tpm`, `weight`, `order`, `tags`: the deployment's own fields (`rpm`/`tpm`
  given beside `litellm_params` only weigh the shuffle, as in LiteLLM);
  `max_parallel_requests` (or the router's `default_max_parallel_requests`): its
  `max_parallel`;
- call parameters (`temperature`, `max_tokens`, `top_p`, `stop`, `seed`, `tools`,
  `presence_penalty`, `user`, ...): its `options`, sent with every call to it (a call's
  own values win, as in LiteLLM);
- `input_cost_per_token`/`output_cost_per_token` (here or in `model_info`): its
  `prices`; `model_info["max_input_tokens"]`: its `context_window`;
- `mock_response`: a `MockResponseModel` as its model (nothing is sent);
- `api_key`, `api_base`, `timeout`, `max_retries`, `extra_headers` and any other
  setting: its `connection` (by the compat precedence: params > settings > environment;
  the model itself does not retry unless `max_retries` says so: the router does).

Example:
    >>> from conduit.compat import config
    >>> group, dep, _ = to_deployment({"model_name": "g", "litellm_params": {
    ...     "model": "fake/echo", "temperature": 0.2, "rpm": 60, "tags": ["free"]}},
    ...     config.snapshot(), timeout=None, max_parallel=None)
    >>> group, dep.options.temperature, dep.rpm, sorted(dep.tags)
    ('g', 0.2, 60.0, ['free'])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conduit import errors
from conduit.catalog import parse_model_ref
from conduit.compat import config
from conduit.compat.chat import connection_config, place_model, resolve_model
from conduit.compat.mock import MockResponseModel
from conduit.compat.request import to_options
from conduit.core.checks import check_count
from conduit.core.protocols import ChatModel
from conduit.errors import ValidationError
from conduit.providers.registry import get_provider
from conduit.routing import Deployment
from conduit.routing.litellm_config import prices_of

__all__ = [
    "CALL_PARAMS",
    "aliases_of",
    "calculate_max_parallel_requests",
    "retries_by_error",
    "to_deployment",
]

CALL_PARAMS = frozenset(
    {
        *("temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "seed"),
        *("tools", "tool_choice", "response_format", "presence_penalty", "frequency_penalty"),
        *("logit_bias", "logprobs", "top_logprobs", "n", "user", "parallel_tool_calls"),
        *("reasoning_effort", "modalities", "audio", "prediction", "service_tier", "store"),
        *("extra_body", "functions", "function_call"),
    }
)
"""`litellm_params` that are call parameters: sent with every call to the deployment."""

# litellm_params the router reads itself, or LiteLLM's own bookkeeping: never part of the
# model's connection settings.
_ROUTING = frozenset(
    {
        *("model", "rpm", "tpm", "weight", "order", "mock_response", "custom_llm_provider"),
        *("input_cost_per_token", "output_cost_per_token", "api_key", "api_base", "base_url"),
        *("timeout", "stream_timeout", "max_retries", "num_retries", "extra_headers"),
        *("headers", "max_parallel_requests", "model_info", "tags", "metadata"),
        *("drop_params", "stream_options", "use_in_pass_through", "use_litellm_proxy"),
        *("merge_reasoning_content_in_choices", "litellm_credential_name"),
    }
)

# LiteLLM's RetryPolicy fields -> the Conduit error class each counts retries of.
_RETRY_FIELDS: dict[str, type[errors.ConduitError]] = {
    "BadRequestErrorRetries": errors.BadRequestError,
    "AuthenticationErrorRetries": errors.AuthenticationError,
    "TimeoutErrorRetries": errors.TimeoutError,
    "RateLimitErrorRetries": errors.RateLimitError,
    "ContentPolicyViolationErrorRetries": errors.ContentFilterError,
    "InternalServerErrorRetries": errors.ServerError,
}


def retries_by_error(policy: Any, where: str = "retry_policy") -> dict[type[BaseException], int]:
    """LiteLLM's `RetryPolicy(RateLimitErrorRetries=3, ...)` (the object, or a mapping)
    as the core router's `retries_by_error`; fields not set are left out.

    Example:
        >>> found = retries_by_error({"RateLimitErrorRetries": 3, "AuthenticationErrorRetries": 0})
        >>> {cls.__name__: n for cls, n in found.items()}
        {'AuthenticationError': 0, 'RateLimitError': 3}
    """
    if policy is None:
        return {}
    if isinstance(policy, Mapping):
        fields = dict(policy)
    elif hasattr(policy, "model_dump"):  # LiteLLM's own RetryPolicy (pydantic)
        fields = policy.model_dump()
    else:
        fields = dict(vars(policy))
    unknown = sorted(k for k, v in fields.items() if k not in _RETRY_FIELDS and v is not None)
    if unknown:
        raise ValidationError(f"{where} takes {', '.join(_RETRY_FIELDS)}; not {', '.join(unknown)}")
    return {
        cls: check_count(fields[name], f"{where}.{name}")
        for name, cls in sorted(_RETRY_FIELDS.items(), key=lambda item: item[1].__name__)
        if fields.get(name) is not None
    }


def aliases_of(value: Any) -> dict[str, str] | None:
    """LiteLLM's `model_group_alias` (`{"gpt": "chat"}` or `{"gpt": {"model": "chat",
    "hidden": True}}`) as the core router's `aliases`.

    Example:
        >>> aliases_of({"gpt": "chat", "x": {"model": "chat", "hidden": True}})
        {'gpt': 'chat', 'x': 'chat'}
    """
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValidationError(f"model_group_alias must be a mapping, not {value!r}")
    out: dict[str, str] = {}
    for alias, target in value.items():
        if isinstance(target, Mapping):
            target = target.get("model")
        if not isinstance(target, str):
            raise ValidationError(f"model_group_alias[{alias!r}] must name a group")
        out[str(alias)] = target
    return out


def _connection(
    params: Mapping[str, Any], ref: str, settings: config.Settings, timeout: Any
) -> dict[str, Any]:
    given = params.get("timeout")
    connection = connection_config(
        get_provider(parse_model_ref(ref).provider),
        settings,
        api_key=params.get("api_key"),
        api_base=params.get("api_base") or params.get("base_url"),
        timeout=timeout if given is None else given,
        # the router retries (on another deployment when it can), not the model
        num_retries=params.get("max_retries", 0),
        headers=params.get("extra_headers") or params.get("headers"),
    )
    connection.update(
        {k: v for k, v in params.items() if k not in _ROUTING and k not in CALL_PARAMS}
    )
    return connection


def _builder(params: Mapping[str, Any], settings: config.Settings, timeout: Any) -> Any:
    """How a wildcard deployment makes the model for a name a call asks for: placed by
    the one resolver (LiteLLM's provider names translated), a mock when it has one."""
    mock = params.get("mock_response")
    provider = params.get("custom_llm_provider")

    def build(filled: str) -> ChatModel | tuple[str, dict[str, Any]]:
        ref = place_model(filled, provider, mock=mock is not None)
        if mock is not None:
            return MockResponseModel(mock, ref)
        return ref, _connection(params, ref, settings, timeout)  # made on first real use

    return build


def _weight(entry: Mapping[str, Any], params: Mapping[str, Any]) -> Any:
    """`weight`; else `rpm` or `tpm` given beside `litellm_params` (LiteLLM weighs the
    shuffle by them there, as weights only: they are no limits)."""
    if params.get("weight") is not None or any(params.get(k) is not None for k in ("rpm", "tpm")):
        return params.get("weight")
    return entry.get("rpm") if entry.get("rpm") is not None else entry.get("tpm")


def to_deployment(
    entry: Mapping[str, Any],
    settings: config.Settings,
    *,
    timeout: Any,
    max_parallel: int | None,
) -> tuple[str, Deployment, dict[str, Any]]:
    """A `model_list` entry as its group name, a core `Deployment` and the entry as
    `model_list` shows it (see the module's text for each field).

    Example:
        >>> from conduit.compat import config
        >>> to_deployment({"model_name": "*", "litellm_params": {"model": "openai/*"}},
        ...               config.snapshot(), timeout=None, max_parallel=None)[1].is_wildcard
        True
    """
    params = entry.get("litellm_params") if isinstance(entry, Mapping) else None
    if not isinstance(params, Mapping) or "model" not in params or "model_name" not in entry:
        raise ValidationError(
            "a deployment needs model_name and litellm_params={'model': ...}: "
            f"{dict(entry) if isinstance(entry, Mapping) else entry!r}"
        )
    group = str(entry["model_name"])
    info = dict(entry.get("model_info") or {})
    name = params["model"]
    mock = params.get("mock_response")
    wildcard = isinstance(name, str) and "*" in name
    model: str | ChatModel
    connection: dict[str, Any] = {}
    build = None
    if wildcard:
        model, build = name, _builder(params, settings, timeout)
    else:
        ref = resolve_model(name, params.get("custom_llm_provider"))
        if mock is not None:
            model = MockResponseModel(mock, ref)
        else:
            model = ref
            connection = _connection(params, ref, settings, timeout)
    call = {k: v for k, v in params.items() if k in CALL_PARAMS and v is not None}
    options = None
    if call:
        spec = get_provider("openai")  # the options' shape only: nothing is dropped here
        options = to_options(
            spec, call, {k: call[k] for k in call if k not in _OPTIONS}, drop_params=False
        )
    tags = params.get("tags") or ()
    deployment = Deployment(
        model,
        id=None if info.get("id") is None else str(info["id"]),
        connection=connection,
        rpm=params.get("rpm"),
        tpm=params.get("tpm"),
        weight=_weight(entry, params),
        order=params.get("order"),
        prices=prices_of(params, "litellm_params") or prices_of(info, "model_info"),
        options=options,
        tags=[tags] if isinstance(tags, str) else list(tags),
        max_parallel=params.get("max_parallel_requests") or max_parallel,
        context_window=info.get("max_input_tokens"),
        build=build,
    )
    return (
        group,
        deployment,
        {"model_name": group, "litellm_params": dict(params), "model_info": info},
    )


# The call parameters `to_options` reads by name (the rest go to the provider as extras).
_OPTIONS = frozenset(
    {
        *("temperature", "top_p", "seed", "max_tokens", "max_completion_tokens", "stop"),
        *("tools", "tool_choice", "response_format"),
    }
)


def calculate_max_parallel_requests(
    max_parallel_requests: int | None,
    rpm: int | None,
    tpm: int | None,
    default_max_parallel_requests: int | None,
) -> int | None:
    """LiteLLM's limit on a deployment's concurrent calls, first found of:
    `max_parallel_requests`, `rpm`, `tpm` as Azure's 6 requests a minute per 1,000 tokens a
    minute (at least 1), `default_max_parallel_requests`; None when all are None.

    Example:
        >>> calculate_max_parallel_requests(None, None, 20, 40)
        1
        >>> calculate_max_parallel_requests(None, None, 300000, None)
        1800
        >>> calculate_max_parallel_requests(None, None, None, None) is None
        True
    """
    if max_parallel_requests is not None:
        return max_parallel_requests
    if rpm is not None:
        return rpm
    if tpm is not None:
        return max(int(tpm / 1000 * 6), 1)
    return default_max_parallel_requests
