"""What an agent run returns, and the error it raises at its iteration limit.

Example:
    >>> from conduit.schema import Response, TextBlock, Usage, user
    >>> final = Response(content=[TextBlock(text="4")], usage=Usage(input_tokens=9))
    >>> result = AgentResult(response=final, messages=[user("2+2?"), final.to_message()],
    ...                      iterations=1)
    >>> result.text, result.usage.total_tokens
    ('4', 9)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conduit.errors import MaxIterationsError
from conduit.schema import Message, Response, ToolCall, Usage
from conduit.tools import ToolOutcome

__all__ = ["AgentResult", "IterationLimitError"]


@dataclass(slots=True)
class AgentResult:
    """One agent run: the final answer, the whole conversation (input included), how many
    model calls it took, every tool call made with its outcome, and the total usage and
    cost (USD; None when no answer could be priced: the model is not in the catalog).

    `usage` defaults to the final response's usage when neither it nor `responses` is given.
    """

    response: Response
    messages: list[Message]
    iterations: int
    tool_calls: list[ToolOutcome] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    cost: float | None = None
    responses: list[Response] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.responses and not self.usage.total_tokens:
            self.usage = self.response.usage

    @property
    def text(self) -> str:
        """The final answer's text."""
        return self.response.text

    @property
    def calls(self) -> list[ToolCall]:
        """The tool calls the model made, in order."""
        return [outcome.call for outcome in self.tool_calls]

    @property
    def total_usage(self) -> Usage:
        """Usage summed over every model call (the same as `usage`)."""
        return self.usage


class IterationLimitError(MaxIterationsError):
    """The agent made `max_iterations` model calls without a final answer.

    A `conduit.errors.MaxIterationsError`; `messages` holds the conversation so far (the
    last tool results included) and `result` the partial run (its `response` is the last
    answer, which asked for tools), so nothing is lost and the run can be continued.

    Example:
        >>> from conduit.schema import Response, user
        >>> partial = AgentResult(response=Response(), messages=[user("hi")], iterations=3)
        >>> error = IterationLimitError("no answer after 3 model calls", result=partial)
        >>> isinstance(error, MaxIterationsError), len(error.messages)
        (True, 1)
    """

    def __init__(self, message: str, *, result: AgentResult | None = None, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.result = result
        self.messages: list[Message] = list(result.messages) if result else []

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.message, self.result))


def _rebuild(message: str, result: AgentResult | None) -> IterationLimitError:
    return IterationLimitError(message, result=result)
