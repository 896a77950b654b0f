"""Gemini stream chunks → our stream events, assembling the final `Response`.

`streamGenerateContent?alt=sse` sends each chunk as a server-sent event whose data is a
partial `GenerateContentResponse` (https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent):
text arrives in pieces, a `functionCall` part arrives whole, `usageMetadata` is repeated
(cumulative) and the last chunk carries `finishReason`. There is no `[DONE]`: the
stream ends with the body.

Each text part becomes a `TextDelta`, each function call one `ToolCallDelta` with its
id, name and complete arguments; `finish()` gives one `UsageEvent` from the last
`usageMetadata` and the `Done` event. The same rules as `parse_generate_response`
apply: a blocked prompt or a filtered, empty answer raises `ContentFilterError`.

Example:
    >>> a = StreamAssembler(provider="gemini")
    >>> [e.text for e in a.feed({"candidates": [{"content": {"role": "model",
    ...     "parts": [{"text": "Hel"}]}}]})]
    ['Hel']
    >>> _ = a.feed({"candidates": [{"content": {"role": "model", "parts": [{"text": "lo"}]},
    ...     "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 2,
    ...     "candidatesTokenCount": 2, "totalTokenCount": 4}})
    >>> [e.type for e in a.finish()]
    ['usage', 'done']
    >>> a.finish()[-1].response.text
    'Hello'
"""

from __future__ import annotations

from typing import Any

from conduit.errors import ValidationError
from conduit.providers.gemini.calls import CallMemory
from conduit.providers.gemini.response import (
    blocked_prompt_error,
    filtered_error,
    log_unknown_part,
    parse_function_call,
    parse_usage,
    stop_reason,
)
from conduit.schema import (
    Done,
    Response,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)

__all__ = ["StreamAssembler"]

# Bound once: validating a one-field dict in pydantic-core is the cheapest way to build
# the per-chunk event (see the OpenAI adapter's stream module).
_text_delta = TextDelta.__pydantic_validator__.validate_python


class StreamAssembler:
    """Feed parsed chunks; get events; `finish()` gives the usage and `Done` events."""

    __slots__ = (
        "_calls",
        "_candidate",
        "_memory",
        "_text",
        "finish_reason",
        "id",
        "model",
        "provider",
        "usage",
    )

    def __init__(self, *, provider: str, memory: CallMemory | None = None) -> None:
        self.provider = provider
        self._memory = memory
        self.id = ""
        self.model = ""
        self._text: list[str] = []
        self._calls: list[ToolCall] = []
        self._candidate: dict[str, Any] = {}
        self.finish_reason: str | None = None
        self.usage: Usage | None = None

    @property
    def finished(self) -> bool:
        """Whether a chunk said why the answer ended."""
        return self.finish_reason is not None

    def feed(self, chunk: dict[str, Any]) -> list[StreamEvent]:
        """Events for one chunk (often exactly one `TextDelta`)."""
        if not self.id and isinstance(chunk.get("responseId"), str):
            self.id = chunk["responseId"]
        if not self.model and isinstance(chunk.get("modelVersion"), str):
            self.model = chunk["modelVersion"]
        blocked = blocked_prompt_error(chunk, self.provider)
        if blocked is not None:
            raise blocked
        usage = chunk.get("usageMetadata")
        if isinstance(usage, dict):
            self.usage = parse_usage(usage)
        events: list[StreamEvent] = []
        candidates = chunk.get("candidates")
        if not isinstance(candidates, list) or not candidates:
            return events
        candidate = candidates[0]
        if not isinstance(candidate, dict):
            raise TypeError("a candidate is not an object")
        content = candidate.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        for part in parts if isinstance(parts, list) else ():
            if isinstance(part, dict) and "functionCall" in part:
                try:
                    call = parse_function_call(part, self.id, len(self._calls), self._memory)
                except ValidationError as exc:
                    raise TypeError(str(exc)) from None
                events.append(
                    ToolCallDelta(
                        index=len(self._calls),
                        id=call.id,
                        name=call.function.name,
                        arguments=call.function.raw_arguments,
                    )
                )
                self._calls.append(call)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                text = part["text"]
                if text and not part.get("thought"):
                    self._text.append(text)
                    events.append(_text_delta({"text": text}))
            else:
                log_unknown_part(part)
        finish = candidate.get("finishReason")
        if isinstance(finish, str):
            self.finish_reason = finish
            self._candidate = candidate
        return events

    def finish(self, duration: float | None = None) -> list[StreamEvent]:
        """The closing events: one `UsageEvent` (when usage came) and `Done`.

        Raises `ContentFilterError` when a filter stopped the answer before any of it
        arrived.
        """
        text = "".join(self._text)
        reason = stop_reason(self.finish_reason, bool(self._calls))
        if reason == "content_filter" and not text and not self._calls:
            raise filtered_error(self._candidate, self.provider)
        response = Response(
            id=self.id,
            model=self.model,
            provider=self.provider,
            content=[TextBlock(text=text)] if text else [],
            tool_calls=list(self._calls),
            stop_reason=reason,
            usage=self.usage or Usage(),
            duration=duration,
        )
        events: list[StreamEvent] = []
        if self.usage is not None:
            events.append(UsageEvent(usage=self.usage))
        events.append(Done(response=response))
        return events
