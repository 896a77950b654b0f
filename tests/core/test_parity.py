"""Async and sync twins agree: for the same input, `chat` and `chat_sync` give equal answers,
`stream` and `stream_sync` equal event lists, `embed` and `embed_sync` equal vectors.

In the spirit of simonw/llm's tests/test_async_parity.py: the sync API is a bridge over the
async one, never a second implementation, and this suite keeps it that way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

import conduit
from conduit.core import ChatModel, Embedder
from conduit.errors import BadRequestError
from conduit.providers.fake import FunctionModel, HashEmbedder, MockModel
from conduit.schema import (
    ChatOptions,
    FunctionCall,
    ImageBlock,
    Message,
    StreamEvent,
    ToolCall,
    Usage,
    UsageEvent,
    assistant,
    system,
    tool_result,
    user,
)

CALL = ToolCall(id="c1", function=FunctionCall.from_raw("add", '{"a": 1, "b": 2}'))


def _describe(messages: list[Message], options: ChatOptions) -> str:
    return f"{len(messages)} msgs, last={messages[-1].text!r}, t={options.temperature}"


async def _async_describe(messages: list[Message], options: ChatOptions) -> str:
    return _describe(messages, options)


async def _custom_stream(
    messages: list[Message], options: ChatOptions
) -> AsyncIterator[str | StreamEvent]:
    yield "custom "
    yield messages[-1].text
    yield UsageEvent(usage=Usage(input_tokens=2, output_tokens=3))


# Each factory makes a fresh model, so the async and the sync run see the same state.
MODELS: dict[str, Callable[[], ChatModel | str]] = {
    "fake/echo string": lambda: "fake/echo",
    "resolved fake/echo": lambda: conduit.model("fake/echo"),
    "MockModel text": lambda: MockModel(["The answer is 42."], repeat_last=True),
    "MockModel tool call": lambda: MockModel([CALL], repeat_last=True),
    "MockModel text+tools": lambda: MockModel(
        [
            conduit.Response(
                content=[conduit.TextBlock(text="Let me add.")],
                tool_calls=[CALL],
                stop_reason="tool_use",
                usage=Usage(input_tokens=5, output_tokens=7),
            )
        ],
        repeat_last=True,
    ),
    "FunctionModel sync fn": lambda: FunctionModel(_describe),
    "FunctionModel async fn": lambda: FunctionModel(_async_describe),
    "FunctionModel stream_fn": lambda: FunctionModel(_describe, stream_fn=_custom_stream),
}

INPUTS: dict[str, tuple[Any, dict[str, Any]]] = {
    "string": ("Hello there, how are you?", {}),
    "unicode": ("héllo wörld 👋 — ok", {}),
    "conversation": (
        [
            system("Be brief."),
            user("Add 1 and 2"),
            assistant(tool_calls=[CALL]),
            tool_result("c1", "3"),
            user("thanks"),
        ],
        {},
    ),
    "dicts": ([{"role": "user", "content": "from a dict"}], {}),
    "image": (user("What is this?", ImageBlock(url="https://x.test/a.png")), {}),
    "options object": ("hi", {"options": ChatOptions(temperature=0.7, max_tokens=20)}),
    "kwargs": ("hi", {"temperature": 0.1, "stop": "END"}),
    "options and kwargs": ("hi", {"options": ChatOptions(temperature=0.7), "temperature": 1.9}),
}


@pytest.fixture(params=list(MODELS), ids=list(MODELS))
def make_model(request: pytest.FixtureRequest) -> Callable[[], ChatModel | str]:
    return MODELS[request.param]


@pytest.fixture(params=list(INPUTS), ids=list(INPUTS))
def chat_input(request: pytest.FixtureRequest) -> tuple[Any, dict[str, Any]]:
    return INPUTS[request.param]


async def test_chat_and_chat_sync_agree(
    make_model: Callable[[], ChatModel | str], chat_input: tuple[Any, dict[str, Any]]
) -> None:
    messages, kwargs = chat_input
    async_result = await conduit.chat(make_model(), messages, **kwargs)
    sync_result = conduit.chat_sync(make_model(), messages, **kwargs)
    assert sync_result == async_result


async def test_stream_and_stream_sync_agree(
    make_model: Callable[[], ChatModel | str], chat_input: tuple[Any, dict[str, Any]]
) -> None:
    messages, kwargs = chat_input
    async_events = [e async for e in conduit.stream(make_model(), messages, **kwargs)]
    sync_events = list(conduit.stream_sync(make_model(), messages, **kwargs))
    assert sync_events == async_events
    assert async_events[-1].type == "done"


# model objects only (a string has no methods)
MODEL_OBJECTS = {name: make for name, make in MODELS.items() if not isinstance(make(), str)}
# models whose stream is a replay of their chat answer (a custom stream_fn decides its own)
REPLAYING = {name: make for name, make in MODELS.items() if "stream_fn" not in name}


@pytest.mark.parametrize("make_model", list(MODEL_OBJECTS.values()), ids=list(MODEL_OBJECTS))
async def test_model_methods_agree(
    make_model: Callable[[], ChatModel | str], chat_input: tuple[Any, dict[str, Any]]
) -> None:
    messages, kwargs = chat_input
    async_model = make_model()
    sync_model = make_model()
    assert isinstance(async_model, MockModel | FunctionModel)
    assert isinstance(sync_model, MockModel | FunctionModel)
    assert sync_model.chat_sync(messages, **kwargs) == await async_model.chat(messages, **kwargs)
    assert list(sync_model.stream_sync(messages, **kwargs)) == [
        e async for e in async_model.stream(messages, **kwargs)
    ]
    # both recorded the same calls
    assert sync_model.calls == async_model.calls


@pytest.mark.parametrize("make_model", list(REPLAYING.values()), ids=list(REPLAYING))
async def test_stream_ends_with_what_chat_returns(
    make_model: Callable[[], ChatModel | str], chat_input: tuple[Any, dict[str, Any]]
) -> None:
    messages, kwargs = chat_input
    answer = conduit.chat_sync(make_model(), messages, **kwargs)
    done = list(conduit.stream_sync(make_model(), messages, **kwargs))[-1]
    assert done.type == "done"
    assert done.response == answer


async def test_errors_agree(make_model: Callable[[], ChatModel | str]) -> None:
    err = BadRequestError("bad", provider="fake", status_code=400)
    with pytest.raises(BadRequestError) as a:
        await conduit.chat(MockModel([err]), "hi")
    with pytest.raises(BadRequestError) as s:
        conduit.chat_sync(MockModel([err]), "hi")
    assert str(a.value) == str(s.value)
    with pytest.raises(conduit.ConduitError) as a2:
        await conduit.chat(make_model(), [])
    with pytest.raises(conduit.ConduitError) as s2:
        conduit.chat_sync(make_model(), [])
    assert type(a2.value) is type(s2.value)
    assert str(a2.value) == str(s2.value)


EMBEDDERS: dict[str, Callable[[], Embedder | str]] = {
    "fake/hash string": lambda: "fake/hash",
    "resolved fake/hash": lambda: conduit.embedder("fake/hash"),
    "HashEmbedder 7 dims": lambda: HashEmbedder(dimensions=7),
}


@pytest.mark.parametrize("make_embedder", list(EMBEDDERS.values()), ids=list(EMBEDDERS))
@pytest.mark.parametrize(
    "texts", ["one text", ["a", "b", "c"], ("tuple",), ["", "empty first"], ["ü 👋"]]
)
async def test_embed_and_embed_sync_agree(
    make_embedder: Callable[[], Embedder | str], texts: Any
) -> None:
    async_result = await conduit.embed(make_embedder(), texts)
    sync_result = conduit.embed_sync(make_embedder(), texts)
    assert sync_result == async_result
    made = make_embedder()
    if not isinstance(made, str):
        assert isinstance(made, HashEmbedder)
        assert made.embed_sync(texts) == async_result
