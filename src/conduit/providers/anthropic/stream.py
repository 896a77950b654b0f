"""Anthropic stream events → our stream events, assembling the final `Response`.

https://docs.anthropic.com/en/docs/build-with-claude/streaming. The flow is
`message_start` (id, model, input usage), then per content block `content_block_start`,
`content_block_delta`s and `content_block_stop`, then `message_delta` (stop reason, final
usage) and `message_stop`; `ping`s may come anywhere. Deltas are `text_delta` (text),
`input_json_delta` (a tool call's input, as JSON fragments to concatenate) and, for extended
thinking, `thinking_delta` / `signature_delta`, which have no counterpart here and are
skipped. Event and delta types not listed are skipped too (logged at debug level): the
streaming guide says new ones may be added.

Example:
    >>> a = StreamAssembler(provider="anthropic")
    >>> events = [
    ...     {"type": "message_start", "message": {"id": "msg_1", "model": "claude-haiku-4-5",
    ...      "usage": {"input_tokens": 9, "output_tokens": 1}}},
    ...     {"type": "content_block_start", "index": 0,
    ...      "content_block": {"type": "text", "text": ""}},
    ...     {"type": "content_block_delta", "index": 0,
    ...      "delta": {"type": "text_delta", "text": "Hi"}},
    ...     {"type": "content_block_stop", "index": 0},
    ...     {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
    ...      "usage": {"output_tokens": 2}},
    ...     {"type": "message_stop"}]
    >>> [e.type for event in events for e in a.feed(event)]
    ['text_delta', 'usage']
    >>> a.finished, a.done().response.text
    (True, 'Hi')
"""

from __future__ import annotations

import logging
from typing import Any

from conduit import _json
from conduit.providers.anthropic.request import JSONOutput
from conduit.providers.anthropic.response import STOP_REASONS, output_text, parse_usage
from conduit.schema import (
    Done,
    FunctionCall,
    Response,
    StopReason,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    UsageEvent,
)

__all__ = ["StreamAssembler"]

log = logging.getLogger("conduit.providers.anthropic")

# Bound once: the cheapest way to build a TextDelta on the per-event path (see the
# OpenAI adapter's measurements).
_text_delta = TextDelta.__pydantic_validator__.validate_python

# Content blocks whose deltas we know and skip on purpose.
_SKIPPED_BLOCKS = frozenset({"thinking", "redacted_thinking"})
_SKIPPED_DELTAS = frozenset({"thinking_delta", "signature_delta", "citations_delta"})


class _Block:
    """One content block as it streams: text, a tool call, the JSON output tool, or other."""

    __slots__ = ("call", "id", "kind", "name", "parts")

    def __init__(self, kind: str, *, call: int = -1, id: str = "", name: str = "") -> None:
        self.kind = kind  # "text" | "tool" | "json" | "other"
        self.call = call  # the tool call's index among this answer's calls
        self.id = id
        self.name = name
        self.parts: list[str] = []


class StreamAssembler:
    """Feed parsed events; get our events; `done()` gives the assembled final event.

    Tool calls are numbered in the order they start (`ToolCallDelta.index` 0, 1, ...),
    whatever their content-block index. With `json_output`, the output tool's input
    streams as `TextDelta`s (all at once when its schema was wrapped, so the deltas always
    add up to the final text).
    """

    __slots__ = (
        "_blocks",
        "_calls",
        "_usage",
        "finished",
        "id",
        "json_output",
        "model",
        "provider",
        "stop_reason",
    )

    def __init__(self, *, provider: str, json_output: JSONOutput | None = None) -> None:
        self.provider = provider
        self.json_output = json_output
        self.id = ""
        self.model = ""
        self._blocks: dict[int, _Block] = {}
        self._calls = 0
        self._usage: dict[str, Any] = {}
        self.stop_reason: StopReason | None = None
        self.finished = False

    def feed(self, event: dict[str, Any]) -> list[StreamEvent]:
        """Our events for one Anthropic event (often exactly one delta)."""
        kind = event.get("type")
        if kind == "content_block_delta":
            return self._delta(event)
        if kind == "content_block_start":
            return self._start(event)
        if kind == "content_block_stop":
            return self._stop(event)
        if kind == "message_start":
            message = event.get("message") or {}
            self.id = message.get("id") or ""
            self.model = message.get("model") or ""
            self._usage.update(message.get("usage") or {})
            return []
        if kind == "message_delta":
            delta = event.get("delta") or {}
            finish = delta.get("stop_reason")
            if finish:
                self.stop_reason = STOP_REASONS.get(finish)
            usage = event.get("usage")
            if usage:
                # Counts here are cumulative; fields it leaves out keep message_start's.
                self._usage.update({k: v for k, v in usage.items() if v is not None})
                return [UsageEvent(usage=parse_usage(self._usage))]
            return []
        if kind == "message_stop":
            self.finished = True
        elif kind != "ping":
            log.debug("skipping an unknown stream event %r", kind)
        return []

    def _start(self, event: dict[str, Any]) -> list[StreamEvent]:
        block = event.get("content_block") or {}
        index = event.get("index", 0)
        btype = block.get("type")
        if btype == "text":
            slot = self._blocks[index] = _Block("text")
            text = block.get("text") or ""
            if text:
                slot.parts.append(text)
                return [_text_delta({"text": text})]
            return []
        if btype == "tool_use":
            name = block.get("name") or ""
            initial = block.get("input")
            # The input normally streams in deltas and starts as `{}`; a non-empty one
            # arrived whole.
            raw = _json.dumps(initial).decode() if initial else ""
            if self.json_output is not None and name == self.json_output.tool:
                slot = self._blocks[index] = _Block("json", name=name)
                if raw:
                    slot.parts.append(raw)
                    if not self.json_output.wrapped:
                        return [_text_delta({"text": raw})]
                return []
            slot = self._blocks[index] = _Block(
                "tool", call=self._calls, id=block.get("id") or "", name=name
            )
            self._calls += 1
            if raw:
                slot.parts.append(raw)
            return [ToolCallDelta(index=slot.call, id=slot.id, name=name, arguments=raw)]
        if btype not in _SKIPPED_BLOCKS:
            log.debug("skipping a %r content block", btype)
        self._blocks[index] = _Block("other")
        return []

    def _delta(self, event: dict[str, Any]) -> list[StreamEvent]:
        delta = event.get("delta") or {}
        dtype = delta.get("type")
        slot = self._blocks.get(event.get("index", 0))
        if dtype == "text_delta":
            text = delta.get("text") or ""
            if not text or slot is None or slot.kind != "text":
                return []
            slot.parts.append(text)
            return [_text_delta({"text": text})]
        if dtype == "input_json_delta":
            fragment = delta.get("partial_json") or ""
            if not fragment or slot is None or slot.kind not in ("tool", "json"):
                return []
            slot.parts.append(fragment)
            if slot.kind == "tool":
                return [ToolCallDelta(index=slot.call, arguments=fragment)]
            if self.json_output is not None and not self.json_output.wrapped:
                return [_text_delta({"text": fragment})]
            return []
        if dtype not in _SKIPPED_DELTAS:
            log.debug("skipping an unknown %r delta", dtype)
        return []

    def _stop(self, event: dict[str, Any]) -> list[StreamEvent]:
        slot = self._blocks.get(event.get("index", 0))
        if (
            slot is not None
            and slot.kind == "json"
            and self.json_output is not None
            and self.json_output.wrapped
        ):
            text = output_text("".join(slot.parts), self.json_output)
            if text:
                return [_text_delta({"text": text})]
        return []

    def done(self, duration: float | None = None) -> Done:
        """The final event with the whole answer."""
        content: list[TextBlock] = []
        calls: list[ToolCall] = []
        answer: str | None = None
        for _, slot in sorted(self._blocks.items()):
            raw = "".join(slot.parts)
            if slot.kind == "text":
                if raw:
                    content.append(TextBlock(text=raw))
            elif slot.kind == "tool":
                # No input fragments at all is an empty input, as in a whole message.
                function = FunctionCall.from_raw(slot.name, raw or "{}")
                calls.append(ToolCall(id=slot.id, function=function))
            elif slot.kind == "json" and self.json_output is not None:
                answer = output_text(raw, self.json_output)
        stop = self.stop_reason
        if answer is not None:
            content = [TextBlock(text=answer)] if answer else []
            if stop == "tool_use" and not calls:
                stop = "end_turn"
        response = Response(
            id=self.id,
            model=self.model,
            provider=self.provider,
            content=content,
            tool_calls=calls,
            stop_reason=stop,
            usage=parse_usage(self._usage),
            duration=duration,
        )
        return Done(response=response)
