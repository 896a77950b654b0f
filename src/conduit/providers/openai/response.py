"""OpenAI Chat Completion object → our `Response`.

https://platform.openai.com/docs/api-reference/chat/object
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from conduit.errors import APIConnectionError, ValidationError
from conduit.schema import FunctionCall, Response, StopReason, ToolCall, Usage

__all__ = ["STOP_REASONS", "parse_chat_response", "parse_tool_calls", "parse_usage"]

STOP_REASONS: dict[str, StopReason] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "content_filter",
}


def _usage_fields(usage: dict[str, Any] | None) -> dict[str, int]:
    """OpenAI usage (`prompt_tokens`, `completion_tokens`, cached tokens) as `Usage` fields."""
    if not usage:
        return {}
    details = usage.get("prompt_tokens_details") or {}
    return {
        "input_tokens": usage.get("prompt_tokens") or 0,
        "output_tokens": usage.get("completion_tokens") or 0,
        "total_tokens": usage.get("total_tokens") or 0,
        "cache_read_tokens": details.get("cached_tokens") or 0,
    }


def parse_usage(usage: dict[str, Any] | None) -> Usage:
    """OpenAI usage → `Usage`.

    Example:
        >>> parse_usage({"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12,
        ...              "prompt_tokens_details": {"cached_tokens": 4}}).cache_read_tokens
        4
    """
    return Usage(**_usage_fields(usage))


def parse_tool_calls(wire: list[dict[str, Any]] | None) -> list[ToolCall]:
    """`message.tool_calls` → `ToolCall`s (arguments parsed, kept raw when not JSON)."""
    calls = []
    for item in wire or ():
        function = item.get("function") or {}
        calls.append(
            ToolCall(
                id=item.get("id") or "",
                function=FunctionCall.from_raw(
                    function.get("name") or "", function.get("arguments")
                ),
            )
        )
    return calls


def _unchanged(text: str) -> str:
    return text


def parse_chat_response(
    data: Any,
    *,
    provider: str,
    duration: float | None = None,
    redact: Callable[[str], str] = _unchanged,
    keep: Sequence[str] = (),
) -> Response:
    """A chat completion body → `Response`.

    A body that is not a chat completion is an `APIConnectionError` quoting an excerpt,
    passed through `redact` first (a server may echo the request's key back). The
    top-level fields named in `keep` (a vendor's additions, such as Perplexity's
    `citations`) are kept in `Response.provider_data`.

    Example:
        >>> parse_chat_response({"id": "c1", "model": "m", "choices": [{"index": 0,
        ...     "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}]},
        ...     provider="openai").text
        'Hi'
    """
    try:
        choice = data["choices"][0]
        message = choice["message"]
        if not isinstance(message, dict):
            raise TypeError
    except (KeyError, IndexError, TypeError):
        raise APIConnectionError(
            redact(
                f"the answer is not a chat completion (no choices[0].message): {str(data)[:200]!r}"
            ),
            provider=provider,
        ) from None
    text = message.get("content")
    if text is None:
        text = message.get("refusal")
    finish = choice.get("finish_reason")
    # One validation of plain nested data in pydantic-core: half the time of building
    # TextBlock/Usage objects first and validating them again inside Response.
    try:
        return Response.model_validate(
            {
                "id": data.get("id") or "",
                "model": data.get("model") or "",
                "provider": provider,
                "content": [{"type": "text", "text": text}] if text else [],
                "tool_calls": parse_tool_calls(message.get("tool_calls")),
                "stop_reason": STOP_REASONS.get(finish) if finish else None,
                "usage": _usage_fields(data.get("usage")),
                "duration": duration,
                "provider_data": {k: data[k] for k in keep if data.get(k) is not None},
            }
        )
    except ValidationError as exc:
        raise APIConnectionError(
            redact(f"the chat completion has fields of the wrong type: {exc.message}"),
            provider=provider,
        ) from None
