"""Tools: Python functions (and MCP servers' tools) a model can call.

`@tool` turns a typed function into a `FunctionTool`; `FunctionTool(fn, Model)` does the
same from a Pydantic parameter model. `.definition` is the `conduit.schema.Tool` to send
(a JSON Schema that OpenAI's strict mode, Anthropic and Gemini all accept), and
`execute_tool_calls()` runs what the model asked for, turning every failure into a
result the model can read. `conduit.tools.mcp` (extra `mcp`) brings in the tools of a
Model Context Protocol server. Agents (`conduit.agent`) put it all in a loop.

Example:
    >>> import asyncio
    >>> from conduit.schema import FunctionCall, ToolCall
    >>> @tool
    ... def shout(text: str) -> str:
    ...     '''Upper-case a text.'''
    ...     return text.upper()
    >>> call = ToolCall(id="c1", function=FunctionCall.from_arguments("shout", {"text": "hi"}))
    >>> asyncio.run(execute_tool_calls([call], [shout]))[0].message.text
    'HI'
"""

from conduit.tools.decorator import parse_docstring, tool
from conduit.tools.execute import (
    Approver,
    OutcomeStatus,
    ToolCallback,
    ToolOutcome,
    ToolResultCallback,
    ToolsInput,
    execute_tool_calls,
    iter_tool_calls,
    tool_map,
)
from conduit.tools.function import ExecutableTool, FunctionTool, format_result
from conduit.tools.schema import can_be_strict, strict_schema

__all__ = [
    "Approver",
    "ExecutableTool",
    "FunctionTool",
    "OutcomeStatus",
    "ToolCallback",
    "ToolOutcome",
    "ToolResultCallback",
    "ToolsInput",
    "can_be_strict",
    "execute_tool_calls",
    "format_result",
    "iter_tool_calls",
    "parse_docstring",
    "strict_schema",
    "tool",
    "tool_map",
]
