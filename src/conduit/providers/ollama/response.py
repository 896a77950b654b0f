"""Ollama's `/api/chat` and `/api/embed` answers → our `Response` and `Embeddings`.

Follows Ollama's API reference (docs/api.md): the answer is `message` (`content`,
`tool_calls` with arguments as an object), `done_reason` (`stop`, `length`; `load` and
`unload` for the empty requests that only load or unload a model), and the counts
`prompt_eval_count` (input tokens) and `eval_count` (output tokens). Ollama gives tool
calls no ids, so each gets a fresh one here: a tool result names its call by id.

Example:
    >>> r = parse_chat_response({"model": "llama3.2", "message": {"role": "assistant",
    ...     "content": "Hi!"}, "done": True, "done_reason": "stop",
    ...     "prompt_eval_count": 26, "eval_count": 3}, provider="ollama")
    >>> r.text, r.stop_reason, r.usage.total_tokens
    ('Hi!', 'end_turn', 29)
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

from conduit import _json
from conduit.errors import APIConnectionError, ValidationError
from conduit.schema import FunctionCall, Response, StopReason, ToolCall, Usage

__all__ = [
    "STOP_REASONS",
    "new_call_id",
    "parse_chat_response",
    "parse_embeddings",
    "parse_tool_call",
    "parse_usage",
    "stop_reason",
]

STOP_REASONS: dict[str, StopReason] = {"stop": "end_turn", "length": "max_tokens"}


def new_call_id() -> str:
    """A fresh tool-call id, unique across a conversation.

    Example:
        >>> new_call_id().startswith("call_")
        True
    """
    return f"call_{secrets.token_hex(12)}"


def parse_tool_call(item: Mapping[str, Any]) -> ToolCall:
    """One of `message.tool_calls` → `ToolCall`, with a new id unless the server sent one.

    Arguments arrive as an object; a server that sends them as a JSON string (as OpenAI
    does) is understood too, and anything else is kept raw and flagged.

    Example:
        >>> call = parse_tool_call({"function": {"name": "get_weather",
        ...                                      "arguments": {"city": "Tokyo"}}})
        >>> call.name, call.arguments, call.function.raw_arguments
        ('get_weather', {'city': 'Tokyo'}, '{"city":"Tokyo"}')
    """
    function = item.get("function") or {}
    name = function.get("name") or ""
    arguments = function.get("arguments")
    if isinstance(arguments, dict):
        call = FunctionCall.from_arguments(name, arguments)
    elif arguments is None or isinstance(arguments, str):
        call = FunctionCall.from_raw(name, arguments)
    else:
        call = FunctionCall(
            name=name, raw_arguments=_json.dumps(arguments).decode(), invalid_arguments=True
        )
    return ToolCall(id=item.get("id") or new_call_id(), function=call)


def parse_usage(data: Mapping[str, Any]) -> Usage:
    """Token counts from a final answer (`prompt_eval_count`, `eval_count`).

    Example:
        >>> parse_usage({"prompt_eval_count": 26, "eval_count": 282}).total_tokens
        308
    """
    return Usage(
        input_tokens=data.get("prompt_eval_count") or 0,
        output_tokens=data.get("eval_count") or 0,
    )


def stop_reason(done_reason: str | None, *, tool_calls: bool) -> StopReason | None:
    """Our stop reason for Ollama's `done_reason` (given on the final object).

    Ollama says `stop` when the model called tools; that is `tool_use` here, as from
    every other provider. An answer without `done_reason` (older servers) ended normally.

    Example:
        >>> stop_reason("length", tool_calls=False), stop_reason("stop", tool_calls=True)
        ('max_tokens', 'tool_use')
    """
    if tool_calls and done_reason in (None, "", "stop"):
        return "tool_use"
    if not done_reason:
        return "end_turn"
    return STOP_REASONS.get(done_reason)


def _unchanged(text: str) -> str:
    return text


def parse_chat_response(
    data: Any,
    *,
    provider: str,
    duration: float | None = None,
    redact: Callable[[str], str] = _unchanged,
) -> Response:
    """A non-streamed `/api/chat` answer → `Response`.

    A body that is not such an answer is an `APIConnectionError` quoting an excerpt,
    passed through `redact` first.
    """
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, dict):
        raise APIConnectionError(
            redact(f"the answer is not an Ollama chat response (no message): {str(data)[:200]!r}"),
            provider=provider,
        )
    try:
        calls = [parse_tool_call(item) for item in message.get("tool_calls") or ()]
        text = message.get("content") or ""
        return Response(
            model=data.get("model") or "",
            provider=provider,
            content=[{"type": "text", "text": text}] if text else [],
            tool_calls=calls,
            stop_reason=stop_reason(data.get("done_reason"), tool_calls=bool(calls)),
            usage=parse_usage(data),
            duration=duration,
        )
    except (ValidationError, AttributeError, TypeError) as exc:
        raise APIConnectionError(
            redact(f"the chat response has fields of the wrong type: {exc}"),
            provider=provider,
        ) from None


def parse_embeddings(
    data: Any, count: int, *, provider: str, redact: Callable[[str], str] = _unchanged
) -> list[list[float]]:
    """The vectors of an `/api/embed` answer, checked to be one per input (in input order,
    as Ollama returns them).

    Example:
        >>> parse_embeddings({"model": "all-minilm", "embeddings": [[0.1, 0.2]]}, 1,
        ...                  provider="ollama")
        [[0.1, 0.2]]
    """
    vectors = data.get("embeddings") if isinstance(data, dict) else None
    if not isinstance(vectors, list) or not all(isinstance(v, list) for v in vectors):
        raise APIConnectionError(
            redact(f"the answer is not an embeddings list: {str(data)[:200]!r}"),
            provider=provider,
        )
    if len(vectors) != count:
        raise APIConnectionError(
            f"asked for {count} embeddings, got {len(vectors)}", provider=provider
        )
    return vectors
