"""ConverseStream events → our stream events, assembling the final `Response`.

https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html:
`messageStart`, `contentBlockStart` (a tool call's id and name), `contentBlockDelta`
(`text`, or a fragment of a tool call's `input`), `contentBlockStop`, `messageStop`
(`stopReason`), `metadata` (`usage`). An exception frame (`:message-type: exception`)
becomes the typed error for its `:exception-type` (`throttlingException` →
`RateLimitError`, ...).

Example:
    >>> a = StreamAssembler(provider="bedrock", model="m")
    >>> [e.text for e in a.feed("contentBlockDelta", {"contentBlockIndex": 0,
    ...                                                "delta": {"text": "Hi"}})]
    ['Hi']
    >>> _ = a.feed("messageStop", {"stopReason": "end_turn"})
    >>> a.done().response.text
    'Hi'
"""

from __future__ import annotations

from typing import Any

from conduit.errors import (
    BadRequestError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    ServerError,
)
from conduit.providers.anthropic.request import JSONOutput
from conduit.providers.anthropic.response import output_text
from conduit.providers.bedrock.response import STOP_REASONS, filter_error, parse_usage
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
    Usage,
    UsageEvent,
)
from conduit.transport.errors import refine_error_class

__all__ = ["EXCEPTIONS", "StreamAssembler", "exception_error"]

EXCEPTIONS: dict[str, type[ProviderError]] = {
    "throttlingException": RateLimitError,
    "serviceQuotaExceededException": RateLimitError,
    "validationException": BadRequestError,
    "accessDeniedException": PermissionDeniedError,
    "internalServerException": ServerError,
    "modelStreamErrorException": ServerError,
    "serviceUnavailableException": ServerError,
    "modelTimeoutException": ServerError,
}


def exception_error(kind: str, message: str, provider: str) -> ProviderError:
    """The typed error for an exception frame of type `kind`.

    Example:
        >>> type(exception_error("throttlingException", "Too many requests", "bedrock"))
        <class 'conduit.errors.RateLimitError'>
    """
    cls = refine_error_class(EXCEPTIONS.get(kind, ServerError), message)
    return cls(f"{kind}: {message}" if kind else message, provider=provider)


class StreamAssembler:
    """Feed (event type, body) pairs; get events; `done()` gives the final event."""

    __slots__ = (
        "_calls",
        "_indexes",
        "_output",
        "_output_block",
        "_output_parts",
        "_text",
        "finished",
        "model",
        "provider",
        "stop_reason",
        "usage",
    )

    def __init__(self, *, provider: str, model: str, output: JSONOutput | None = None) -> None:
        self.provider = provider
        self.model = model
        self._output = output
        self._output_block: int | None = None
        self._output_parts: list[str] = []
        self._text: list[str] = []
        self._indexes: dict[int, int] = {}  # contentBlockIndex -> tool call index
        self._calls: list[list[Any]] = []  # [id, name, [input fragments]]
        self.stop_reason: StopReason | None = None
        self.usage: Usage | None = None
        self.finished = False

    def feed(self, kind: str, body: dict[str, Any]) -> list[StreamEvent]:
        """Events for one ConverseStream event."""
        block = body.get("contentBlockIndex", 0)
        if kind == "contentBlockDelta":
            delta = body.get("delta") or {}
            text = delta.get("text")
            if text:
                self._text.append(text)
                return [TextDelta(text=text)]
            use = delta.get("toolUse")
            if use is not None:
                fragment = use.get("input") or ""
                if block == self._output_block:
                    self._output_parts.append(fragment)
                    return []
                index = self._indexes.get(block)
                if index is None:  # a delta with no start: open the call here
                    index = self._open(block, "", "")
                self._calls[index][2].append(fragment)
                return [ToolCallDelta(index=index, arguments=fragment)] if fragment else []
            return []
        if kind == "contentBlockStart":
            use = (body.get("start") or {}).get("toolUse")
            if use is None:
                return []
            name = use.get("name") or ""
            if self._output is not None and name == self._output.tool:
                self._output_block = block
                return []
            call_id = use.get("toolUseId") or ""
            index = self._open(block, call_id, name)
            return [ToolCallDelta(index=index, id=call_id, name=name)]
        if kind == "messageStop":
            reason = body.get("stopReason") or ""
            self.stop_reason = STOP_REASONS.get(reason)
            if self.stop_reason == "content_filter":
                raise filter_error(reason, self.provider, body.get("trace"))
            self.finished = True
            return []
        if kind == "metadata":
            self.usage = parse_usage(body.get("usage"))
            return [UsageEvent(usage=self.usage)]
        return []

    def _open(self, block: int, call_id: str, name: str) -> int:
        index = len(self._calls)
        self._indexes[block] = index
        self._calls.append([call_id, name, []])
        return index

    def done(self, duration: float | None = None) -> Done:
        """The final event with the whole answer."""
        events_text = "".join(self._text)
        stop = self.stop_reason
        if self._output_block is not None:
            events_text = output_text("".join(self._output_parts) or "{}", self._output)  # type: ignore[arg-type]
            stop = "end_turn"
        calls = [
            ToolCall(
                id=call_id or f"tooluse_{index}",
                function=FunctionCall.from_raw(name, "".join(parts) or "{}"),
            )
            for index, (call_id, name, parts) in enumerate(self._calls)
        ]
        response = Response(
            id="",
            model=self.model,
            provider=self.provider,
            content=[TextBlock(text=events_text)] if events_text else [],
            tool_calls=calls,
            stop_reason=stop,
            usage=self.usage or Usage(),
            duration=duration,
        )
        return Done(response=response)
