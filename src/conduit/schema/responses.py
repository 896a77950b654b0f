"""What a model returns: content, tool calls, a normalized stop reason and usage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, model_validator

from conduit.schema.base import SchemaModel
from conduit.schema.content import ContentBlock, TextBlock
from conduit.schema.messages import Message
from conduit.schema.tools import ToolCall

__all__ = ["Prices", "Response", "StopReason", "Usage"]

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


@dataclass(frozen=True, slots=True)
class Prices:
    """A model's prices in US dollars per million tokens; None: not known.

    The one place a cost is computed: the catalog gives each model its `Prices`, models
    put `prices.cost(usage)` in `Response.cost`, and every ledger, budget and face reads
    that (or, with only a usage in hand, `conduit.catalog.cost_of`, which calls this).

    Example:
        >>> prices = Prices(input=2.0, output=8.0, cached_input=0.5)
        >>> prices.cost(Usage(input_tokens=2_000_000, cache_read_tokens=1_000_000))
        2.5
        >>> Prices(output=8.0).cost(Usage(input_tokens=5)) is None
        True
    """

    input: float | None = None
    output: float | None = None
    cached_input: float | None = None
    cache_write: float | None = None

    def cost(self, usage: Usage) -> float | None:
        """USD for `usage`, or None when a price it needs is not known.

        Cached input tokens cost `cached_input`, tokens written to a prompt cache
        `cache_write`, the rest of the input `input` (cache counts are part of
        `Usage.input_tokens`). Without a cache price those tokens cost the input price:
        an upper bound.
        """
        if self.input is None and self.output is None:
            return None
        cached = usage.cache_read_tokens
        written = usage.cache_creation_tokens
        fresh = max(usage.input_tokens - cached - written, 0)
        total = 0.0
        for tokens, price in (
            (fresh, self.input),
            (cached, self.input if self.cached_input is None else self.cached_input),
            (written, self.input if self.cache_write is None else self.cache_write),
            (usage.output_tokens, self.output),
        ):
            if tokens:
                if price is None:
                    return None
                total += tokens * price
        return total / 1_000_000

    def worst_case(self, input_tokens: int, output_tokens: int) -> float | None:
        """The most a call with these token counts can cost (no cache discounts), for
        reserving a budget before the call; None when a price is not known.

        Example:
            >>> Prices(input=1.0, output=2.0).worst_case(1_000_000, 500_000)
            2.0
        """
        return self.cost(Usage(input_tokens=input_tokens, output_tokens=output_tokens))


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
    cost: float | None = Field(
        default=None,
        ge=0,
        description="what the answer cost in US dollars (the catalog's prices times the "
        "usage); None when the model's prices are not known, 0.0 for a cached answer",
    )
    provider_data: dict[str, Any] = Field(
        default_factory=dict,
        description="provider-specific fields of the answer kept as sent, e.g. Perplexity's "
        "`citations` and `search_results`",
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description="what interceptors learned about this call: `attempts`, `cache_hit`, "
        "... (see conduit.interceptors)",
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
