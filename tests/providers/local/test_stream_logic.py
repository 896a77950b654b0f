"""How LocalChatModel turns the worker's text into events, with a scripted engine in place
of llama.cpp (so every branch is exact and fast): tool-call detection in auto mode,
held-back stop sequences, errors from the worker."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

import pytest

from conduit.errors import ServerError
from conduit.providers.local import LocalChatModel
from conduit.providers.local.engine import Control, GenerationRequest
from conduit.schema import TextDelta, Tool, ToolCallDelta

WEATHER = Tool(
    name="get_weather",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)


class ScriptedEngine:
    """Emits the given pieces from a worker thread, like the real engine."""

    def __init__(self, pieces: list[str], *, finish: str = "stop", error: Exception | None = None):
        self.pieces, self.finish, self.error = pieces, finish, error
        self.requests: list[GenerationRequest] = []

    def render(self, messages: list[dict[str, str]]) -> tuple[str, list[str]]:
        return "\n".join(m["content"] for m in messages), []

    def submit(self, request: GenerationRequest, control: Control, emit: Any) -> Future[None]:
        self.requests.append(request)
        future: Future[None] = Future()

        def work() -> None:
            if not future.set_running_or_notify_cancel():  # like an executor's job
                return
            for piece in self.pieces:
                if control.cancelled:
                    break
                emit("text", piece)
            if self.error is not None:
                emit("error", self.error)
            else:
                emit("end", (self.finish, 10, len(self.pieces)))
            future.set_result(None)

        threading.Thread(target=work).start()
        return future


def _model(engine: ScriptedEngine) -> LocalChatModel:
    model = LocalChatModel("default")
    model._engine = engine  # type: ignore[assignment]
    return model


async def test_auto_mode_turns_a_call_shaped_answer_into_a_tool_call() -> None:
    engine = ScriptedEngine(['{"name": "get_weather", ', '"arguments": {"city": "Oslo"}}'])
    events = [e async for e in _model(engine).stream("Weather?", tools=[WEATHER])]
    assert not [e for e in events if isinstance(e, TextDelta)]
    calls = [e for e in events if isinstance(e, ToolCallDelta)]
    assert calls[0].name == "get_weather"
    response = events[-1].response  # type: ignore[union-attr]
    assert response.stop_reason == "tool_use"
    assert response.tool_calls[0].arguments == {"city": "Oslo"}
    assert engine.requests[0].grammar_schema is None  # auto: no grammar, the model chooses


async def test_auto_mode_streams_plain_answers_as_soon_as_they_are_plain() -> None:
    engine = ScriptedEngine(["  ", "It is ", "sunny."])
    events = [e async for e in _model(engine).stream("Weather?", tools=[WEATHER])]
    texts = [e.text for e in events if isinstance(e, TextDelta)]
    assert "".join(texts) == "  It is sunny."
    assert events[-1].response.tool_calls == []  # type: ignore[union-attr]


async def test_auto_mode_json_that_is_not_a_call_is_text() -> None:
    engine = ScriptedEngine(['{"temperature": ', "18}"])
    response = await _model(engine).chat("Weather?", tools=[WEATHER])
    assert response.text == '{"temperature": 18}'
    assert response.tool_calls == []
    assert response.stop_reason == "end_turn"


async def test_a_forced_call_cut_short_comes_back_as_text() -> None:
    engine = ScriptedEngine(['{"name": "get_weather", "argu'], finish="length")
    response = await _model(engine).chat("Weather?", tools=[WEATHER], tool_choice="required")
    assert response.tool_calls == []
    assert response.text == '{"name": "get_weather", "argu'
    assert response.stop_reason == "max_tokens"
    assert engine.requests[0].grammar_schema is not None


async def test_text_held_for_a_possible_stop_is_released_at_the_end() -> None:
    engine = ScriptedEngine(["Hello EN"])
    response = await _model(engine).chat("Hi", stop=["END"])
    assert response.text == "Hello EN"
    assert response.stop_reason == "end_turn"


async def test_a_stop_inside_a_held_answer() -> None:
    engine = ScriptedEngine(['{"name": "get_weather", "arguments": {}}', "STOP", "more"])
    response = await _model(engine).chat("Hi", tools=[WEATHER], stop=["STOP"])
    assert response.tool_calls[0].name == "get_weather"


async def test_worker_errors_reach_the_caller() -> None:
    engine = ScriptedEngine(["partial"], error=ServerError("llama.cpp failed", provider="local"))
    with pytest.raises(ServerError, match=r"llama\.cpp failed"):
        await _model(engine).chat("Hi")


async def test_repeatable_requests_are_marked() -> None:
    engine = ScriptedEngine(["ok"])
    model = _model(engine)
    await model.chat("Hi", temperature=0)
    await model.chat("Hi", seed=3)
    await model.chat("Hi", temperature=0.7)
    assert [r.repeatable for r in engine.requests] == [True, True, False]
    assert engine.requests[2].params["temperature"] == 0.7
    assert "seed" not in engine.requests[2].params


def test_reports_after_the_loop_closed_cancel_generation() -> None:
    """A sync caller's loop may be gone before the worker's last report: the worker is
    told to stop instead of failing."""
    import asyncio

    engine = ScriptedEngine([])
    model = _model(engine)
    seen: list[Control] = []
    emits: list[Any] = []
    submitted: list[asyncio.Event] = []

    def submit(request: GenerationRequest, control: Control, emit: Any) -> Future[None]:
        seen.append(control)
        emits.append(emit)
        submitted[0].set()
        future: Future[None] = Future()
        future.set_running_or_notify_cancel()
        future.set_result(None)
        return future

    engine.submit = submit  # type: ignore[method-assign]

    async def start() -> None:
        submitted.append(asyncio.Event())
        stream = model.stream("Hi")
        task = asyncio.ensure_future(stream.__anext__())
        await asyncio.wait_for(submitted[0].wait(), 30)  # the worker has the job
        task.cancel()

    asyncio.run(start())
    # The worker's last report comes from its own thread once the loop is closed (in
    # that order for sure: no timer racing the loop's shutdown on a busy machine).
    worker = threading.Thread(target=emits[0], args=("text", "late"))
    worker.start()
    worker.join(30)
    assert seen[0].cancelled
