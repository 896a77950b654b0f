"""FallbackModel: models tried in turn; streams fall back only before their first event."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from conduit.errors import (
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    ContextWindowExceededError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from conduit.providers.fake import FunctionModel, MockModel
from conduit.routing import FallbackModel
from conduit.schema import ChatOptions, Done, Message, StreamEvent, TextDelta
from tests.routing.support import mock


@pytest.mark.parametrize(
    "error",
    [
        ServerError("down"),
        RateLimitError("slow down"),
        AuthenticationError("bad key"),
        ContextWindowExceededError("too long"),
        ContentFilterError("blocked"),
    ],
)
async def test_falls_back_on_what_another_model_may_fix(error: Exception) -> None:
    first, second = mock("first", [error]), mock("second")
    model = FallbackModel([first, second])
    answer = await model.chat("hi")
    assert answer.text == "second"
    assert answer.metadata["route"] == {"model": "fake/second", "tries": 2}


async def test_does_not_fall_back_on_a_bad_request_or_a_bug() -> None:
    second = mock("second")
    with pytest.raises(BadRequestError):
        await FallbackModel([mock("first", [BadRequestError("bad field")]), second]).chat("hi")
    with pytest.raises(ValidationError):
        await FallbackModel([mock("first", [ValidationError("bad")]), second]).chat("hi")
    assert second.calls == []


async def test_a_custom_rule_decides() -> None:
    model = FallbackModel(
        [mock("first", [BadRequestError("bad field")]), mock("second")],
        fall_back_on=lambda error: isinstance(error, BadRequestError),
    )
    assert (await model.chat("hi")).text == "second"
    strict = FallbackModel(
        [mock("first", [ServerError("down")]), mock("second")], fall_back_on=lambda e: False
    )
    with pytest.raises(ServerError):
        await strict.chat("hi")


async def test_when_all_fail_the_first_error_is_raised_with_notes() -> None:
    model = FallbackModel(
        [mock("a", [ServerError("a is down")]), mock("b", [RateLimitError("b is busy")])]
    )
    with pytest.raises(ServerError, match="a is down") as caught:
        await model.chat("hi")
    assert "'fake/b' failed too" in caught.value.__notes__[0]


async def test_strings_are_built_on_first_use_so_a_missing_key_is_fallen_back_from() -> None:
    model = FallbackModel(["openai/gpt-4o-mini", "fake/echo"])  # no OPENAI_API_KEY here
    answer = await model.chat("ping")
    assert answer.text == "ping"
    assert answer.metadata["route"] == {"model": "fake/echo", "tries": 2}
    assert model.model_info.ref == "fallback/openai/gpt-4o-mini,fake/echo"


def streaming(*pieces: str | Exception) -> FunctionModel:
    async def stream_fn(messages: list[Message], options: ChatOptions) -> AsyncIterator[str]:
        for piece in pieces:
            if isinstance(piece, Exception):
                raise piece
            yield piece

    return FunctionModel(lambda m, o: "x", stream_fn=stream_fn, name="streaming")


async def test_a_stream_falls_back_before_its_first_event() -> None:
    model = FallbackModel([mock("first", [ServerError("down")]), mock("second")])
    events = [event async for event in model.stream("hi")]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "second"
    done = events[-1]
    assert isinstance(done, Done)
    assert done.response.metadata["route"]["model"] == "fake/second"


async def test_a_stream_does_not_fall_back_after_its_first_event() -> None:
    second = mock("second")
    model = FallbackModel([streaming("Hel", ServerError("cut off")), second])
    seen: list[StreamEvent] = []

    async def read() -> None:
        async for event in model.stream("hi"):
            seen.append(event)

    with pytest.raises(ServerError, match="cut off"):
        await read()
    assert [e.text for e in seen if isinstance(e, TextDelta)] == ["Hel"]
    assert second.calls == []


async def test_a_stream_that_ends_at_once_is_fallen_back_from() -> None:
    class Silent(FunctionModel):
        async def _stream(
            self, messages: list[Message], options: ChatOptions
        ) -> AsyncIterator[StreamEvent]:
            return
            yield

    model = FallbackModel([Silent(lambda m, o: "x"), mock("second")])
    assert [e.type async for e in model.stream("hi")][-1] == "done"


async def test_all_streams_failing_raises_the_first_error() -> None:
    model = FallbackModel([mock("a", [ServerError("a down")]), mock("b", [ServerError("b down")])])
    with pytest.raises(ServerError, match="a down"):
        [e async for e in model.stream("hi")]
    with pytest.raises(BadRequestError):
        [e async for e in FallbackModel([mock("a", [BadRequestError("no")])]).stream("hi")]


def test_sync_twins_and_repr() -> None:
    model = FallbackModel([MockModel([ServerError("down")]), "fake/echo"])
    assert model.chat_sync("ping").text == "ping"
    assert repr(model) == "FallbackModel(['fake/mock', 'fake/echo'])"
    assert [m.model_info.ref for m in model.models] == ["fake/mock", "fake/echo"]


@pytest.mark.parametrize(
    ("models", "message"),
    [([], "models must be a non-empty list"), ("fake/echo", "models must be"), ([3], "model must")],
)
def test_bad_input_is_refused(models: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FallbackModel(models)
    with pytest.raises(ValidationError, match="fall_back_on must be a function"):
        FallbackModel(["fake/echo"], fall_back_on=3)  # type: ignore[arg-type]
