"""Typed stream events: what `stream()` yields while an answer is produced."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from conduit.schema.base import SchemaModel
from conduit.schema.responses import Response, Usage

__all__ = ["Done", "StreamEvent", "TextDelta", "ToolCallDelta", "UsageEvent"]


class TextDelta(SchemaModel):
    """A piece of the answer's text.

    Example:
        >>> TextDelta(text="Hel").text
        'Hel'
    """

    type: Literal["text_delta"] = "text_delta"
    text: str


class ToolCallDelta(SchemaModel):
    """A piece of a tool call: `index` says which call; `id` and `name` come first, then
    `arguments` arrive as string fragments. The complete calls are on `Done.response`.

    Example:
        >>> ToolCallDelta(index=0, name="add", arguments='{"a"').arguments
        '{"a"'
    """

    type: Literal["tool_call_delta"] = "tool_call_delta"
    index: int = 0
    id: str | None = None
    name: str | None = None
    arguments: str = ""


class UsageEvent(SchemaModel):
    """Token usage, when the provider reports it (usually just before the end).

    Example:
        >>> UsageEvent(usage=Usage(input_tokens=3)).usage.input_tokens
        3
    """

    type: Literal["usage"] = "usage"
    usage: Usage


class Done(SchemaModel):
    """The last event: the whole answer assembled, tool calls complete.

    Example:
        >>> Done(response=Response(id="r")).response.id
        'r'
    """

    type: Literal["done"] = "done"
    response: Response


StreamEvent = Annotated[TextDelta | ToolCallDelta | UsageEvent | Done, Field(discriminator="type")]
