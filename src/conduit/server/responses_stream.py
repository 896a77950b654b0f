"""The Responses API's stream events for the gateway's `POST /v1/responses`
(`conduit.server.responses_wire` has the request and the `response` object).

Example:
    >>> from conduit.schema import ChatOptions
    >>> from conduit.server.responses_wire import ResponsesCall
    >>> encoder = ResponsesEncoder(ResponsesCall([], ChatOptions()), "chat")
    >>> encoder.encode(TextDelta(text="Hi")).count(b"event: ")  # item, part, delta
    3
"""

from __future__ import annotations

import uuid
from typing import Any

from conduit.schema import Done, StreamEvent, TextDelta, ToolCallDelta
from conduit.server.errors import error_for
from conduit.server.faces import named_event
from conduit.server.responses_wire import (
    ResponsesCall,
    call_item,
    message_item,
    response_object,
    text_part,
)

__all__ = ["ResponsesEncoder"]


class ResponsesEncoder:
    """Stream events as the Responses API's events (see the module's text), each with
    its `sequence_number`; the item ids are those of `response_object`'s output.

    Example:
        >>> from conduit.schema import ChatOptions
        >>> encoder = ResponsesEncoder(ResponsesCall([], ChatOptions()), "chat")
        >>> encoder.start().count(b"event: ")  # response.created, response.in_progress
        2
    """

    def __init__(self, request: ResponsesCall, model: str) -> None:
        self.request = request
        self.model = model
        self._sequence = 0
        self._output = 0  # output items opened so far
        self._text: str | None = None  # the message item's text while it is open
        self._text_at = 0
        self._call: dict[str, Any] | None = None  # the function_call item while open
        self._call_at = 0
        self._calls = 0

    def _event(self, kind: str, **data: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self._sequence, **data}
        self._sequence += 1
        return named_event(kind, payload)

    def start(self) -> bytes:
        """`response.created` and `response.in_progress`."""
        shell = response_object(self.request, self.model)
        return self._event("response.created", response=shell) + self._event(
            "response.in_progress", response=shell
        )

    def _close_text(self) -> bytes:
        if self._text is None:
            return b""
        text, self._text = self._text, None
        rid = self.request.id
        item = message_item(rid, text, "completed")
        where = {"item_id": item["id"], "output_index": self._text_at, "content_index": 0}
        return (
            self._event("response.output_text.done", text=text, logprobs=[], **where)
            + self._event("response.content_part.done", part=text_part(text), **where)
            + self._event("response.output_item.done", output_index=self._text_at, item=item)
        )

    def _close_call(self) -> bytes:
        if self._call is None:
            return b""
        open_item, self._call = self._call, None
        item = {k: v for k, v in open_item.items() if k != "index"}
        item["status"] = "completed"
        at = self._call_at
        return self._event(
            "response.function_call_arguments.done",
            item_id=item["id"],
            output_index=at,
            name=item["name"],
            arguments=item["arguments"],
        ) + self._event("response.output_item.done", output_index=at, item=item)

    def encode(self, event: StreamEvent) -> bytes:
        """The events for one stream event."""
        rid = self.request.id
        if isinstance(event, TextDelta):
            if not event.text:
                return b""
            out = b""
            if self._text is None:
                out = self._close_call()
                self._text, self._text_at = "", self._output
                self._output += 1
                item = message_item(rid, "", "in_progress")
                out += self._event(
                    "response.output_item.added", output_index=self._text_at, item=item
                )
                out += self._event(
                    "response.content_part.added",
                    item_id=item["id"],
                    output_index=self._text_at,
                    content_index=0,
                    part=text_part(""),
                )
            self._text += event.text
            return out + self._event(
                "response.output_text.delta",
                item_id="msg_" + rid.removeprefix("resp_"),
                output_index=self._text_at,
                content_index=0,
                delta=event.text,
                logprobs=[],
            )
        if isinstance(event, ToolCallDelta):
            out = b""
            if self._call is None or self._call["index"] != event.index:
                out = self._close_text() + self._close_call()
                self._call_at = self._output
                self._output += 1
                item = call_item(
                    rid,
                    self._calls,
                    event.id or f"call_{uuid.uuid4().hex[:24]}",
                    event.name or "",
                    "",
                    "in_progress",
                )
                self._calls += 1
                out += self._event(
                    "response.output_item.added", output_index=self._call_at, item=item
                )
                self._call = {**item, "index": event.index}
            if not event.arguments:
                return out
            self._call["arguments"] += event.arguments
            return out + self._event(
                "response.function_call_arguments.delta",
                item_id=self._call["id"],
                output_index=self._call_at,
                delta=event.arguments,
            )
        if isinstance(event, Done):
            out = self._close_text() + self._close_call()
            final = response_object(self.request, self.model, event.response)
            kind = "response.completed" if final["status"] == "completed" else "response.incomplete"
            return out + self._event(kind, response=final)
        return b""

    def error(self, exc: BaseException) -> bytes:
        """An `error` event with OpenAI's error fields."""
        error = error_for(exc)[1]["error"]
        return self._event(
            "error", code=error.get("code"), message=error["message"], param=error.get("param")
        )
