"""A Converse answer → our `Response`.

https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_ResponseSyntax:
`output.message.content` blocks, `stopReason`, `usage` (with `cacheReadInputTokens` and
`cacheWriteInputTokens`). A guardrail intervention (`stopReason: guardrail_intervened`)
or a filtered answer (`content_filtered`) is a `ContentFilterError`.

Example:
    >>> parse_converse_response({"output": {"message": {"role": "assistant",
    ...     "content": [{"text": "Hi"}]}}, "stopReason": "end_turn",
    ...     "usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4}},
    ...     provider="bedrock", model="m").text
    'Hi'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from conduit import _json
from conduit.errors import APIConnectionError, ContentFilterError
from conduit.providers.anthropic.request import JSONOutput
from conduit.providers.anthropic.response import output_text
from conduit.schema import FunctionCall, Response, StopReason, ToolCall, Usage

__all__ = ["STOP_REASONS", "filter_error", "parse_converse_response", "parse_usage"]

STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}


def parse_usage(usage: Mapping[str, Any] | None) -> Usage:
    """Converse `usage` → `Usage`; the cached tokens are part of the input.

    Example:
        >>> parse_usage({"inputTokens": 10, "outputTokens": 2, "totalTokens": 1036,
        ...              "cacheReadInputTokens": 1024}).input_tokens
        1034
    """
    if not usage:
        return Usage()
    read = usage.get("cacheReadInputTokens") or 0
    write = usage.get("cacheWriteInputTokens") or 0
    fresh = usage.get("inputTokens") or 0
    output = usage.get("outputTokens") or 0
    return Usage(
        input_tokens=fresh + read + write,
        output_tokens=output,
        total_tokens=usage.get("totalTokens") or fresh + read + write + output,
        cache_read_tokens=read,
        cache_creation_tokens=write,
    )


def filter_error(reason: str, provider: str, trace: Any = None) -> ContentFilterError:
    """The error for an answer a guardrail or the model's filter withheld."""
    what = "a guardrail intervened" if reason == "guardrail_intervened" else "it was filtered"
    exc = ContentFilterError(f"Bedrock withheld the answer: {what}", provider=provider)
    if trace is not None:
        exc.body = _json.dumps(trace).decode()[:1200]
    return exc


def _unchanged(text: str) -> str:
    return text


def parse_converse_response(
    data: Any,
    *,
    provider: str,
    model: str,
    duration: float | None = None,
    redact: Callable[[str], str] = _unchanged,
    output: JSONOutput | None = None,
) -> Response:
    """A Converse body → `Response` (`output`: the forced JSON tool, whose input becomes
    the answer's text)."""
    try:
        content = data["output"]["message"]["content"]
        if not isinstance(content, list):
            raise TypeError
    except (KeyError, TypeError):
        raise APIConnectionError(
            redact(f"the answer is not a Converse response: {str(data)[:200]!r}"),
            provider=provider,
        ) from None
    reason = data.get("stopReason") or ""
    stop = STOP_REASONS.get(reason)
    if stop == "content_filter":
        raise filter_error(reason, provider, data.get("trace"))
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in content:
        if "text" in block:
            texts.append(block["text"])
        elif "toolUse" in block:
            use = block["toolUse"]
            raw = _json.dumps(use.get("input", {})).decode()
            if output is not None and use.get("name") == output.tool:
                texts = [output_text(raw, output)]
                stop = "end_turn"
                continue
            calls.append(
                ToolCall(
                    id=use.get("toolUseId") or "",
                    function=FunctionCall.from_raw(use.get("name") or "", raw),
                )
            )
    text = "".join(texts)
    return Response(
        id="",
        model=model,
        provider=provider,
        content=[{"type": "text", "text": text}] if text else [],
        tool_calls=calls,
        stop_reason=stop,
        usage=parse_usage(data.get("usage")),
        duration=duration,
        provider_data={k: data[k] for k in ("metrics", "trace") if k in data},
    )
