"""The provider contract: the same behaviours, through every adapter, each on its own
wire fixtures (see `kits.py`).

Assertions are on Conduit's normalized types (`Response`, stream events, errors) and are
identical for every adapter; what differs (which fixture answers, what it says, how the
request is shaped on the wire) comes from the adapter's kit. Every request sent here is
validated against the official SDK's request types by the kit's transport, and each
behaviour also reads the request back through the kit, so both directions are checked.

The behaviours:

- plain chat; system prompt; multi-turn conversation
- streaming text; streaming tool calls; a stream cut short; a stream closed early
- parallel tool calls; tool results round trip; forced tool choice
- image input (base64, and by URL)
- JSON output; output-token limit; sampling settings; usage (whole and streamed)
- an answer withheld by a safety filter
- every HTTP error class (chat and stream); an answer of the wrong shape;
  retries on 429 and 5xx, waiting as long as the 429 asks; no retry on 400
- the sync twins (`chat_sync`, `stream_sync`) agree with `chat` and `stream`, errors too
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import pytest

from conduit.core.protocols import BaseChatModel
from conduit.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    ContextWindowExceededError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from conduit.schema import (
    Done,
    ImageBlock,
    Response,
    ResponseAssembler,
    ResponseFormat,
    StreamEvent,
    TextDelta,
    Tool,
    ToolCallDelta,
    UsageEvent,
    assistant,
    system,
    tool_result,
    user,
)
from conduit.transport import HTTPRequest, HTTPResponse, MockTransport, json_response
from tests.providers.contract.kits import (
    REQUEST_ID,
    AdapterKit,
    Unsupported,
    adapters,
    error_cases,
    in_turn,
)

# ------------------------------------------------------------------ shared inputs

TOOLS = [
    Tool(
        name="get_weather",
        description="Current weather for a city",
        parameters={
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    ),
    Tool(
        name="get_time",
        description="Current time in a timezone",
        parameters={
            "type": "object",
            "properties": {"timezone": {"type": "string"}},
            "required": ["timezone"],
        },
    ),
]
TOOL_PROPERTIES = {"get_weather": ["city", "unit"], "get_time": ["timezone"]}

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "born": {"type": "integer"}},
    "required": ["name", "born"],
    "additionalProperties": False,
}

# A 1 by 1 pixel PNG.
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5E"
    "rkJggg=="
)
IMAGE_URL = "https://example.com/cat.png"

# Error kind → (the HTTP statuses it stands for, the class it must become).
ERRORS: dict[str, tuple[Sequence[int], type[ProviderError]]] = {
    "authentication": ([401], AuthenticationError),
    "permission_denied": ([403], PermissionDeniedError),
    "not_found": ([404], NotFoundError),
    "bad_request": ([400], BadRequestError),
    "context_window": ([400], ContextWindowExceededError),
    "rate_limit": ([429], RateLimitError),
    "server": (range(500, 600), ServerError),
}

MODES = ["chat", "stream"]


# ------------------------------------------------------------------------ helpers


async def collect(events: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in events]


async def collect_into(seen: list[StreamEvent], events: AsyncIterator[StreamEvent]) -> None:
    """Collect events until the stream ends or fails (what came before a failure stays)."""
    async for event in events:
        seen.append(event)


def final(events: list[StreamEvent]) -> Response:
    """The answer a stream ends with, after checking the stream's shape: exactly one
    `Done`, last."""
    assert events, "the stream yielded nothing"
    assert isinstance(events[-1], Done), f"the stream must end with Done, not {events[-1]!r}"
    assert sum(isinstance(e, Done) for e in events) == 1
    return events[-1].response


async def answer(model: BaseChatModel, mode: str, messages: Any, **options: Any) -> Response:
    """The answer from `chat`, or from `stream` (its `Done`)."""
    if mode == "chat":
        return await model.chat(messages, **options)
    return final(await collect(model.stream(messages, **options)))


def calls_of(response: Response) -> list[tuple[str, dict[str, Any]]]:
    return [(call.name, call.arguments) for call in response.tool_calls]


def without_duration(response: Response) -> dict[str, Any]:
    return response.model_dump(exclude={"duration"})


async def assert_refused(
    gap: Unsupported, attempt: Callable[[], Awaitable[Any]], transport: MockTransport
) -> None:
    """The adapter refuses what its API cannot do, clearly, before sending anything."""
    assert gap.refusal is not None
    with pytest.raises(ValidationError, match=gap.refusal):
        await attempt()
    assert not transport.requests, "a refused request must not be sent"


# ------------------------------------------------------------------ conversation


@pytest.mark.parametrize("kit", adapters("plain_chat"))
async def test_plain_chat(kit: AdapterKit) -> None:
    model, transport = kit.model(kit.reply(kit.text.fixture))

    response = await model.chat("Hello")

    assert response.text == kit.text.text
    assert response.stop_reason == "end_turn"
    assert response.tool_calls == []
    assert response.provider == kit.name
    assert response.model
    assert response.duration is not None
    assert response.duration >= 0
    (sent,) = transport.requests
    assert kit.sent_turns(sent) == [("user", "Hello")]
    assert kit.sent_system(sent) is None
    assert not kit.streamed(sent)


@pytest.mark.parametrize("kit", adapters("system_prompt"))
async def test_system_prompt(kit: AdapterKit) -> None:
    model, transport = kit.model(kit.reply(kit.text.fixture))

    response = await model.chat([system("Answer in one sentence."), user("Hello")])

    assert response.text == kit.text.text
    (sent,) = transport.requests
    assert kit.sent_system(sent) == "Answer in one sentence."
    assert kit.sent_turns(sent) == [("user", "Hello")]


@pytest.mark.parametrize("kit", adapters("multi_turn"))
async def test_multi_turn_conversation(kit: AdapterKit) -> None:
    model, transport = kit.model(kit.reply(kit.text.fixture))
    conversation = [
        system("Be brief."),
        user("What is the capital of France?"),
        assistant("Paris."),
        user("And of Japan?"),
    ]

    response = await model.chat(conversation)

    assert response.text == kit.text.text
    (sent,) = transport.requests
    assert kit.sent_system(sent) == "Be brief."
    assert kit.sent_turns(sent) == [
        ("user", "What is the capital of France?"),
        ("assistant", "Paris."),
        ("user", "And of Japan?"),
    ]


# --------------------------------------------------------------------- streaming


@pytest.mark.parametrize("kit", adapters("stream_text"))
async def test_stream_text(kit: AdapterKit) -> None:
    model, transport = kit.model(kit.stream_reply(kit.stream_text.fixture))

    events = await collect(model.stream("Hello"))

    done = final(events)
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 1, "text must arrive in pieces"
    assert "".join(deltas) == done.text == kit.stream_text.text
    assert not any(isinstance(e, ToolCallDelta) for e in events)
    assert done.stop_reason == "end_turn"
    assert done.provider == kit.name
    assert done.model
    assert done.duration is not None
    (sent,) = transport.requests
    assert kit.streamed(sent)
    assert kit.sent_turns(sent) == [("user", "Hello")]


@pytest.mark.parametrize("kit", adapters("stream_tool_calls"))
async def test_stream_tool_calls(kit: AdapterKit) -> None:
    model, transport = kit.model(kit.stream_reply(kit.stream_calls.fixture))

    events = await collect(model.stream("Weather and time in Tokyo?", tools=TOOLS))

    done = final(events)
    assert calls_of(done) == list(kit.stream_calls.calls)
    assert done.text == kit.stream_calls.text
    assert done.stop_reason == "tool_use"
    # Each call's first delta says which call it is: its id and name come first.
    first: dict[int, ToolCallDelta] = {}
    for event in events:
        if isinstance(event, ToolCallDelta):
            first.setdefault(event.index, event)
    assert sorted(first) == list(range(len(done.tool_calls)))
    assert all(delta.id and delta.name for delta in first.values())
    # The deltas alone add up to the calls `Done` carries.
    assembler = ResponseAssembler()
    for event in events[:-1]:
        assembler.add(event)
    assert [(c.id, c.name, c.arguments) for c in assembler.response().tool_calls] == [
        (c.id, c.name, c.arguments) for c in done.tool_calls
    ]
    (sent,) = transport.requests
    assert kit.streamed(sent)
    assert kit.sent_tools(sent) == TOOL_PROPERTIES


@pytest.mark.parametrize("kit", adapters("stream_cut_short"))
async def test_a_stream_cut_short_is_an_error(kit: AdapterKit) -> None:
    # The first half of the stream: some text, never the event that ends the answer.
    events = kit.stream_events(kit.stream_text.fixture)
    model, _ = kit.model(kit.stream_reply(events[: len(events) // 2]))
    seen: list[StreamEvent] = []

    with pytest.raises(APIConnectionError):
        await collect_into(seen, model.stream("Hello"))

    assert any(isinstance(e, TextDelta) for e in seen), "what arrived was delivered"
    assert not any(isinstance(e, Done) for e in seen), "a cut answer is never Done"


@pytest.mark.parametrize("kit", adapters("stream_closed_early"))
async def test_closing_a_stream_early_releases_the_connection(kit: AdapterKit, wire: str) -> None:
    if wire == "http":
        pytest.skip(
            "watches the handler's own response object; over HTTP the release of aiohttp's "
            "connection is tested in tests/transport"
        )
    released: list[bool] = []
    reply = kit.stream_reply(kit.stream_text.fixture)

    def noting_release(request: HTTPRequest) -> HTTPResponse:
        response: HTTPResponse = reply(request)

        async def on_close() -> None:
            released.append(True)

        response.on_close = on_close
        return response

    model, _ = kit.model(noting_release)
    events = model.stream("Hello")
    async for event in events:
        if isinstance(event, TextDelta):
            break

    await events.aclose()

    assert released, "closing the event iterator must close the HTTP response right away"


# ------------------------------------------------------------------------- tools


@pytest.mark.parametrize("kit", adapters("parallel_tool_calls"))
async def test_parallel_tool_calls(kit: AdapterKit) -> None:
    model, transport = kit.model(kit.reply(kit.parallel_calls.fixture))

    response = await model.chat("Weather in Paris and Tokyo?", tools=TOOLS)

    assert calls_of(response) == list(kit.parallel_calls.calls)
    assert len(response.tool_calls) > 1
    ids = [call.id for call in response.tool_calls]
    assert all(ids), f"each call needs an id: {ids}"
    assert len(set(ids)) == len(ids), f"each call needs its own id: {ids}"
    for call in response.tool_calls:
        assert not call.function.invalid_arguments
        assert json.loads(call.function.raw_arguments) == call.arguments
    assert response.text == kit.parallel_calls.text
    assert response.stop_reason == "tool_use"
    (sent,) = transport.requests
    assert kit.sent_tools(sent) == TOOL_PROPERTIES


@pytest.mark.parametrize("kit", adapters("tool_result_round_trip"))
async def test_tool_results_round_trip(kit: AdapterKit) -> None:
    model, transport = kit.model(
        in_turn(kit.reply(kit.parallel_calls.fixture), kit.reply(kit.after_tool.fixture))
    )
    question = user("Weather in Paris and Tokyo?")

    first = await model.chat([question], tools=TOOLS)
    results = [tool_result(call.id, f"{18 + i}°C") for i, call in enumerate(first.tool_calls)]
    response = await model.chat([question, first.to_message(), *results], tools=TOOLS)

    assert response.text == kit.after_tool.text
    assert response.stop_reason == "end_turn"
    sent = transport.requests[1]
    assert kit.sent_turns(sent)[0] == ("user", "Weather in Paris and Tokyo?")
    assert kit.sent_tool_calls(sent) == calls_of(first)
    assert kit.sent_tool_results(sent) == [
        (call.id if kit.pairs_results_by == "id" else call.name, result.text)
        for call, result in zip(first.tool_calls, results, strict=True)
    ]


@pytest.mark.parametrize("choice", ["required", "get_weather"])
@pytest.mark.parametrize("kit", adapters("forced_tool_choice"))
async def test_forced_tool_choice(kit: AdapterKit, choice: str) -> None:
    model, transport = kit.model(kit.reply(kit.parallel_calls.fixture))

    async def ask() -> Response:
        return await model.chat("Weather in Paris?", tools=TOOLS, tool_choice=choice)

    if gap := kit.refusal("forced_tool_choice"):
        await assert_refused(gap, ask, transport)
        return
    response = await ask()

    assert response.tool_calls
    (sent,) = transport.requests
    assert kit.sent_tool_choice(sent) == choice
    assert kit.sent_tools(sent) == TOOL_PROPERTIES


# ------------------------------------------------------------------------ images


@pytest.mark.parametrize("kit", adapters("image"))
async def test_image_input(kit: AdapterKit) -> None:
    model, transport = kit.model(kit.reply(kit.image.fixture))

    response = await model.chat(
        user("What is in this image?", ImageBlock(data=PNG, media_type="image/png"))
    )

    assert response.text == kit.image.text
    (sent,) = transport.requests
    assert kit.sent_images(sent) == [PNG]
    assert kit.sent_turns(sent) == [("user", "What is in this image?")]


@pytest.mark.parametrize("kit", adapters("image_url"))
async def test_image_url_input(kit: AdapterKit) -> None:
    model, transport = kit.model(kit.reply(kit.image.fixture))

    async def ask() -> Response:
        return await model.chat(user("What is in this image?", ImageBlock(url=IMAGE_URL)))

    if gap := kit.refusal("image_url"):
        await assert_refused(gap, ask, transport)
        return
    response = await ask()

    assert response.text == kit.image.text
    (sent,) = transport.requests
    assert kit.sent_images(sent) == [IMAGE_URL]


# ------------------------------------------------------- output, limits and usage


@pytest.mark.parametrize("kit", adapters("json_output"))
async def test_json_output(kit: AdapterKit) -> None:
    model, transport = kit.model(kit.reply(kit.json_output.fixture))

    response = await model.chat(
        "Who was Ada Lovelace?", response_format=ResponseFormat.from_schema("person", PERSON)
    )

    assert json.loads(response.text) == kit.json_output.json
    assert response.tool_calls == []
    assert response.stop_reason == "end_turn"
    (sent,) = transport.requests
    assert kit.sent_json_schema(sent) == PERSON


@pytest.mark.parametrize("kit", adapters("output_limit"))
async def test_output_token_limit(kit: AdapterKit) -> None:
    model, transport = kit.model(kit.reply(kit.length.fixture))

    response = await model.chat("Tell me a story.", max_tokens=16)

    assert response.text == kit.length.text
    assert response.stop_reason == "max_tokens"
    (sent,) = transport.requests
    assert kit.sent_max_tokens(sent) == 16


@pytest.mark.parametrize("kit", adapters("sampling"))
async def test_sampling_settings(kit: AdapterKit) -> None:
    model, transport = kit.model(kit.reply(kit.text.fixture))

    await model.chat("Hello", temperature=0.5, stop=["END"])

    (sent,) = transport.requests
    assert kit.sent_sampling(sent) == {"temperature": 0.5, "stop": ["END"]}


@pytest.mark.parametrize("kit", adapters("usage"))
async def test_usage(kit: AdapterKit) -> None:
    model, _ = kit.model(kit.reply(kit.text.fixture))

    usage = (await model.chat("Hello")).usage

    assert usage == kit.text.usage
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.cache_read_tokens <= usage.input_tokens


@pytest.mark.parametrize("kit", adapters("stream_usage"))
async def test_stream_usage(kit: AdapterKit) -> None:
    model, _ = kit.model(kit.stream_reply(kit.stream_text.fixture))

    events = await collect(model.stream("Hello"))

    reported = [e.usage for e in events if isinstance(e, UsageEvent)]
    assert reported, "a stream reports usage before it ends"
    assert reported[-1] == final(events).usage == kit.stream_text.usage


@pytest.mark.parametrize("kit", adapters("withheld_answer"))
async def test_answer_withheld_by_a_safety_filter(kit: AdapterKit) -> None:
    assert kit.withheld is not None
    model, _ = kit.model(kit.reply(kit.withheld.fixture))

    # The caller can always tell: Gemini raises ContentFilterError (issue 4 asks that of
    # its safety blocks); OpenAI and Anthropic, whose APIs answer 200 with a filter
    # reason, return the empty answer with stop_reason "content_filter".
    try:
        response = await model.chat("Say something hurtful.")
    except ContentFilterError as exc:
        raised: ContentFilterError | None = exc
    else:
        raised = None
    if raised is not None:
        assert raised.provider == kit.name
        return
    assert response.stop_reason == "content_filter"
    assert response.text == ""
    assert response.tool_calls == []


# ------------------------------------------------------------------------ errors


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("kit", "kind"), error_cases(list(ERRORS)))
async def test_http_errors_become_typed_errors(kit: AdapterKit, kind: str, mode: str) -> None:
    case = kit.errors[kind]
    statuses, error_class = ERRORS[kind]
    assert case.status in statuses, f"the kit's {kind} answer must be an HTTP {statuses}"
    model, transport = kit.model(kit.error_reply(case))

    with pytest.raises(ProviderError) as info:
        await answer(model, mode, "Hello")

    exc = info.value
    assert type(exc) is error_class, f"HTTP {case.status} became {type(exc).__name__}"
    assert exc.provider == kit.name
    assert exc.status_code == case.status
    assert exc.request_id == (REQUEST_ID if kit.request_id_header else None)
    if kind == "rate_limit":
        assert exc.retry_after == case.retry_after
    assert exc.message
    assert len(transport.requests) == 1


@pytest.mark.parametrize("kit", adapters("not_an_answer"))
async def test_an_answer_of_the_wrong_shape_is_a_connection_error(kit: AdapterKit) -> None:
    model, _ = kit.model(lambda request: json_response({"status": "ok"}))

    with pytest.raises(APIConnectionError):
        await model.chat("Hello")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["rate_limit", "server"])
@pytest.mark.parametrize("kit", adapters("retry"))
async def test_retry_succeeds_on_the_second_attempt(kit: AdapterKit, kind: str, mode: str) -> None:
    # The failed answer asks for no wait (Retry-After: 0), so the test does not sleep.
    failure = kit.error_reply(kit.errors[kind], **{"retry-after": "0"})
    expected = kit.text if mode == "chat" else kit.stream_text
    success = (kit.reply if mode == "chat" else kit.stream_reply)(expected.fixture)
    model, transport = kit.model(in_turn(failure, success), max_retries=2)

    response = await answer(model, mode, "Hello")

    assert response.text == expected.text
    assert len(transport.requests) == 2, "one failed attempt, then one that succeeds"
    first, second = transport.requests
    assert first.content == second.content, "a retry sends the same request again"


class _RecordedSleeps:
    """Stands in for the transport's `asyncio`: `sleep` notes the wait instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


@pytest.mark.parametrize("kit", adapters("retry_wait"))
async def test_a_retry_waits_as_long_as_the_provider_asks(
    kit: AdapterKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    sleeps = _RecordedSleeps()
    monkeypatch.setattr("conduit.transport.client.asyncio", sleeps)
    case = kit.errors["rate_limit"]
    model, _ = kit.model(in_turn(kit.error_reply(case), kit.reply(kit.text.fixture)), max_retries=1)

    await model.chat("Hello")

    (wait,) = sleeps.waits
    if case.retry_after is not None:
        assert wait == case.retry_after, "the wait the 429 asked for (as its error reports it)"
    else:
        assert 0 <= wait <= 0.5, "no hint from the server: the first backoff step"


@pytest.mark.parametrize("kit", adapters("no_retry_on_bad_request"))
async def test_a_bad_request_is_not_retried(kit: AdapterKit) -> None:
    model, transport = kit.model(kit.error_reply(kit.errors["bad_request"]), max_retries=2)

    with pytest.raises(BadRequestError):
        await model.chat("Hello")

    assert len(transport.requests) == 1


# -------------------------------------------------------------------- sync twins


@pytest.mark.parametrize("kit", adapters("sync_twins"))
def test_chat_sync_agrees_with_chat(kit: AdapterKit) -> None:
    model, transport = kit.model(kit.reply(kit.text.fixture))

    from_sync = model.chat_sync("Hello")
    from_async = asyncio.run(model.chat("Hello"))

    assert from_sync.text == kit.text.text
    assert without_duration(from_sync) == without_duration(from_async)
    first, second = transport.requests
    assert first.content == second.content


@pytest.mark.parametrize("kit", adapters("sync_twins"))
def test_stream_sync_agrees_with_stream(kit: AdapterKit) -> None:
    model, _ = kit.model(kit.stream_reply(kit.stream_text.fixture))

    from_sync = list(model.stream_sync("Hello"))
    from_async = asyncio.run(collect(model.stream("Hello")))

    assert final(from_sync).text == kit.stream_text.text
    assert [e.model_dump() for e in from_sync[:-1]] == [e.model_dump() for e in from_async[:-1]]
    assert without_duration(final(from_sync)) == without_duration(final(from_async))


@pytest.mark.parametrize("kit", adapters("sync_twins"))
def test_sync_twins_raise_the_same_typed_errors(kit: AdapterKit) -> None:
    case = kit.errors["rate_limit"]
    model, _ = kit.model(kit.error_reply(case))

    with pytest.raises(RateLimitError) as from_chat_sync:
        model.chat_sync("Hello")
    with pytest.raises(RateLimitError) as from_stream_sync:
        list(model.stream_sync("Hello"))

    for info in (from_chat_sync, from_stream_sync):
        assert (info.value.provider, info.value.status_code) == (kit.name, case.status)
        assert info.value.retry_after == case.retry_after
