"""Between whole answers and stream events: replay a `Response` as events, or
assemble events back into a `Response`."""

from __future__ import annotations

from collections.abc import Iterator

from conduit.schema.content import TextBlock
from conduit.schema.events import Done, StreamEvent, TextDelta, ToolCallDelta, UsageEvent
from conduit.schema.responses import Response, StopReason, Usage
from conduit.schema.tools import FunctionCall, ToolCall

__all__ = ["ResponseAssembler", "events_from_response"]


def _split_words(text: str) -> Iterator[str]:
    start = 0
    for i, ch in enumerate(text):
        if ch == " " and i > start:
            yield text[start:i]
            start = i
    if start < len(text):
        yield text[start:]


def events_from_response(response: Response, *, chunk: str = "word") -> Iterator[StreamEvent]:
    """Replay a whole answer as a stream: text in word-sized deltas (`chunk="word"`) or one
    delta (`chunk="all"`), tool calls, usage, then `Done`.

    Example:
        >>> r = Response(content=[TextBlock(text="Hi there")])
        >>> [e.text for e in events_from_response(r) if e.type == "text_delta"]
        ['Hi', ' there']
    """
    text = response.text
    if text:
        pieces = _split_words(text) if chunk == "word" else iter([text])
        for piece in pieces:
            yield TextDelta(text=piece)
    for index, call in enumerate(response.tool_calls):
        yield ToolCallDelta(index=index, id=call.id, name=call.name)
        yield ToolCallDelta(index=index, arguments=call.function.raw_arguments)
    if response.usage.total_tokens:
        yield UsageEvent(usage=response.usage)
    yield Done(response=response)


class ResponseAssembler:
    """Collects stream events into a `Response` (for producers that yield only deltas).

    Example:
        >>> a = ResponseAssembler(model="m")
        >>> a.add(TextDelta(text="Hel")); a.add(TextDelta(text="lo"))
        >>> a.response().text
        'Hello'
    """

    def __init__(self, *, model: str = "", provider: str | None = None, id: str = "") -> None:
        self.model = model
        self.provider = provider
        self.id = id
        self._text: list[str] = []
        self._calls: dict[int, list[str]] = {}
        self._ids: dict[int, str] = {}
        self._names: dict[int, str] = {}
        self.usage: Usage | None = None
        self.final: Response | None = None

    def add(self, event: StreamEvent) -> None:
        """Take one event into account."""
        if isinstance(event, TextDelta):
            self._text.append(event.text)
        elif isinstance(event, ToolCallDelta):
            self._calls.setdefault(event.index, []).append(event.arguments)
            if event.id:
                self._ids[event.index] = event.id
            if event.name:
                self._names[event.index] = event.name
        elif isinstance(event, UsageEvent):
            self.usage = event.usage
        elif isinstance(event, Done):
            self.final = event.response

    @property
    def text(self) -> str:
        """The text so far."""
        return "".join(self._text)

    def response(
        self, stop_reason: StopReason | None = None, duration: float | None = None
    ) -> Response:
        """The answer so far (the `Done` event's, when one came)."""
        if self.final is not None:
            return self.final
        calls = [
            ToolCall(
                id=self._ids.get(i, f"call_{i}"),
                function=FunctionCall.from_raw(self._names.get(i, ""), "".join(parts)),
            )
            for i, parts in sorted(self._calls.items())
        ]
        text = self.text
        return Response(
            id=self.id,
            model=self.model,
            provider=self.provider,
            content=[TextBlock(text=text)] if text else [],
            tool_calls=calls,
            stop_reason=stop_reason or ("tool_use" if calls else "end_turn"),
            usage=self.usage or Usage(),
            duration=duration,
        )
