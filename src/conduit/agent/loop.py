"""The agent loop: ask the model, run the tools it calls, feed the results back, repeat
until it answers without calling a tool.

`tool_loop(model, messages, tools)` is one run; `make_agent(...)` keeps the settings for
many runs and `stateful_agent(...)` also keeps the conversation between them.
`stream_tool_loop` (`conduit.agent.stream`) is the same loop as events.

Example:
    >>> import asyncio
    >>> from conduit.providers.fake import FunctionModel
    >>> from conduit.schema import FunctionCall, ToolCall
    >>> from conduit.tools import tool
    >>> @tool
    ... def add(a: int, b: int) -> int:
    ...     '''Add two integers.'''
    ...     return a + b
    >>> def script(messages, options):  # a model that calls add once, then answers
    ...     if messages[-1].role == "tool":
    ...         return f"The sum is {messages[-1].text}."
    ...     return ToolCall(id="c1", function=FunctionCall.from_arguments("add", {"a": 2, "b": 3}))
    >>> result = asyncio.run(tool_loop(FunctionModel(script), "What is 2 + 3?", [add]))
    >>> result.text, result.iterations, [o.value for o in result.tool_calls]
    ('The sum is 5.', 2, [5])
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from typing import Any, TypeAlias

from conduit.agent.result import AgentResult, IterationLimitError
from conduit.catalog import response_cost
from conduit.core.protocols import ChatModel, make_options
from conduit.core.sync import iterate_sync, run_sync
from conduit.errors import ValidationError
from conduit.schema import (
    ChatOptions,
    Message,
    MessagesInput,
    Response,
    Usage,
    normalize_messages,
    system,
)
from conduit.tools import (
    Approver,
    ExecutableTool,
    ToolCallback,
    ToolOutcome,
    ToolResultCallback,
    ToolsInput,
    tool_map,
)

__all__ = [
    "Agent",
    "ResponseCallback",
    "StatefulAgent",
    "make_agent",
    "stateful_agent",
    "tool_loop",
    "tool_loop_sync",
]

ResponseCallback: TypeAlias = Callable[[Response], Any]
"""Called with each model answer (sync or async)."""

_FORCING = frozenset({None, "auto", "none"})


async def _call(callback: Callable[..., Any] | None, argument: Any) -> None:
    if callback is not None:
        result = callback(argument)
        if inspect.isawaitable(result):
            await result


def _resolve_model(model: str | ChatModel) -> ChatModel:
    from conduit.api.resolve import cached_model

    return cached_model(model)


class _Run:
    """The state of one run, shared by the plain and the streaming loop."""

    __slots__ = (
        "approve",
        "costs",
        "history",
        "iterations",
        "max_iterations",
        "model",
        "on_response",
        "on_tool_call",
        "on_tool_result",
        "options",
        "outcomes",
        "ref",
        "reset_tool_choice",
        "responses",
        "timeout",
        "tools",
        "usage",
    )

    def __init__(
        self,
        model: ChatModel,
        history: list[Message],
        tools: dict[str, ExecutableTool],
        options: ChatOptions,
        *,
        max_iterations: int,
        tool_timeout: float | None,
        approve: Approver | None,
        reset_tool_choice: bool,
        on_response: ResponseCallback | None,
        on_tool_call: ToolCallback | None,
        on_tool_result: ToolResultCallback | None,
    ) -> None:
        if max_iterations < 1:
            raise ValidationError(f"max_iterations must be at least 1, not {max_iterations}")
        self.model = model
        self.history = history
        self.tools = tools
        definitions = [t.definition for t in tools.values()]
        self.options = options.merged(tools=definitions or None)
        self.max_iterations = max_iterations
        self.timeout = tool_timeout
        self.approve = approve
        self.reset_tool_choice = reset_tool_choice
        self.on_response = on_response
        self.on_tool_call = on_tool_call
        self.on_tool_result = on_tool_result
        self.iterations = 0
        self.usage = Usage()
        self.costs: list[float] = []
        self.outcomes: list[ToolOutcome] = []
        self.responses: list[Response] = []
        self.ref: str | None = None

    def _cost(self, response: Response) -> float | None:
        if response.cost is not None or (response.provider and response.model):
            return response_cost(response)
        if self.ref is None:
            self.ref = self.model.model_info.ref
        return response_cost(response, self.ref)

    async def record(self, response: Response) -> None:
        self.iterations += 1
        self.responses.append(response)
        self.usage = self.usage + response.usage
        cost = self._cost(response)
        if cost is not None:
            self.costs.append(cost)
        self.history.append(response.to_message())
        await _call(self.on_response, response)

    def after_tools(self, outcomes: Sequence[ToolOutcome]) -> None:
        self.outcomes.extend(outcomes)
        self.history.extend(outcome.message for outcome in outcomes)
        # A forced tool_choice would force a tool call forever: after the first round
        # of calls the model chooses (as the OpenAI Agents SDK's reset_tool_choice does).
        if self.reset_tool_choice and self.options.tool_choice not in _FORCING:
            self.options = self.options.merged(tool_choice="auto")

    def result(self, response: Response) -> AgentResult:
        return AgentResult(
            response=response,
            messages=list(self.history),
            iterations=self.iterations,
            tool_calls=self.outcomes,
            usage=self.usage,
            cost=sum(self.costs) if self.costs else None,
            responses=self.responses,
        )

    def limit_error(self, response: Response) -> IterationLimitError:
        return IterationLimitError(
            f"the model still called tools after {self.max_iterations} model call(s) "
            "(max_iterations)",
            result=self.result(response),
        )

    async def run(self) -> AgentResult:
        from conduit.tools import execute_tool_calls

        while True:
            response = await self.model.chat(self.history, self.options)
            await self.record(response)
            if not response.tool_calls:
                return self.result(response)
            outcomes = await execute_tool_calls(
                response.tool_calls,
                self.tools,
                tool_timeout=self.timeout,
                approve=self.approve,
                on_tool_call=self.on_tool_call,
                on_tool_result=self.on_tool_result,
            )
            self.after_tools(outcomes)
            if self.iterations >= self.max_iterations:
                raise self.limit_error(response)


def _start(
    model: str | ChatModel,
    messages: MessagesInput,
    tools: ToolsInput | dict[str, ExecutableTool],
    options: ChatOptions | None,
    kwargs: dict[str, Any],
    settings: dict[str, Any],
) -> _Run:
    found = tools if isinstance(tools, dict) else tool_map(tools)
    return _Run(
        _resolve_model(model),
        normalize_messages(messages),
        found,
        make_options(options, kwargs),
        **settings,
    )


async def tool_loop(
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
) -> AgentResult:
    """Run the agent loop once: the model answers, the tools it calls run (concurrently,
    through `execute_tool_calls`), their results go back, until an answer calls no tool.

    `tools` are executable tools or typed functions (converted with `@tool`).
    `max_iterations` bounds the model calls; reaching it raises `IterationLimitError`
    (a `MaxIterationsError`) carrying the partial history. `tool_timeout` is the default
    seconds per tool call; `approve(call)` decides on calls of tools marked
    `requires_approval` (none given: they are refused). With `reset_tool_choice`, a
    `tool_choice` that forces a call applies to the first round only. Callbacks may be
    sync or async. Options and keyword arguments are passed to every model call.

    See the module doc for an example.
    """
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
    return await run.run()


def tool_loop_sync(
    model: str | ChatModel,
    messages: MessagesInput,
    tools: ToolsInput = (),
    options: ChatOptions | None = None,
    **kwargs: Any,
) -> AgentResult:
    """`tool_loop` for synchronous code.

    Example:
        >>> from conduit.providers.fake import MockModel
        >>> tool_loop_sync(MockModel(["No tools needed."]), "Hi").text
        'No tools needed.'
    """
    return run_sync(tool_loop(model, messages, tools, options, **kwargs))


class Agent:
    """A model, its tools and the loop's settings, kept for many runs. Each `run` starts
    a new conversation (after the `system` prompt, when given); `StatefulAgent` keeps one.

    Example:
        >>> import asyncio
        >>> from conduit.providers.fake import MockModel
        >>> agent = make_agent(MockModel(["Hello!"], repeat_last=True), system="Be kind.")
        >>> asyncio.run(agent.run("Hi")).messages[0].role
        'system'
    """

    def __init__(
        self,
        model: str | ChatModel,
        tools: ToolsInput = (),
        *,
        system: str | None = None,
        options: ChatOptions | None = None,
        max_iterations: int = 10,
        tool_timeout: float | None = 60.0,
        approve: Approver | None = None,
        reset_tool_choice: bool = True,
        on_response: ResponseCallback | None = None,
        on_tool_call: ToolCallback | None = None,
        on_tool_result: ToolResultCallback | None = None,
        **kwargs: Any,
    ) -> None:
        if max_iterations < 1:
            raise ValidationError(f"max_iterations must be at least 1, not {max_iterations}")
        self.model = _resolve_model(model)
        self.tools = tool_map(tools)
        self.system = system
        self.options = make_options(options, kwargs)
        self.settings: dict[str, Any] = {
            "max_iterations": max_iterations,
            "tool_timeout": tool_timeout,
            "approve": approve,
            "reset_tool_choice": reset_tool_choice,
            "on_response": on_response,
            "on_tool_call": on_tool_call,
            "on_tool_result": on_tool_result,
        }

    def _history(self, messages: MessagesInput) -> list[Message]:
        new = normalize_messages(messages)
        if self.system is not None and not (new and new[0].role == "system"):
            return [system(self.system), *new]
        return new

    def _run(self, history: list[Message], overrides: dict[str, Any]) -> _Run:
        options = self.options.merged(**overrides) if overrides else self.options
        return _Run(self.model, history, self.tools, options, **self.settings)

    async def run(self, messages: MessagesInput, **options: Any) -> AgentResult:
        """Answer `messages` (a string, messages, or dicts), running tools as needed;
        keyword arguments override chat options for this run."""
        return await self._run(self._history(messages), options).run()

    def run_sync(self, messages: MessagesInput, **options: Any) -> AgentResult:
        """`run` for synchronous code."""
        return run_sync(self.run(messages, **options))

    def stream(self, messages: MessagesInput, **options: Any) -> AsyncGenerator[Any, None]:
        """`run` as events (see `conduit.agent.stream`): text deltas, tool calls and
        results as they happen, then `AgentDone` with the result."""
        from conduit.agent.stream import _stream_run

        return _stream_run(self._run(self._history(messages), options))

    def stream_sync(self, messages: MessagesInput, **options: Any) -> Iterator[Any]:
        """`stream` for synchronous code."""
        return iterate_sync(self.stream(messages, **options))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model!r}, tools={list(self.tools)})"


class StatefulAgent(Agent):
    """An agent that remembers: each `run` continues the conversation in `history`
    (tool calls and results included). A run that hits `max_iterations` keeps what it
    did, so the next message continues from there. `reset()` starts over.

    Example:
        >>> import asyncio
        >>> from conduit.providers.fake import FunctionModel
        >>> count = FunctionModel(lambda messages, options: f"{len(messages)} messages")
        >>> agent = stateful_agent(count)
        >>> asyncio.run(agent.run("one")).text, asyncio.run(agent.run("two")).text
        ('1 messages', '3 messages')
    """

    def __init__(self, model: str | ChatModel, tools: ToolsInput = (), **settings: Any) -> None:
        super().__init__(model, tools, **settings)
        self.history: list[Message] = [system(self.system)] if self.system is not None else []

    def _history(self, messages: MessagesInput) -> list[Message]:
        self.history.extend(normalize_messages(messages))
        return self.history

    def reset(self) -> None:
        """Forget the conversation (the system prompt stays)."""
        del self.history[int(self.system is not None) :]


def make_agent(model: str | ChatModel, tools: ToolsInput = (), **settings: Any) -> Agent:
    """An `Agent`: `model` and `tools` with `tool_loop`'s settings (plus `system=`), to
    `run` many times. See `Agent` for an example."""
    return Agent(model, tools, **settings)


def stateful_agent(
    model: str | ChatModel, tools: ToolsInput = (), **settings: Any
) -> StatefulAgent:
    """A `StatefulAgent`: like `make_agent`, but the conversation carries over between
    runs. See `StatefulAgent` for an example."""
    return StatefulAgent(model, tools, **settings)
