"""A Gemini `GenerateContentResponse` → our `Response`.

https://ai.google.dev/api/generate-content#generatecontentresponse

- text parts are joined (thought summaries, `thought: true`, are left out);
- `functionCall` parts become `ToolCall`s with stable ids (`calls.tool_call_id`), their
  thought signatures kept in the model's `CallMemory`;
- `finishReason` maps to a `StopReason`; `STOP` with function calls is `tool_use`;
- a prompt blocked by safety (`promptFeedback.blockReason`), or a candidate stopped by
  a filter (`SAFETY`, `RECITATION`, `BLOCKLIST`, ...) with nothing in it, raises
  `ContentFilterError`; a filtered candidate that still has content is returned with
  `stop_reason="content_filter"`;
- `usageMetadata` → `Usage`: thinking tokens count as output, tool-use prompt tokens as
  input, cached tokens (already inside the prompt count) as `cache_read_tokens`;
- parts and fields Conduit has no place for (code execution, inline images the model
  drew, grounding metadata, ...) are skipped and logged, never an error.

Example:
    >>> r = parse_generate_response({"candidates": [{"content": {"role": "model",
    ...     "parts": [{"text": "Hi"}]}, "finishReason": "STOP"}],
    ...     "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1,
    ...                       "totalTokenCount": 4}}, provider="gemini")
    >>> r.text, r.stop_reason, r.usage.total_tokens
    ('Hi', 'end_turn', 4)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson

from conduit.errors import APIConnectionError, ContentFilterError, ValidationError
from conduit.providers.gemini.calls import CallMemory, tool_call_id
from conduit.schema import FunctionCall, Response, StopReason, ToolCall, Usage

__all__ = [
    "FILTER_REASONS",
    "STOP_REASONS",
    "blocked_prompt_error",
    "filtered_error",
    "log_unknown_part",
    "parse_function_call",
    "parse_generate_response",
    "parse_usage",
    "stop_reason",
]

log = logging.getLogger("conduit.providers.gemini")

# Candidate.FinishReason (https://ai.google.dev/api/generate-content#FinishReason).
# Those not listed (OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL, ...) have no StopReason.
FILTER_REASONS = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "MODEL_ARMOR",
    }
)
STOP_REASONS: dict[str, StopReason] = {
    "STOP": "end_turn",
    "MAX_TOKENS": "max_tokens",
    **dict.fromkeys(FILTER_REASONS, "content_filter"),
}
_KNOWN_PART_KEYS = frozenset({"text", "thought", "thoughtSignature", "functionCall"})


def stop_reason(finish: Any, has_calls: bool) -> StopReason | None:
    """Our stop reason for a `finishReason` (Gemini says `STOP` for calls too).

    Example:
        >>> stop_reason("STOP", True), stop_reason("MAX_TOKENS", False)
        ('tool_use', 'max_tokens')
    """
    if not isinstance(finish, str):
        return None
    reason = STOP_REASONS.get(finish)
    if reason == "end_turn" and has_calls:
        return "tool_use"
    if reason is None and finish != "FINISH_REASON_UNSPECIFIED":
        log.info("Gemini finished with %s; no stop reason maps to it", finish)
    return reason


def _count(usage: dict[str, Any], key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and value > 0 else 0


def _usage_fields(usage: Any) -> dict[str, int]:
    if not isinstance(usage, dict):
        return {}
    return {
        "input_tokens": _count(usage, "promptTokenCount")
        + _count(usage, "toolUsePromptTokenCount"),
        "output_tokens": _count(usage, "candidatesTokenCount")
        + _count(usage, "thoughtsTokenCount"),
        "total_tokens": _count(usage, "totalTokenCount"),
        "cache_read_tokens": _count(usage, "cachedContentTokenCount"),
    }


def parse_usage(usage: Any) -> Usage:
    """`usageMetadata` → `Usage`.

    Example:
        >>> u = parse_usage({"promptTokenCount": 10, "candidatesTokenCount": 5,
        ...     "thoughtsTokenCount": 7, "cachedContentTokenCount": 4, "totalTokenCount": 22})
        >>> u.input_tokens, u.output_tokens, u.cache_read_tokens, u.total_tokens
        (10, 12, 4, 22)
    """
    return Usage(**_usage_fields(usage))


def blocked_prompt_error(data: dict[str, Any], provider: str) -> ContentFilterError | None:
    """The error for a prompt Gemini refused (`promptFeedback.blockReason`), else None."""
    feedback = data.get("promptFeedback")
    if not isinstance(feedback, dict):
        return None
    reason = feedback.get("blockReason")
    if not reason or reason == "BLOCKED_REASON_UNSPECIFIED":
        return None
    message = f"Gemini blocked the prompt ({reason})"
    if isinstance(feedback.get("blockReasonMessage"), str):
        message += f": {feedback['blockReasonMessage']}"
    return ContentFilterError(message, provider=provider)


def filtered_error(candidate: dict[str, Any], provider: str) -> ContentFilterError:
    """The error for a candidate a filter stopped before it said anything."""
    finish = candidate.get("finishReason")
    message = f"Gemini withheld the answer (finishReason {finish})"
    if isinstance(candidate.get("finishMessage"), str):
        message += f": {candidate['finishMessage']}"
    flagged = [
        r.get("category")
        for r in candidate.get("safetyRatings") or ()
        if isinstance(r, dict) and r.get("blocked")
    ]
    if flagged:
        message += f" [{', '.join(map(str, flagged))}]"
    return ContentFilterError(message, provider=provider)


def parse_function_call(
    part: dict[str, Any], response_id: str, index: int, memory: CallMemory | None
) -> ToolCall:
    """A `functionCall` part → `ToolCall`; its signature goes to `memory`."""
    call = part["functionCall"]
    if not isinstance(call, dict):
        raise TypeError("functionCall is not an object")
    name = call.get("name") or ""
    args = call.get("args")
    if args is None:
        args = {}
    wire_id = call.get("id")
    call_id = wire_id if isinstance(wire_id, str) and wire_id else None
    if call_id is None:
        call_id = tool_call_id(response_id, index, name, args)
    if memory is not None:
        memory.remember(call_id, signature=part.get("thoughtSignature"), from_wire=bool(wire_id))
    if isinstance(args, dict):
        function = FunctionCall.from_arguments(name, args)
    else:  # not an object: kept, flagged, like any provider's malformed arguments
        function = FunctionCall.from_raw(name, orjson.dumps(args).decode())
    return ToolCall(id=call_id, function=function)


def log_unknown_part(part: Any) -> None:
    """Note a part Conduit has no place for (it is skipped)."""
    if isinstance(part, dict):
        kinds = sorted(set(part) - _KNOWN_PART_KEYS)
        log.info("skipping a Gemini %s part; Conduit has no place for it", "/".join(kinds))
    else:
        log.info("skipping a Gemini part that is not an object: %r", part)


def _unchanged(text: str) -> str:
    return text


def parse_generate_response(
    data: Any,
    *,
    provider: str,
    duration: float | None = None,
    redact: Callable[[str], str] = _unchanged,
    memory: CallMemory | None = None,
) -> Response:
    """A `generateContent` answer → `Response` (see the module doc for the rules).

    A body that is not a `GenerateContentResponse` is an `APIConnectionError` quoting a
    redacted excerpt.
    """
    if not isinstance(data, dict):
        raise APIConnectionError(
            redact(f"the answer is not a GenerateContentResponse: {str(data)[:200]!r}"),
            provider=provider,
        )
    blocked = blocked_prompt_error(data, provider)
    if blocked is not None:
        raise blocked
    candidates = data.get("candidates")
    if not isinstance(candidates, list) or not candidates or not isinstance(candidates[0], dict):
        raise APIConnectionError(
            redact(f"the answer has no candidates: {str(data)[:200]!r}"), provider=provider
        )
    candidate = candidates[0]
    raw_id = data.get("responseId")
    response_id = raw_id if isinstance(raw_id, str) else ""
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    texts: list[str] = []
    calls: list[ToolCall] = []
    try:
        for part in parts if isinstance(parts, list) else ():
            if isinstance(part, dict) and "functionCall" in part:
                calls.append(parse_function_call(part, response_id, len(calls), memory))
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                if not part.get("thought"):
                    texts.append(part["text"])
            else:
                log_unknown_part(part)
    except (TypeError, ValidationError) as exc:
        raise APIConnectionError(
            redact(f"the answer has a malformed part: {exc}"), provider=provider
        ) from None
    text = "".join(texts)
    reason = stop_reason(candidate.get("finishReason"), bool(calls))
    if reason == "content_filter" and not text and not calls:
        raise filtered_error(candidate, provider)
    model = data.get("modelVersion")
    try:
        return Response.model_validate(
            {
                "id": response_id,
                "model": model if isinstance(model, str) else "",
                "provider": provider,
                "content": [{"type": "text", "text": text}] if text else [],
                "tool_calls": calls,
                "stop_reason": reason,
                "usage": _usage_fields(data.get("usageMetadata")),
                "duration": duration,
            }
        )
    except ValidationError as exc:  # pragma: no cover - every field is checked above
        raise APIConnectionError(
            redact(f"the answer has fields of the wrong type: {exc.message}"), provider=provider
        ) from None
