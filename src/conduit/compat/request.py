"""LiteLLM-shaped requests in Conduit's types: OpenAI-style message dicts to `Message`s,
and `completion()`'s keyword arguments to `ChatOptions` (tools, tool choice, response
formats; parameters a provider does not take are refused, or dropped with
`drop_params`).

Example:
    >>> to_messages([{"role": "user", "content": "Hi"}])[0]["content"]
    'Hi'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from conduit.errors import ValidationError
from conduit.providers.registry import ProviderSpec
from conduit.schema import (
    ChatOptions,
    FunctionCall,
    Message,
    ResponseFormat,
    Tool,
    ToolCall,
)

__all__ = ["options_spec", "to_messages", "to_options"]

_OPENAI_ADAPTER = "conduit.providers.openai:OpenAIChatModel"
# LiteLLM's own bookkeeping arguments: accepted so calls written for LiteLLM run, not sent.
_IGNORED = frozenset(
    {
        "litellm_call_id",
        "litellm_logging_obj",
        "litellm_trace_id",
        "caching",
        "cache",
        "api_version",
        "client",
        "proxy_server_request",
        "model_info",
        "input_cost_per_token",
        "output_cost_per_token",
        "rpm",
        "tpm",
        "order",
        "weight",
        "max_parallel_requests",
        "stream_options",
        "no-log",
        "model_list",
        "deployment_id",
        "mock_timeout",
        "custom_cost_per_token",
        "mock_testing_fallbacks",
        "mock_testing_context_fallbacks",
        "mock_testing_content_policy_fallbacks",
        "specific_deployment",
        "litellm_metadata",
        "acompletion",
    }
)


def _tool_call(wire: Mapping[str, Any]) -> ToolCall:
    function = wire.get("function") or {}
    args = function.get("arguments")
    call = (
        FunctionCall.from_arguments(function.get("name") or "", args)
        if isinstance(args, dict)
        else FunctionCall.from_raw(function.get("name") or "", args)
    )
    return ToolCall(id=wire.get("id") or "", function=call)


def _part(part: Any) -> Any:
    if isinstance(part, Mapping) and part.get("type") == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        block: dict[str, Any] = {"type": "image", "url": url}
        if isinstance(image, Mapping) and image.get("detail"):
            block["detail"] = image["detail"]
        return block
    if isinstance(part, Mapping) and part.get("type") == "input_audio":
        audio = part.get("input_audio") or {}
        return {"type": "audio", "data": audio.get("data"), "format": audio.get("format")}
    return part


def _message(item: Any) -> Any:
    if not isinstance(item, Mapping):
        return item
    content = item.get("content")
    if isinstance(content, str) and "tool_calls" not in item and len(item) <= 3:
        return item  # the common case: {"role", "content"[, "name"]}, taken as is
    out: dict[str, Any] = {"role": item.get("role")}
    if isinstance(content, list):
        out["content"] = [_part(p) for p in content]
    elif content is not None:
        out["content"] = content
    if item.get("tool_calls"):
        out["tool_calls"] = [_tool_call(c) for c in item["tool_calls"]]
    for name in ("tool_call_id", "name"):
        if item.get(name) is not None:
            out[name] = item[name]
    return out


def to_messages(messages: Any) -> Any:
    """OpenAI-shaped message dicts (tool calls with JSON-string arguments, `image_url`
    parts, `content: None`) in the shape Conduit's `Message` takes.

    Example:
        >>> to_messages([{"role": "assistant", "content": None, "tool_calls": [{"id": "c1",
        ...     "type": "function", "function": {"name": "f", "arguments": "{}"}}]}])[0]["role"]
        'assistant'
    """
    if messages is None:
        raise ValidationError("completion() needs messages=[{'role': 'user', 'content': ...}]")
    if isinstance(messages, str | Message | Mapping):
        return messages
    return [_message(m) for m in messages]


def _tool(wire: Any) -> Tool:
    if isinstance(wire, Tool):
        return wire
    function = wire.get("function", wire) if isinstance(wire, Mapping) else None
    if not isinstance(function, Mapping):
        raise ValidationError(
            f"a tool looks like {{'type': 'function', 'function': {{...}}}}, not {wire!r}"
        )
    fields = {
        k: function[k] for k in ("name", "description", "parameters", "strict") if k in function
    }
    return Tool(**fields)


def _tool_choice(choice: Any) -> str | None:
    if choice is None or isinstance(choice, str):
        return choice
    if isinstance(choice, Mapping):
        name = (choice.get("function") or {}).get("name")
        if name:
            return str(name)
    raise ValidationError(
        f"tool_choice must be 'auto', 'none', 'required' or a function, not {choice!r}"
    )


def _response_format(fmt: Any) -> ResponseFormat | None:
    if fmt is None or isinstance(fmt, ResponseFormat):
        return fmt
    if isinstance(fmt, type) and hasattr(fmt, "model_json_schema"):
        return ResponseFormat.from_schema(fmt.__name__, fmt.model_json_schema())
    if not isinstance(fmt, Mapping):
        raise ValidationError(f"response_format must be a dict or a pydantic model, not {fmt!r}")
    kind = fmt.get("type", "json_object")
    if kind == "text":
        return None
    if kind == "json_schema":
        spec = fmt.get("json_schema") or {}
        return ResponseFormat(
            type="json_schema",
            name=spec.get("name"),
            json_schema=spec.get("schema") or {},
            strict=spec.get("strict"),
        )
    return ResponseFormat(type=kind)


def to_options(
    spec: ProviderSpec,
    params: Mapping[str, Any],
    extra: Mapping[str, Any],
    *,
    drop_params: bool,
) -> ChatOptions:
    """`ChatOptions` from LiteLLM's parameters; anything else goes through to the provider
    in `extra`, unless `drop_params` and the provider does not speak OpenAI's API.

    Example:
        >>> from conduit.providers.registry import get_provider
        >>> to_options(get_provider("openai"), {"temperature": 0, "max_tokens": 5},
        ...            {"presence_penalty": 1}, drop_params=False).extra
        {'presence_penalty': 1}
    """
    fields: dict[str, Any] = {}
    for name in ("temperature", "top_p", "seed"):
        if params.get(name) is not None:
            fields[name] = params[name]
    max_tokens = params.get("max_tokens") or params.get("max_completion_tokens")
    if max_tokens is not None:
        fields["max_tokens"] = max_tokens
    if params.get("stop") is not None:
        fields["stop"] = params["stop"]
    if params.get("tools"):
        fields["tools"] = [_tool(t) for t in params["tools"]]
    choice = _tool_choice(params.get("tool_choice"))
    if choice is not None:
        fields["tool_choice"] = choice
    fmt = _response_format(params.get("response_format"))
    if fmt is not None:
        fields["response_format"] = fmt
    passed = {k: v for k, v in extra.items() if v is not None and k not in _IGNORED}
    if passed and not (drop_params and spec.chat != _OPENAI_ADAPTER):
        fields["extra"] = passed
    return ChatOptions(**fields) if fields else ChatOptions()


def options_spec(specs: Sequence[ProviderSpec]) -> ProviderSpec:
    """The provider whose rules `to_options` follows for a call that may reach any of
    `specs` (fallbacks, a router group): the first that does not speak OpenAI's API, so
    `drop_params` drops what one of them would refuse; else the first.

    Example:
        >>> from conduit.providers.registry import get_provider
        >>> options_spec([get_provider("openai"), get_provider("anthropic")]).name
        'anthropic'
    """
    return next((s for s in specs if s.chat != _OPENAI_ADAPTER), specs[0])
