"""Anthropic Message object → our `Response`.

https://docs.anthropic.com/en/api/messages (the response body). Text blocks become
`TextBlock`s, `tool_use` blocks `ToolCall`s; thinking and server-tool blocks have no
counterpart in our schema and are skipped.

Usage is normalized like OpenAI's: Anthropic's `input_tokens` counts only the tokens after
the last cache breakpoint, so our `input_tokens` is that plus `cache_read_input_tokens`
plus `cache_creation_input_tokens` (the whole prompt), and the two cache counts are shown
separately as `cache_read_tokens` and `cache_creation_tokens`.

Example:
    >>> r = parse_message_response({"id": "msg_1", "type": "message", "role": "assistant",
    ...     "model": "claude-sonnet-4-5", "content": [{"type": "text", "text": "Hi!"}],
    ...     "stop_reason": "end_turn", "stop_sequence": None,
    ...     "usage": {"input_tokens": 5, "output_tokens": 2}}, provider="anthropic")
    >>> r.text, r.stop_reason, r.usage.total_tokens
    ('Hi!', 'end_turn', 7)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from conduit import _json
from conduit.errors import APIConnectionError, ValidationError
from conduit.providers.anthropic.request import JSONOutput
from conduit.schema import FunctionCall, Response, StopReason, ToolCall, Usage

__all__ = [
    "STOP_REASONS",
    "output_text",
    "parse_message_response",
    "parse_tool_use",
    "parse_usage",
    "usage_fields",
]

# https://docs.anthropic.com/en/api/handling-stop-reasons
STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
    "refusal": "content_filter",
    # The context window filled up before max_tokens: the answer is cut off all the same.
    "model_context_window_exceeded": "max_tokens",
    # `pause_turn` (a long server-tool turn, to be continued) has no counterpart: None.
}


def usage_fields(usage: Mapping[str, Any] | None) -> dict[str, int]:
    """Anthropic usage → `Usage` fields (input includes both cache counts).

    Example:
        >>> fields = usage_fields({"input_tokens": 10, "output_tokens": 5,
        ...     "cache_read_input_tokens": 100, "cache_creation_input_tokens": 20})
        >>> fields["input_tokens"], fields["cache_read_tokens"], fields["cache_creation_tokens"]
        (130, 100, 20)
    """
    if not usage:
        return {}
    read = usage.get("cache_read_input_tokens") or 0
    created = usage.get("cache_creation_input_tokens") or 0
    return {
        "input_tokens": (usage.get("input_tokens") or 0) + read + created,
        "output_tokens": usage.get("output_tokens") or 0,
        "cache_read_tokens": read,
        "cache_creation_tokens": created,
    }


def parse_usage(usage: Mapping[str, Any] | None) -> Usage:
    """Anthropic usage → `Usage`.

    Example:
        >>> parse_usage({"input_tokens": 3, "output_tokens": 4}).total_tokens
        7
    """
    return Usage(**usage_fields(usage))


def parse_tool_use(block: Mapping[str, Any]) -> ToolCall:
    """A `tool_use` block → `ToolCall` (`input` is an object; anything else is kept raw
    and flagged, as `FunctionCall.from_raw` does).

    Example:
        >>> parse_tool_use({"type": "tool_use", "id": "toolu_1", "name": "add",
        ...                 "input": {"a": 1}}).arguments
        {'a': 1}
    """
    name = block.get("name") or ""
    arguments = block.get("input")
    if isinstance(arguments, dict):
        function = FunctionCall.from_arguments(name, arguments)
    elif isinstance(arguments, str):
        function = FunctionCall.from_raw(name, arguments)
    else:
        function = FunctionCall.from_raw(name, _json.dumps(arguments).decode())
    return ToolCall(id=block.get("id") or "", function=function)


def output_text(raw: str, output: JSONOutput) -> str:
    """The JSON answer as text, from the output tool's raw input (unwrapped from `value`
    when the schema was wrapped; returned as it is when it does not parse).

    Example:
        >>> output_text('{"value": [1, 2]}', JSONOutput("numbers", {}, wrapped=True))
        '[1,2]'
    """
    if not output.wrapped:
        return raw
    try:
        parsed = _json.loads(raw)
    except _json.JSONDecodeError:
        return raw
    if not isinstance(parsed, dict) or "value" not in parsed:
        return raw
    return _json.dumps(parsed["value"]).decode()


def _unchanged(text: str) -> str:
    return text


def parse_message_response(
    data: Any,
    *,
    provider: str,
    duration: float | None = None,
    redact: Callable[[str], str] = _unchanged,
    json_output: JSONOutput | None = None,
) -> Response:
    """A Message body → `Response`.

    With `json_output`, the output tool's input becomes the answer's only text, and a
    `tool_use` stop caused by it alone becomes `end_turn`. A body that is not a Message is
    an `APIConnectionError` quoting a redacted excerpt.
    """
    content = data.get("content") if isinstance(data, dict) else None
    if not isinstance(content, list):
        raise APIConnectionError(
            redact(f"the answer is not a message (no content list): {str(data)[:200]!r}"),
            provider=provider,
        )
    texts: list[dict[str, str]] = []
    calls: list[ToolCall] = []
    answer: str | None = None
    try:
        for block in content:
            kind = block.get("type")
            if kind == "text":
                if block.get("text"):
                    texts.append({"type": "text", "text": block["text"]})
            elif kind == "tool_use":
                if json_output is not None and block.get("name") == json_output.tool:
                    raw = _json.dumps(block.get("input")).decode()
                    answer = output_text(raw, json_output)
                else:
                    calls.append(parse_tool_use(block))
        finish = data.get("stop_reason")
        stop = STOP_REASONS.get(finish) if finish else None
        if answer is not None:
            texts = [{"type": "text", "text": answer}]
            if stop == "tool_use" and not calls:
                stop = "end_turn"
        return Response.model_validate(
            {
                "id": data.get("id") or "",
                "model": data.get("model") or "",
                "provider": provider,
                "content": texts,
                "tool_calls": calls,
                "stop_reason": stop,
                "usage": usage_fields(data.get("usage")),
                "duration": duration,
            }
        )
    except (AttributeError, TypeError, ValidationError) as exc:
        detail = exc.message if isinstance(exc, ValidationError) else str(exc)
        raise APIConnectionError(
            redact(f"the message has fields of the wrong type: {detail}"),
            provider=provider,
        ) from None
