"""What a model returns: content, tool calls, a normalized stop reason and usage."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from conduit.schema._base import SchemaModel
from conduit.schema.content import ContentBlock, TextBlock
from conduit.schema.messages import Message
from conduit.schema.tools import ToolCall

__all__ = ["Response", "StopReason", "Usage"]

StopReason = Literal["end_turn", "tool_use", "max_tokens", "stop_sequence", "content_filter"]


class Usage(SchemaModel):
    """Token counts, normalized across providers.

    `total_tokens` defaults to input + output. Cache counts are part of `input_tokens`
    where the provider reports them that way (OpenAI) and are shown separately here.

    Example:
        >>> Usage(input_tokens=10, output_tokens=5).total_tokens
        15
        >>> (Usage(input_tokens=1, output_tokens=1) + Usage(input_tokens=2)).total_tokens
        4
    """

    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    total_tokens: int = Field(default=0, ge=0)
    cache_read_tokens: int = Field(default=0, ge=0)
    cache_creation_tokens: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _total(self) -> Usage:
        if not self.total_tokens:
            self.total_tokens = self.input_tokens + self.output_tokens
        return self

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):  # checked: callers are not always type-checked
            return NotImplemented
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_creation_tokens=self.cache_creation_tokens + other.cache_creation_tokens,
        )

    def __radd__(self, other: int) -> Usage:
        # `sum(usages)` starts from 0.
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented


class Response(SchemaModel):
    """One complete answer from a model.

    Example:
        >>> r = Response(id="r1", content=[TextBlock(text="Hello")], stop_reason="end_turn")
        >>> r.text, r.extract_content()
        ('Hello', 'Hello')
    """

    id: str = ""
    model: str = ""
    provider: str | None = None
    content: list[ContentBlock] = Field(default_factory=list)
    tool_calls: list[ToolCall] = Field(default_factory=list)
    stop_reason: StopReason | None = None
    usage: Usage = Field(default_factory=Usage)
    duration: float | None = Field(default=None, description="seconds from request to answer")
    provider_data: dict[str, Any] = Field(
        default_factory=dict,
        description="provider-specific fields of the answer kept as sent, e.g. Perplexity's "
        "`citations` and `search_results`",
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description="what interceptors learned about this call: `cost_usd`, `attempts`, "
        "`cache_hit`, ... (see conduit.interceptors)",
    )

    @property
    def text(self) -> str:
        """All text blocks joined."""
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))

    def extract_content(self) -> str:
        """The answer's text (the same as `.text`); empty when the model only called tools."""
        return self.text

    def to_message(self) -> Message:
        """This answer as an assistant message, to append to the conversation.

        Example:
            >>> Response(content=[TextBlock(text="Hi")]).to_message().role
            'assistant'
        """
        return Message(
            role="assistant", content=list(self.content), tool_calls=list(self.tool_calls)
        )
