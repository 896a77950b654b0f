"""The agent loop on scripted FunctionModel conversations."""

from __future__ import annotations

import asyncio
import pickle
from typing import Any

import pytest

from conduit.agent import (
    AgentDone,
    AgentResult,
    IterationLimitError,
    ResponseEvent,
    ToolCallEvent,
    ToolResultEvent,
    make_agent,
    stateful_agent,
    stream_tool_loop,
    tool_loop,
    tool_loop_sync,
)
from conduit.errors import MaxIterationsError, ValidationError
from conduit.providers.fake import FunctionModel, MockModel
from conduit.schema import (
    ChatOptions,
    FunctionCall,
    Message,
    Response,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from conduit.tools import tool


def call(name: str, arguments: dict[str, Any] | str, id: str = "c1") -> ToolCall:
    function = (
        FunctionCall.from_raw(name, arguments)
        if isinstance(arguments, str)
        else FunctionCall.from_arguments(name, arguments)
    )
    return ToolCall(id=id, function=function)


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


@tool
async def wait(seconds: float) -> float:
    """Sleep, then say how long."""
    await asyncio.sleep(seconds)
    return seconds


@tool
def fail(reason: str) -> str:
    """Always raises."""
    raise RuntimeError(reason)


@tool(requires_approval=True)
def transfer(amount: int) -> str:
    """Move money."""
    return f"moved {amount}"


TOOLS = [add, multiply, wait, fail, transfer]


def tool_results(messages: list[Message]) -> list[Message]:
    tail: list[Message] = []
    for message in reversed(messages):
        if message.role != "tool":
            break
        tail.insert(0, message)
    return tail


async def test_single_call() -> None:
    def script(messages: list[Message], options: ChatOptions) -> Any:
        assert options.tools is not None
        assert [t.name for t in options.tools][:2] == [
            "add",
            "multiply",
        ]
        if messages[-1].role == "tool":
            return f"It is {messages[-1].text}."
        return call("add", {"a": 2, "b": 3})

    model = FunctionModel(script)
    result = await tool_loop(model, "2 + 3?", TOOLS)
    assert isinstance(result, AgentResult)
    assert result.text == "It is 5."
    assert result.iterations == 2
    assert len(result.responses) == 2
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "assistant"]
    assert result.messages[2].name == "add"
    assert result.messages[2].tool_call_id == "c1"
    assert [c.name for c in result.calls] == ["add"]
    assert result.usage == result.responses[0].usage + result.responses[1].usage
    assert result.total_usage is result.usage
    assert result.cost is None  # fake models have no price


async def test_parallel_calls_run_concurrently() -> None:
    # Overlap, not speed: each call waits until all four are running, so only calls that
    # run at the same time can finish (one after another, the guard would give up).
    inside = 0
    all_in = asyncio.Event()

    @tool
    async def meet(seconds: float) -> float:
        """Wait for the others."""
        nonlocal inside
        inside += 1
        if inside == 4:
            all_in.set()
        await asyncio.wait_for(all_in.wait(), 60)
        return seconds

    def script(messages: list[Message], options: ChatOptions) -> Any:
        if messages[-1].role == "tool":
            return "waited " + ",".join(m.text for m in tool_results(messages))
        return [call("meet", {"seconds": 0.2}, f"w{i}") for i in range(4)]

    result = await tool_loop(FunctionModel(script), "wait", [meet])
    assert result.text == "waited 0.2,0.2,0.2,0.2"
    assert [m.tool_call_id for m in result.messages if m.role == "tool"] == ["w0", "w1", "w2", "w3"]


async def test_chain_of_dependent_calls() -> None:
    # (2 + 3) * 4: the second call needs the first's result.
    def script(messages: list[Message], options: ChatOptions) -> Any:
        done = [m for m in messages if m.role == "tool"]
        if not done:
            return call("add", {"a": 2, "b": 3}, "1")
        if len(done) == 1:
            return call("multiply", {"a": int(done[0].text), "b": 4}, "2")
        return f"The answer is {done[-1].text}."

    result = await tool_loop(FunctionModel(script), "(2+3)*4?", TOOLS)
    assert result.text == "The answer is 20."
    assert [o.value for o in result.tool_calls] == [5, 20]
    assert result.iterations == 3


async def test_invalid_arguments_then_corrected() -> None:
    def script(messages: list[Message], options: ChatOptions) -> Any:
        last = messages[-1]
        if last.role == "user":
            return call("add", '{"a": "two", "b": 3}')
        if last.text.startswith("Error: invalid arguments"):
            assert "add.a" in last.text
            return call("add", {"a": 2, "b": 3}, "c2")
        return f"Fixed: {last.text}"

    result = await tool_loop(FunctionModel(script), "2+3", TOOLS)
    assert result.text == "Fixed: 5"
    assert [o.status for o in result.tool_calls] == ["invalid_arguments", "ok"]


async def test_a_tool_that_raises() -> None:
    def script(messages: list[Message], options: ChatOptions) -> Any:
        if messages[-1].role == "tool":
            return "Sorry: " + messages[-1].text
        return call("fail", {"reason": "disk full"})

    result = await tool_loop(FunctionModel(script), "go", TOOLS)
    assert result.text == "Sorry: Error: fail raised RuntimeError: disk full"
    assert result.tool_calls[0].status == "error"


async def test_unknown_tool_is_never_executed() -> None:
    ran: list[str] = []

    @tool
    def rm(path: str) -> str:
        """Delete."""
        ran.append(path)
        return "gone"

    def script(messages: list[Message], options: ChatOptions) -> Any:
        if messages[-1].role == "tool":
            return messages[-1].text
        return call("rm", {"path": "/"})

    result = await tool_loop(FunctionModel(script), "go", [add])
    assert result.text.startswith("Error: there is no tool named 'rm'")
    assert ran == []


async def test_max_iterations_carries_partial_history() -> None:
    model = MockModel([call("add", {"a": 1, "b": 1})], repeat_last=True)
    with pytest.raises(MaxIterationsError) as caught:
        await tool_loop(model, "loop forever", TOOLS, max_iterations=3)
    error = caught.value
    assert isinstance(error, IterationLimitError)
    assert error.result is not None
    assert error.result.iterations == 3
    assert [m.role for m in error.messages] == ["user"] + ["assistant", "tool"] * 3
    assert len(error.result.tool_calls) == 3
    copy = pickle.loads(pickle.dumps(error))
    assert len(copy.messages) == 7
    assert str(copy) == str(error)
    with pytest.raises(ValidationError):
        await tool_loop(model, "x", TOOLS, max_iterations=0)


async def test_callbacks_sync_and_async() -> None:
    seen: list[str] = []

    async def on_response(response: Response) -> None:
        seen.append(f"response:{len(response.tool_calls)}")

    def script(messages: list[Message], options: ChatOptions) -> Any:
        return "done" if messages[-1].role == "tool" else call("add", {"a": 1, "b": 2})

    await tool_loop(
        FunctionModel(script),
        "x",
        TOOLS,
        on_response=on_response,
        on_tool_call=lambda c: seen.append(f"call:{c.name}"),
        on_tool_result=lambda o: seen.append(f"result:{o.content}"),
    )
    assert seen == ["response:1", "call:add", "result:3", "response:0"]


async def test_approval() -> None:
    def script(messages: list[Message], options: ChatOptions) -> Any:
        if messages[-1].role == "tool":
            return messages[-1].text
        return call("transfer", {"amount": int(messages[-1].text)})

    refused = await tool_loop(FunctionModel(script), "100", TOOLS)
    assert refused.text.startswith("Error: the user did not approve")
    assert refused.tool_calls[0].status == "not_approved"

    async def approve(c: ToolCall) -> bool:
        return int(c.arguments["amount"]) < 50

    assert (await tool_loop(FunctionModel(script), "10", TOOLS, approve=approve)).text == "moved 10"
    assert (
        "not approve" in (await tool_loop(FunctionModel(script), "99", TOOLS, approve=approve)).text
    )


async def test_forced_tool_choice_applies_to_the_first_round() -> None:
    choices: list[Any] = []

    def script(messages: list[Message], options: ChatOptions) -> Any:
        choices.append(options.tool_choice)
        return "done" if messages[-1].role == "tool" else call("add", {"a": 1, "b": 2})

    await tool_loop(FunctionModel(script), "x", TOOLS, tool_choice="add", temperature=0)
    assert choices == ["add", "auto"]
    choices.clear()
    await tool_loop(
        FunctionModel(script), "x", TOOLS, tool_choice="required", reset_tool_choice=False
    )
    assert choices == ["required", "required"]


async def test_cost_from_catalog_and_metadata() -> None:
    priced = Response(
        model="claude-sonnet-4-5",
        provider="anthropic",
        content=[TextBlock(text="hi")],
        usage=Usage(input_tokens=1_000_000),
    )
    result = await tool_loop(MockModel([priced]), "x")
    assert result.cost is not None
    assert result.cost > 0
    metered = Response(content=[TextBlock(text="hi")], cost=0.5)  # priced by its model
    assert (await tool_loop(MockModel([metered]), "x")).cost == 0.5
    unknown = Response(model="m", provider="nowhere-known", content=[TextBlock(text="hi")])
    assert (await tool_loop(MockModel([unknown]), "x")).cost is None


async def test_model_by_name_and_sync_twin() -> None:
    assert (await tool_loop("fake/echo", "ping")).text == "ping"
    assert tool_loop_sync(MockModel(["ok"]), "x").text == "ok"
    with pytest.raises(ValidationError):
        await tool_loop(42, "x")  # type: ignore[arg-type]


async def test_make_agent_runs_fresh_each_time() -> None:
    def script(messages: list[Message], options: ChatOptions) -> Any:
        assert options.temperature == 0.3
        if messages[-1].role == "tool":
            return messages[-1].text
        return call("add", {"a": len(messages), "b": 0})

    agent = make_agent(FunctionModel(script), [add], system="Be brief.", temperature=0.3)
    first = await agent.run("one")
    second = await agent.run([{"role": "system", "content": "Own system."}, "two"])
    assert first.text == "2"
    assert second.text == "2"
    assert second.messages[0].text == "Own system."
    assert agent.run_sync("three").text == "2"
    assert "Agent(" in repr(agent)
    assert "add" in repr(agent)
    assert (await agent.run("x", max_tokens=5)).text == "2"
    with pytest.raises(ValidationError):
        make_agent(FunctionModel(script), max_iterations=0)


async def test_stateful_agent_keeps_history() -> None:
    def script(messages: list[Message], options: ChatOptions) -> Any:
        if messages[-1].role == "tool":
            return f"{len(messages)} messages"
        if messages[-1].text == "use a tool":
            return call("add", {"a": 1, "b": 1})
        return f"{len(messages)} messages"

    agent = stateful_agent(FunctionModel(script), [add], system="S")
    assert (await agent.run("hi")).text == "2 messages"
    assert (await agent.run("use a tool")).text == "6 messages"
    assert [m.role for m in agent.history] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    result = await agent.run("again")
    assert result.messages == agent.history
    assert result.messages is not agent.history
    agent.reset()
    assert [m.role for m in agent.history] == ["system"]
    plain = stateful_agent(FunctionModel(script))
    await plain.run("x")
    plain.reset()
    assert plain.history == []


async def test_stateful_agent_continues_after_the_limit() -> None:
    model = MockModel([call("add", {"a": 1, "b": 1}), "finally"])
    agent = stateful_agent(model, [add], max_iterations=1)
    with pytest.raises(IterationLimitError):
        await agent.run("go")
    assert [m.role for m in agent.history] == ["user", "assistant", "tool"]
    assert (await agent.run("continue")).text == "finally"


# ------------------------------------------------------------------------------ stream


async def test_streaming_agent_events() -> None:
    # "slow" finishes only once the result of "fast" was streamed: results that came in
    # the order asked would never arrive (the guard turns that into a failure).
    fast_done = asyncio.Event()

    @tool
    async def wait(seconds: float) -> float:
        """Wait until the fast call's result is out."""
        await fast_done.wait()
        return seconds

    def script(messages: list[Message], options: ChatOptions) -> Any:
        if messages[-1].role == "tool":
            return "The results are " + " and ".join(m.text for m in tool_results(messages))
        return [call("wait", {"seconds": 0.15}, "slow"), call("add", {"a": 1, "b": 2}, "fast")]

    async def collect() -> list[Any]:
        seen = []
        async for event in stream_tool_loop(FunctionModel(script), "go", [add, wait]):
            seen.append(event)
            if isinstance(event, ToolResultEvent) and event.outcome.call.id == "fast":
                fast_done.set()
        return seen

    events = await asyncio.wait_for(collect(), 60)
    kinds = [e.type for e in events]
    assert kinds[:2] == ["tool_call_delta", "tool_call_delta"]
    response_events = [e for e in events if isinstance(e, ResponseEvent)]
    assert [e.iteration for e in response_events] == [1, 2]
    calls = [e for e in events if isinstance(e, ToolCallEvent)]
    assert [e.call.id for e in calls] == ["slow", "fast"]
    results = [e for e in events if isinstance(e, ToolResultEvent)]
    assert [e.outcome.call.id for e in results] == ["fast", "slow"]  # as they finish
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "The results are 0.15 and 3"
    done = events[-1]
    assert isinstance(done, AgentDone)
    assert done.result.text == text
    # The history keeps the order the model asked in.
    assert [m.tool_call_id for m in done.result.messages if m.role == "tool"] == ["slow", "fast"]
    assert any(isinstance(e, ToolCallDelta) for e in events)


async def test_streaming_from_stream_fn_and_agent() -> None:
    async def pieces(messages: list[Message], options: ChatOptions) -> Any:
        for piece in ["Hel", "lo"]:
            yield piece

    model = FunctionModel(lambda m, o: "unused", stream_fn=pieces)
    agent = make_agent(model)
    events = [e async for e in agent.stream("hi")]
    assert [e.type for e in events] == ["text_delta", "text_delta", "response", "agent_done"]
    assert events[-1].result.text == "Hello"
    assert [e.type for e in agent.stream_sync("hi")][-1] == "agent_done"


async def test_streaming_max_iterations_and_early_close() -> None:
    model = MockModel([call("wait", {"seconds": 5})], repeat_last=True)
    stream = stream_tool_loop(model, "x", TOOLS, max_iterations=1, tool_timeout=0.01)
    with pytest.raises(IterationLimitError):
        async for _ in stream:
            pass
    # Closing while a tool runs cancels it.
    stream = stream_tool_loop(MockModel([call("wait", {"seconds": 5})]), "x", TOOLS)
    async for event in stream:
        if event.type == "tool_call":
            break
    await stream.aclose()
