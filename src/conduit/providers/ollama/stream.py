"""Ollama's streamed `/api/chat` objects → our stream events, assembling the final `Response`.

Ollama streams one JSON object per line (docs/api.md, "Chat request (Streaming)"): each
carries a piece of `message.content`; tool calls arrive whole, arguments included, in
an object of their own ("Chat request (Streaming with tools)"); the last object has
`done: true`, `done_reason` and the token counts.

Example:
    >>> a = StreamAssembler(provider="ollama")
    >>> [e.text for e in a.feed({"model": "llama3.2", "message": {"role": "assistant",
    ...     "content": "Hi"}, "done": False})]
    ['Hi']
    >>> [e.type for e in a.feed({"model": "llama3.2", "message": {"role": "assistant",
    ...     "content": ""}, "done": True, "done_reason": "stop", "eval_count": 1})]
    ['usage']
    >>> a.finished, a.done().response.text
    (True, 'Hi')
"""

from __future__ import annotations

from typing import Any

from conduit.providers.ollama.response import parse_tool_call, parse_usage, stop_reason
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
# the per-token event (see the OpenAI adapter's stream module).
_text_delta = TextDelta.__pydantic_validator__.validate_python


class StreamAssembler:
    """Feed parsed stream objects; get events; `done()` gives the assembled final event."""

    __slots__ = ("_calls", "_text", "done_reason", "finished", "model", "provider", "usage")

    def __init__(self, *, provider: str) -> None:
        self.provider = provider
        self.model = ""
        self._text: list[str] = []
        self._calls: list[ToolCall] = []
        self.done_reason: str | None = None
        self.usage: Usage | None = None
        self.finished = False

    def feed(self, chunk: dict[str, Any]) -> list[StreamEvent]:
        """Events for one object (usually exactly one `TextDelta`)."""
        if not self.model:
            self.model = chunk.get("model") or ""
        events: list[StreamEvent] = []
        message = chunk.get("message") or {}
        text = message.get("content")
        if text:
            self._text.append(text)
            events.append(_text_delta({"text": text}))
        for item in message.get("tool_calls") or ():
            call = parse_tool_call(item)
            index = len(self._calls)
            self._calls.append(call)
            # A call arrives complete: its id and name, then all its arguments at once.
            events.append(ToolCallDelta(index=index, id=call.id, name=call.name))
            events.append(ToolCallDelta(index=index, arguments=call.function.raw_arguments))
        if chunk.get("done"):
            self.finished = True
            self.done_reason = chunk.get("done_reason")
            self.usage = parse_usage(chunk)
            events.append(UsageEvent(usage=self.usage))
        return events

    def done(self, duration: float | None = None) -> Done:
        """The final event with the whole answer."""
        text = "".join(self._text)
        response = Response(
            model=self.model,
            provider=self.provider,
            content=[TextBlock(text=text)] if text else [],
            tool_calls=list(self._calls),
            stop_reason=stop_reason(self.done_reason, tool_calls=bool(self._calls)),
            usage=self.usage or Usage(),
            duration=duration,
        )
        return Done(response=response)
