"""Tracing: GenAI spans through OpenTelemetry's SDK, errors, streams, and the no-op."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from conduit.errors import ServerError
from conduit.interceptors import Cache, Cost, Retry, Tracing, with_interceptors
from conduit.providers.fake import MockModel
from conduit.schema import Response, TextBlock, Usage


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.clear()


@pytest.fixture
def tracing(exporter: InMemorySpanExporter) -> Tracing:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Tracing(tracer=provider.get_tracer("test"))


ANSWER = Response(
    id="resp-7",
    model="mock-2024",
    content=[TextBlock(text="hello")],
    stop_reason="end_turn",
    usage=Usage(input_tokens=11, output_tokens=4, cache_read_tokens=3),
)


async def test_a_chat_span_follows_the_genai_conventions(
    tracing: Tracing, exporter: InMemorySpanExporter
) -> None:
    model = with_interceptors(MockModel([ANSWER]), [tracing, Cost(lambda ref, usage: 0.5), Retry()])
    await model.chat("hi", temperature=0.2, max_tokens=50, top_p=0.9)
    (span,) = exporter.get_finished_spans()
    assert span.name == "chat mock"
    assert span.kind == SpanKind.CLIENT
    assert dict(span.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "fake",
        "gen_ai.request.model": "mock",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.max_tokens": 50,
        "gen_ai.response.id": "resp-7",
        "gen_ai.response.model": "mock-2024",
        "gen_ai.response.finish_reasons": ("end_turn",),
        "gen_ai.usage.input_tokens": 11,
        "gen_ai.usage.output_tokens": 4,
        "gen_ai.usage.cache_read.input_tokens": 3,
        "conduit.attempts": 1,
        "conduit.cost_usd": 0.5,
    }
    assert span.status.status_code == StatusCode.UNSET


async def test_an_error_marks_the_span(tracing: Tracing, exporter: InMemorySpanExporter) -> None:
    model = with_interceptors(MockModel([ServerError("down")]), [tracing])
    with pytest.raises(ServerError):
        await model.chat("hi")
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code == StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "ServerError"
    assert [e.name for e in span.events] == ["exception"]


async def test_a_stream_span_ends_with_the_stream(
    tracing: Tracing, exporter: InMemorySpanExporter
) -> None:
    model = with_interceptors(MockModel(["a b c"]), [tracing, Cache()])
    stream = model.stream("hi")
    await stream.__anext__()
    assert exporter.get_finished_spans() == ()
    [e async for e in stream]
    (span,) = exporter.get_finished_spans()
    attributes = span.attributes or {}
    assert attributes["conduit.stream"] is True
    assert attributes["conduit.cache_hit"] is False
    assert isinstance(attributes["gen_ai.usage.output_tokens"], int)
    assert attributes["gen_ai.usage.output_tokens"] > 0


async def test_a_closed_stream_is_not_an_error(
    tracing: Tracing, exporter: InMemorySpanExporter
) -> None:
    model = with_interceptors(MockModel(["a b c"]), [tracing])
    stream = model.stream("hi")
    await stream.__anext__()
    await stream.aclose()  # type: ignore[attr-defined]
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code == StatusCode.UNSET
    assert (span.attributes or {})["conduit.closed"] is True


async def test_an_answer_without_details_sets_only_what_it_has(
    tracing: Tracing, exporter: InMemorySpanExporter
) -> None:
    model = with_interceptors(MockModel([Response()]), [tracing])
    await model.chat("hi")
    (span,) = exporter.get_finished_spans()
    attributes = span.attributes or {}
    assert "gen_ai.response.id" not in attributes
    assert "gen_ai.response.finish_reasons" not in attributes
    assert attributes["gen_ai.usage.input_tokens"] == 0


async def test_the_global_tracer_by_default() -> None:
    tracing = Tracing()
    assert tracing.enabled
    assert (await with_interceptors(MockModel(["x"]), [tracing]).chat("hi")).text == "x"


async def test_a_no_op_without_opentelemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    tracing = Tracing()
    assert not tracing.enabled
    assert repr(tracing) == "Tracing(enabled=False)"
    model = with_interceptors(MockModel(["x", ServerError("e")]), [tracing])
    assert (await model.chat("hi")).text == "x"
    with pytest.raises(ServerError):
        await model.chat("hi")


async def test_a_tracer_of_your_own_without_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)

    class Span:
        def __init__(self) -> None:
            self.attributes: dict[str, object] = {}
            self.ended = False
            self.exceptions: list[BaseException] = []

        def set_attribute(self, key: str, value: object) -> None:
            self.attributes[key] = value

        def record_exception(self, exc: BaseException) -> None:
            self.exceptions.append(exc)

        def end(self) -> None:
            self.ended = True

    spans: list[Span] = []

    class Tracer:
        def start_span(self, name: str, attributes: dict[str, object], start_time: int) -> Span:
            span = Span()
            span.attributes.update(attributes)
            spans.append(span)
            return span

    model = with_interceptors(MockModel(["x", ServerError("e")]), [Tracing(tracer=Tracer())])
    await model.chat("hi")
    with pytest.raises(ServerError):
        await model.chat("hi")
    assert [s.ended for s in spans] == [True, True]
    assert spans[1].attributes["error.type"] == "ServerError"


async def test_cancellation_ends_the_span(tracing: Tracing, exporter: InMemorySpanExporter) -> None:
    model = with_interceptors(MockModel(["x"], delay=10), [tracing])
    task = asyncio.create_task(model.chat("hi"))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (span,) = exporter.get_finished_spans()
    assert (span.attributes or {})["conduit.closed"] is True


async def test_the_span_covers_the_whole_call(
    tracing: Tracing, exporter: InMemorySpanExporter
) -> None:
    model = with_interceptors(MockModel(["x"], delay=0.05), [tracing])
    await model.chat("hi")
    (span,) = exporter.get_finished_spans()
    assert span.start_time is not None
    assert span.end_time is not None
    assert span.end_time - span.start_time >= 0.04e9
