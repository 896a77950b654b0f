"""Run the tool calls a model asked for, turning every failure into a result it can read.

`execute_tool_calls(calls, tools)` validates each call's arguments, runs the calls of one
answer concurrently, enforces a per-tool timeout, asks for approval where a tool needs
it, and returns one `ToolOutcome` per call, in the calls' order. Nothing a tool does
raises out of it: bad JSON, arguments that do not validate, an exception, a timeout, a
refusal or an unknown tool name each become a tool-result message starting with
`Error:` that the model reads and can act on. An unknown name is never executed.

Example:
    >>> import asyncio
    >>> from conduit.schema import FunctionCall, ToolCall
    >>> from conduit.tools import tool
    >>> @tool
    ... def add(a: int, b: int) -> int:
    ...     '''Add two integers.'''
    ...     return a + b
    >>> calls = [ToolCall(id="1", function=FunctionCall.from_arguments("add", {"a": 1, "b": 2})),
    ...          ToolCall(id="2", function=FunctionCall.from_arguments("add", {"a": "x"})),
    ...          ToolCall(id="3", function=FunctionCall.from_arguments("rm", {}))]
    >>> for outcome in asyncio.run(execute_tool_calls(calls, [add])):
    ...     print(outcome.status, outcome.message.text[:60])
    ok 3
    invalid_arguments Error: invalid arguments for add: add.a: Input should be a ...
    unknown_tool Error: there is no tool named 'rm'. Available tools: add.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from conduit.errors import ToolExecutionError, ValidationError
from conduit.schema import Message, ToolCall
from conduit.tools.function import ExecutableTool, format_result

__all__ = [
    "Approver",
    "OutcomeStatus",
    "ToolCallback",
    "ToolOutcome",
    "ToolResultCallback",
    "ToolsInput",
    "execute_tool_calls",
    "iter_tool_calls",
    "tool_map",
]

OutcomeStatus = Literal[
    "ok", "invalid_arguments", "unknown_tool", "error", "timeout", "not_approved"
]
Approver: TypeAlias = Callable[[ToolCall], bool | Awaitable[bool]]
"""Decides whether a call to a `requires_approval` tool may run (sync or async)."""
ToolCallback: TypeAlias = Callable[[ToolCall], Any]
ToolResultCallback: TypeAlias = Callable[["ToolOutcome"], Any]
ToolsInput: TypeAlias = Iterable[ExecutableTool | Callable[..., Any]] | Mapping[str, ExecutableTool]
"""Tools as a list (executable tools, or typed functions that `@tool` converts) or a
name → tool mapping."""


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What came of one tool call: the result message for the model, the function's
    return value (None unless `status == "ok"`), what went wrong, and how long it took.

    Example:
        >>> from conduit.schema import tool_result
        >>> ToolOutcome(call=ToolCall(id="1", function={"name": "f"}),
        ...             message=tool_result("1", "done"), status="ok").ok
        True
    """

    call: ToolCall
    message: Message
    status: OutcomeStatus
    value: Any = None
    error: BaseException | None = None
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the tool ran and returned."""
        return self.status == "ok"

    @property
    def content(self) -> str:
        """The text the model reads."""
        return self.message.text


def tool_map(tools: ToolsInput) -> dict[str, ExecutableTool]:
    """Tools by name; plain functions are converted with `@tool`. Two tools with one
    name are a `ValidationError`.

    Example:
        >>> def ping() -> str:
        ...     '''Answer pong.'''
        ...     return "pong"
        >>> list(tool_map([ping]))
        ['ping']
    """
    if isinstance(tools, Mapping):
        items: Iterable[Any] = tools.values()
    else:
        items = tools
    found: dict[str, ExecutableTool] = {}
    for item in items:
        if not isinstance(item, ExecutableTool):
            from conduit.tools.decorator import tool

            item = tool(item)
        if item.name in found:
            raise ValidationError(f"two tools are named {item.name!r}; tool names must differ")
        found[item.name] = item
    return found


def _result(call: ToolCall, content: str, status: OutcomeStatus, **fields: Any) -> ToolOutcome:
    message = Message(role="tool", content=content, tool_call_id=call.id, name=call.name or None)
    return ToolOutcome(call=call, message=message, status=status, **fields)


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


async def run_tool_call(
    call: ToolCall,
    tools: Mapping[str, ExecutableTool],
    *,
    tool_timeout: float | None = None,
    approve: Approver | None = None,
) -> ToolOutcome:
    """One call, never raising for the tool's faults (see the module doc)."""
    started = time.perf_counter()
    found = tools.get(call.name)
    if found is None:
        names = ", ".join(tools) or "none"
        return _result(
            call,
            f"Error: there is no tool named {call.name!r}. Available tools: {names}.",
            "unknown_tool",
        )
    if call.function.invalid_arguments:
        return _result(
            call,
            f"Error: the arguments for {call.name} are not a JSON object: "
            f"{call.function.raw_arguments[:500]}. Call it again with a JSON object that "
            "matches its parameters.",
            "invalid_arguments",
        )
    try:
        validated = found.validate(call.arguments)
    except ValidationError as exc:
        return _result(
            call,
            f"Error: invalid arguments for {call.name}: {exc.message}. Call it again with "
            "corrected arguments.",
            "invalid_arguments",
            error=exc,
        )
    if found.requires_approval:
        allowed = bool(await _maybe_await(approve(call))) if approve is not None else False
        if not allowed:
            return _result(
                call,
                f"Error: the user did not approve this call of {call.name}; it was not run.",
                "not_approved",
            )
    limit = found.timeout if found.timeout is not None else tool_timeout
    try:
        async with asyncio.timeout(limit):
            value = await found.invoke(validated)
    except TimeoutError as exc:
        return _result(
            call,
            f"Error: {call.name} did not finish within {limit:g} s and was stopped.",
            "timeout",
            error=exc,
            duration=time.perf_counter() - started,
        )
    except ToolExecutionError as exc:  # the tool's own report of failure (MCP `isError`)
        return _result(
            call,
            f"Error: {exc.message}",
            "error",
            error=exc,
            duration=time.perf_counter() - started,
        )
    except Exception as exc:
        return _result(
            call,
            f"Error: {call.name} raised {type(exc).__name__}: {exc}",
            "error",
            error=exc,
            duration=time.perf_counter() - started,
        )
    return _result(
        call,
        format_result(value),
        "ok",
        value=value,
        duration=time.perf_counter() - started,
    )


async def _observed(
    index: int,
    call: ToolCall,
    tools: Mapping[str, ExecutableTool],
    tool_timeout: float | None,
    approve: Approver | None,
    on_tool_call: ToolCallback | None,
    on_tool_result: ToolResultCallback | None,
) -> tuple[int, ToolOutcome]:
    if on_tool_call is not None:
        await _maybe_await(on_tool_call(call))
    outcome = await run_tool_call(call, tools, tool_timeout=tool_timeout, approve=approve)
    if on_tool_result is not None:
        await _maybe_await(on_tool_result(outcome))
    return index, outcome


async def iter_tool_calls(
    calls: Sequence[ToolCall],
    tools: ToolsInput,
    *,
    tool_timeout: float | None = None,
    approve: Approver | None = None,
    on_tool_call: ToolCallback | None = None,
    on_tool_result: ToolResultCallback | None = None,
) -> AsyncGenerator[ToolOutcome, None]:
    """Like `execute_tool_calls`, but yields each outcome as soon as its call finishes.
    Closing the iterator early cancels the calls still running.

    Example:
        >>> import asyncio
        >>> from conduit.schema import FunctionCall
        >>> from conduit.tools import tool
        >>> @tool
        ... async def wait(seconds: float) -> float:
        ...     '''Sleep.'''
        ...     await asyncio.sleep(seconds)
        ...     return seconds
        >>> calls = [ToolCall(id=str(s), function=FunctionCall.from_arguments(
        ...     "wait", {"seconds": s})) for s in (0.02, 0.0)]
        >>> async def main():
        ...     return [o.value async for o in iter_tool_calls(calls, [wait])]
        >>> asyncio.run(main())
        [0.0, 0.02]
    """
    found = tools if isinstance(tools, dict) else tool_map(tools)
    if len(calls) == 1:  # the common case: no tasks to schedule
        _, outcome = await _observed(
            0, calls[0], found, tool_timeout, approve, on_tool_call, on_tool_result
        )
        yield outcome
        return
    tasks = [
        asyncio.ensure_future(
            _observed(i, call, found, tool_timeout, approve, on_tool_call, on_tool_result)
        )
        for i, call in enumerate(calls)
    ]
    try:
        for next_done in asyncio.as_completed(tasks):
            _, outcome = await next_done
            yield outcome
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def execute_tool_calls(
    calls: Sequence[ToolCall],
    tools: ToolsInput,
    *,
    tool_timeout: float | None = None,
    approve: Approver | None = None,
    on_tool_call: ToolCallback | None = None,
    on_tool_result: ToolResultCallback | None = None,
) -> list[ToolOutcome]:
    """Run `calls` (concurrently) against `tools`; one `ToolOutcome` per call, in order.

    `tool_timeout` is the default seconds per call (a tool's own `timeout` wins; None: no
    limit). Calls to tools marked `requires_approval` run only if `approve(call)` returns
    true (no `approve`: refused). `on_tool_call(call)` runs before each call and
    `on_tool_result(outcome)` after it (sync or async; their exceptions propagate: they
    are the application's code, not the tool's). See the module doc for an example.
    """
    found = tools if isinstance(tools, dict) else tool_map(tools)
    if len(calls) == 1:
        _, outcome = await _observed(
            0, calls[0], found, tool_timeout, approve, on_tool_call, on_tool_result
        )
        return [outcome]
    results = await asyncio.gather(
        *(
            _observed(i, call, found, tool_timeout, approve, on_tool_call, on_tool_result)
            for i, call in enumerate(calls)
        )
    )
    return [outcome for _, outcome in results]
