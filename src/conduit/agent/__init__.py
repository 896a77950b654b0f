"""Agents: a model and its tools in a loop until the model answers.

`tool_loop()` runs the loop once and returns an `AgentResult` (final answer, the whole
conversation, iterations, every tool call with its outcome, total usage and cost);
`stream_tool_loop()` yields the same run as events; `make_agent()` keeps settings for
many runs and `stateful_agent()` keeps the conversation too. Tools come from
`conduit.tools`; tools marked `requires_approval` run only when `approve(call)` says so.

Example:
    >>> from conduit.providers.fake import FunctionModel
    >>> from conduit.schema import FunctionCall, ToolCall
    >>> def lookup(city: str) -> str:
    ...     '''Population of a city.'''
    ...     return "2.1 million"
    >>> def script(messages, options):
    ...     if messages[-1].role == "tool":
    ...         return "Paris has " + messages[-1].text + " people."
    ...     arguments = {"city": "Paris"}
    ...     return ToolCall(id="1", function=FunctionCall.from_arguments("lookup", arguments))
    >>> tool_loop_sync(FunctionModel(script), "How many people live in Paris?", [lookup]).text
    'Paris has 2.1 million people.'
"""

from conduit.agent.loop import (
    Agent,
    ResponseCallback,
    StatefulAgent,
    make_agent,
    stateful_agent,
    tool_loop,
    tool_loop_sync,
)
from conduit.agent.result import AgentResult, IterationLimitError
from conduit.agent.stream import (
    AgentDone,
    AgentEvent,
    ResponseEvent,
    ToolCallEvent,
    ToolResultEvent,
    stream_tool_loop,
)

__all__ = [
    "Agent",
    "AgentDone",
    "AgentEvent",
    "AgentResult",
    "IterationLimitError",
    "ResponseCallback",
    "ResponseEvent",
    "StatefulAgent",
    "ToolCallEvent",
    "ToolResultEvent",
    "make_agent",
    "stateful_agent",
    "stream_tool_loop",
    "tool_loop",
    "tool_loop_sync",
]
