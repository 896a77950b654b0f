"""The agent loop as a stream of events, as things happen.

`stream_tool_loop(...)` (and `Agent.stream`) yields the model's `TextDelta` and
`ToolCallDelta` events while it answers, `ResponseEvent` when an answer is complete,
`ToolCallEvent` when a requested call starts, `ToolResultEvent` as each call finishes
(concurrent calls in the order they finish), and finally `AgentDone` with the whole
`AgentResult`. Closing the stream early stops the model's stream and cancels running
tools.

Example:
    >>> import asyncio
    >>> from conduit.providers.fake import FunctionModel
    >>> from conduit.schema import FunctionCall, ToolCall
    >>> from conduit.tools import tool
    >>> @tool
    ... def now() -> str:
    ...     '''The time.'''
    ...     return "12:00"
    >>> def script(messages, options):
    ...     if messages[-1].role == "tool":
    ...         return f"It is {messages[-1].text}."
    ...     return ToolCall(id="c1", function=FunctionCall.from_arguments("now", {}))
    >>> async def main():
    ...     return [e.type async for e in stream_tool_loop(FunctionModel(script), "Time?", [now])
    ...             if e.type != "tool_call_delta"]
    >>> asyncio.run(main())  # doctest: +NORMALIZE_WHITESPACE
    ['response', 'tool_call', 'tool_result', 'text_delta', 'text_delta', 'text_delta',
     'response', 'agent_done']
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from conduit.agent.loop import ResponseCallback, _Run, _start
from conduit.agent.result import AgentResult
from conduit.core.protocols import ChatModel
from conduit.schema import (
    ChatOptions,
    Done,
    MessagesInput,
    Response,
    ResponseAssembler,
    TextDelta,
    ToolCall,
    ToolCallDelta,
)
from conduit.tools import (
    Approver,
    ToolCallback,
    ToolOutcome,
    ToolResultCallback,
    ToolsInput,
    iter_tool_calls,
)

__all__ = [
    "AgentDone",
    "AgentEvent",
    "ResponseEvent",
    "ToolCallEvent",
    "ToolResultEvent",
    "stream_tool_loop",
]


@dataclass(frozen=True, slots=True)
class ResponseEvent:
    """The model finished one answer (`iteration` counts model calls from 1)."""

    response: Response
    iteration: int
    type: Literal["response"] = "response"


@dataclass(frozen=True, slots=True)
class ToolCallEvent:
    """A tool call the model asked for is about to run."""

    call: ToolCall
    iteration: int
    type: Literal["tool_call"] = "tool_call"


@dataclass(frozen=True, slots=True)
class ToolResultEvent:
    """A tool call finished (or failed: see `outcome.status`)."""

    outcome: ToolOutcome
    iteration: int
    type: Literal["tool_result"] = "tool_result"


@dataclass(frozen=True, slots=True)
class AgentDone:
    """The last event: the run's result."""

    result: AgentResult
    type: Literal["agent_done"] = "agent_done"


AgentEvent: TypeAlias = (
    TextDelta | ToolCallDelta | ResponseEvent | ToolCallEvent | ToolResultEvent | AgentDone
)
"""What `stream_tool_loop` yields; tell them apart by `.type`."""


async def _stream_run(run: _Run) -> AsyncGenerator[AgentEvent, None]:
    while True:
        assembler = ResponseAssembler()
        events = run.model.stream(run.history, run.options)
        try:
            async for event in events:
                if isinstance(event, TextDelta | ToolCallDelta):
                    yield event
                assembler.add(event)
                if isinstance(event, Done):
                    break
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
        response = assembler.response()
        await run.record(response)
        yield ResponseEvent(response=response, iteration=run.iterations)
        if not response.tool_calls:
            yield AgentDone(result=run.result(response))
            return
        for call in response.tool_calls:
            yield ToolCallEvent(call=call, iteration=run.iterations)
        outcomes: list[ToolOutcome] = []
        results = iter_tool_calls(
            response.tool_calls,
            run.tools,
            tool_timeout=run.timeout,
            approve=run.approve,
            on_tool_call=run.on_tool_call,
            on_tool_result=run.on_tool_result,
        )
        try:
            async for outcome in results:
                outcomes.append(outcome)
                yield ToolResultEvent(outcome=outcome, iteration=run.iterations)
        finally:
            await results.aclose()
        # History keeps the calls' order (providers pair results with calls by id, but
        # the order the model asked in is the one it expects back).
        order = {id(call): i for i, call in enumerate(response.tool_calls)}
        outcomes.sort(key=lambda outcome: order[id(outcome.call)])
        run.after_tools(outcomes)
        if run.iterations >= run.max_iterations:
            raise run.limit_error(response)


def stream_tool_loop(
    model: str | ChatModel,
    messages: MessagesInput,
    tools: ToolsInput = (),
    options: ChatOptions | None = None,
    *,
    max_iterations: int = 10,
    tool_timeout: float | None = 60.0,
    approve: Approver | None = None,
    reset_tool_choice: bool = True,
    on_response: ResponseCallback | None = None,
    on_tool_call: ToolCallback | None = None,
    on_tool_result: ToolResultCallback | None = None,
    **kwargs: Any,
) -> AsyncGenerator[AgentEvent, None]:
    """`tool_loop` as events (see the module doc). Arguments are validated here, before
    iteration starts; reaching `max_iterations` raises `IterationLimitError` from the
    iteration."""
    run = _start(
        model,
        messages,
        tools,
        options,
        kwargs,
        {
            "max_iterations": max_iterations,
            "tool_timeout": tool_timeout,
            "approve": approve,
            "reset_tool_choice": reset_tool_choice,
            "on_response": on_response,
            "on_tool_call": on_tool_call,
            "on_tool_result": on_tool_result,
        },
    )
    return _stream_run(run)
