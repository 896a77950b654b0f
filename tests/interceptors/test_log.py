"""Logging: structured request/response/error records, content off by default, redaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator

import pytest

from conduit.errors import RateLimitError
from conduit.interceptors import Cache, Cost, Logging, Retry, with_interceptors
from conduit.providers.fake import FunctionModel, MockModel
from conduit.schema import ChatOptions, Message, Response, TextBlock, Usage

LOGGER = "test.conduit.log"


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    """What the test's logger received (DEBUG and up)."""
    logger = logging.getLogger(LOGGER)
    handler = ListHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler.records
    logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)


def answer(text: str) -> Response:
    return Response(
        id="req-123",
        content=[TextBlock(text=text)],
        stop_reason="end_turn",
        usage=Usage(input_tokens=12, output_tokens=3),
    )


async def test_request_and_response_records_carry_fields(records: list[logging.LogRecord]) -> None:
    model = with_interceptors(
        MockModel([answer("fine")]),
        [Logging(LOGGER), Cost(lambda ref, usage: 0.0042), Retry()],
    )
    await model.chat("how are you?")
    request, response = records
    assert request.levelno == logging.INFO
    assert request.phase == "request"  # type: ignore[attr-defined]
    assert request.model == "fake/mock"  # type: ignore[attr-defined]
    assert request.message_count == 1  # type: ignore[attr-defined]
    assert request.getMessage() == "chat fake/mock"
    assert response.phase == "response"  # type: ignore[attr-defined]
    fields = {
        k: getattr(response, k)
        for k in (
            "provider",
            "request_id",
            "input_tokens",
            "output_tokens",
            "total_tokens",
            "cost_usd",
            "stop_reason",
            "attempts",
            "stream",
        )
    }
    assert fields == {
        "provider": "fake",
        "request_id": "req-123",
        "input_tokens": 12,
        "output_tokens": 3,
        "total_tokens": 15,
        "cost_usd": 0.0042,
        "stop_reason": "end_turn",
        "attempts": 1,
        "stream": False,
    }
    assert response.duration_s >= 0  # type: ignore[attr-defined]
    assert "12+3 tokens" in response.getMessage()
    assert "$0.004200" in response.getMessage()


async def test_content_is_not_logged_by_default(records: list[logging.LogRecord]) -> None:
    model = with_interceptors(MockModel(["the secret answer"]), [Logging(LOGGER)])
    await model.chat("my private question")
    for record in records:
        assert not hasattr(record, "messages")
        assert not hasattr(record, "answer")
        text = record.getMessage() + repr(record.__dict__)
        assert "private" not in text
        assert "secret answer" not in text


async def test_content_when_asked_and_keys_always_redacted(
    records: list[logging.LogRecord],
) -> None:
    leaky = "use sk-abcdefghijklmnopqrstuv and hunter2hunter2"
    model = with_interceptors(
        MockModel([f"echo: {leaky}"]),
        [Logging(LOGGER, log_content=True, secrets=["hunter2hunter2"])],
    )
    await model.chat(leaky)
    request, response = records
    assert request.messages == [  # type: ignore[attr-defined]
        {"role": "user", "content": "use [REDACTED] and [REDACTED]"}
    ]
    assert response.answer == "echo: use [REDACTED] and [REDACTED]"  # type: ignore[attr-defined]


async def test_errors_are_logged_redacted(records: list[logging.LogRecord]) -> None:
    error = RateLimitError(
        "quota for key sk-abcdefghijklmnopqrstuv",
        provider="openai",
        status_code=429,
        request_id="req-9",
    )
    model = with_interceptors(MockModel([error]), [Logging(LOGGER)])
    with pytest.raises(RateLimitError):
        await model.chat("hi")
    record = records[-1]
    assert record.levelno == logging.WARNING
    assert record.phase == "error"  # type: ignore[attr-defined]
    assert record.error_type == "RateLimitError"  # type: ignore[attr-defined]
    assert record.status_code == 429  # type: ignore[attr-defined]
    assert record.request_id == "req-9"  # type: ignore[attr-defined]
    assert "sk-abc" not in record.getMessage()
    assert "[REDACTED]" in record.getMessage()


async def test_a_cache_hit_is_marked(records: list[logging.LogRecord]) -> None:
    model = with_interceptors(MockModel(["x"]), [Logging(LOGGER), Cache()])
    await model.chat("hi")
    await model.chat("hi")
    responses = [r for r in records if r.phase == "response"]  # type: ignore[attr-defined]
    assert [r.cache_hit for r in responses] == [False, True]  # type: ignore[attr-defined]
    assert responses[1].getMessage().endswith("(cached)")


async def test_streams_and_early_close(records: list[logging.LogRecord]) -> None:
    async def endless(messages: list[Message], options: ChatOptions) -> AsyncIterator[str]:
        while True:
            yield "x"

    model = with_interceptors(MockModel(["a b"]), [Logging(LOGGER)])
    [e async for e in model.stream("hi")]
    assert [r.getMessage().split(" ")[0] for r in records] == ["stream", "stream"]
    records.clear()
    closing = with_interceptors(
        FunctionModel(lambda m, o: "", stream_fn=endless), [Logging(LOGGER)]
    )
    stream = closing.stream("hi")
    async for _ in stream:
        break
    await stream.aclose()  # type: ignore[attr-defined]
    assert records[-1].phase == "closed"  # type: ignore[attr-defined]
    assert "closed by the caller" in records[-1].getMessage()


async def test_cancellation_is_logged_as_such(records: list[logging.LogRecord]) -> None:
    model = with_interceptors(MockModel(["x"], delay=10), [Logging(LOGGER)])
    task = asyncio.create_task(model.chat("hi"))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert "cancelled" in records[-1].getMessage()


async def test_nothing_is_built_when_the_level_is_off(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger=LOGGER)
    caplog.clear()
    model = with_interceptors(
        MockModel(["x", RateLimitError("slow")]),
        [Logging(logging.getLogger(LOGGER), level=logging.DEBUG, error_level=logging.INFO)],
    )
    await model.chat("hi")
    with pytest.raises(RateLimitError):
        await model.chat("hi")
    task = asyncio.create_task(
        with_interceptors(MockModel(["x"], delay=10), [Logging(LOGGER, level=logging.DEBUG)]).chat(
            "hi"
        )
    )
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert caplog.records == []


def test_repr_and_logger_by_name() -> None:
    assert repr(Logging()) == "Logging('conduit')"
    assert Logging(logging.getLogger("x.y")).logger.name == "x.y"


async def test_a_structlog_style_formatter_sees_the_fields() -> None:
    """What structlog's ExtraAdder does: every non-standard attribute becomes a key."""
    standard = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
    seen: list[dict[str, object]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append({k: v for k, v in record.__dict__.items() if k not in standard})

    logger = logging.getLogger("test.conduit.structured")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = Collect()
    logger.addHandler(handler)
    try:
        await with_interceptors(MockModel([answer("x")]), [Logging(logger)]).chat("hi")
    finally:
        logger.removeHandler(handler)
    assert seen[1]["phase"] == "response"
    assert seen[1]["total_tokens"] == 15
    assert seen[1]["request_id"] == "req-123"
