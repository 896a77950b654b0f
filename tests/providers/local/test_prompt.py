"""Messages → chat-template input, tool prompts, tool-call parsing and stop sequences."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conduit.errors import ValidationError
from conduit.providers.local.prompt import (
    StopMatcher,
    forced_tool,
    output_schema,
    parse_tool_call,
    template_messages,
    tool_call_schema,
)
from conduit.schema import (
    ChatOptions,
    FunctionCall,
    ImageBlock,
    Message,
    ResponseFormat,
    TextBlock,
    Tool,
    ToolCall,
    assistant,
    system,
    tool_result,
    user,
)

WEATHER = Tool(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
TIME = Tool(name="get_time", parameters={"type": "object", "properties": {}})


def test_plain_messages_pass_through_as_strings() -> None:
    out = template_messages([system("Be brief."), user("Hi"), assistant("Hello!")])
    assert out == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
    ]


def test_text_blocks_are_joined() -> None:
    message = Message(role="user", content=[TextBlock(text="one"), TextBlock(text="two")])
    assert template_messages([message]) == [{"role": "user", "content": "one\ntwo"}]


def test_images_are_refused_with_a_reason() -> None:
    message = Message(
        role="user", content=[TextBlock(text="what is this?"), ImageBlock(url="https://x/y.png")]
    )
    with pytest.raises(ValidationError, match="text only"):
        template_messages([message])


def test_tool_calls_and_results_become_plain_turns() -> None:
    call = ToolCall(
        id="call_1", function=FunctionCall.from_arguments("get_weather", {"city": "Paris"})
    )
    messages = [
        user("Weather in Paris?"),
        Message(role="assistant", content="", tool_calls=[call]),
        tool_result("call_1", "18 C and sunny"),
    ]
    out = template_messages(messages)
    assert json.loads(out[1]["content"]) == {"name": "get_weather", "arguments": {"city": "Paris"}}
    assert out[2] == {"role": "user", "content": "Result of get_weather: 18 C and sunny"}


def test_tools_are_described_in_a_new_or_existing_system_message() -> None:
    alone = template_messages([user("Hi")], tools=[WEATHER])
    assert alone[0]["role"] == "system"
    assert "get_weather: Weather for a city" in alone[0]["content"]
    assert '"city"' in alone[0]["content"]
    merged = template_messages([system("Be kind."), user("Hi")], tools=[WEATHER])
    assert merged[0]["content"].startswith("Be kind.\n\nYou can call these tools:")
    assert len(merged) == 2


def test_forced_and_required_calls_are_worded_differently() -> None:
    forced = template_messages([user("Hi")], tools=[WEATHER, TIME], forced=WEATHER)
    assert "Call the tool get_weather" in forced[0]["content"]
    required = template_messages([user("Hi")], tools=[WEATHER, TIME], forced=True)
    assert "Call one of them" in required[0]["content"]
    auto = template_messages([user("Hi")], tools=[WEATHER, TIME])
    assert "Otherwise, answer the user normally" in auto[0]["content"]


def test_forced_tool_reads_tool_choice() -> None:
    assert forced_tool(ChatOptions(tools=[WEATHER, TIME], tool_choice="get_time")) == TIME
    assert forced_tool(ChatOptions(tools=[WEATHER, TIME], tool_choice="required")) is True
    assert forced_tool(ChatOptions(tools=[WEATHER], tool_choice="required")) == WEATHER
    assert forced_tool(ChatOptions(tools=[WEATHER], tool_choice="auto")) is None
    assert forced_tool(ChatOptions(tool_choice="required")) is None
    with pytest.raises(ValidationError, match="names no declared tool"):
        forced_tool(ChatOptions(tools=[WEATHER], tool_choice="get_stock"))


def test_tool_call_schema_pins_the_name_and_the_arguments() -> None:
    one = tool_call_schema([WEATHER])
    assert one["properties"]["name"] == {"const": "get_weather"}
    assert one["properties"]["arguments"] == WEATHER.parameters
    both = tool_call_schema([WEATHER, TIME])
    assert [b["properties"]["name"]["const"] for b in both["anyOf"]] == ["get_weather", "get_time"]


def test_output_schema_from_response_format() -> None:
    assert output_schema(ChatOptions()) == (None, None)
    assert output_schema(ChatOptions(response_format=ResponseFormat(type="text"))) == (None, None)
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    got, note = output_schema(ChatOptions(response_format=ResponseFormat.from_schema("x", schema)))
    assert got == schema
    assert note is not None
    assert json.dumps(schema) in note


@pytest.mark.parametrize(
    "text",
    [
        "Paris is sunny.",
        "{not json",
        '["get_weather"]',
        '{"name": "get_stock", "arguments": {}}',
        '{"name": "get_weather", "arguments": "Paris"}',
        '{"name": "get_weather", "arguments": {}, "extra": 1}',
    ],
)
def test_text_that_is_not_one_declared_call_stays_text(text: str) -> None:
    assert parse_tool_call(text, [WEATHER]) is None


def test_a_declared_call_parses_with_a_fresh_id() -> None:
    first = parse_tool_call(' {"name": "get_weather", "arguments": {"city": "Oslo"}} ', [WEATHER])
    second = parse_tool_call('{"name": "get_weather", "arguments": {"city": "Oslo"}}', [WEATHER])
    assert first is not None
    assert second is not None
    assert first.arguments == {"city": "Oslo"}
    assert first.id.startswith("call_")
    assert first.id != second.id


def test_stop_matcher_cuts_at_the_first_stop_and_holds_partial_matches() -> None:
    m = StopMatcher(["</end>", "STOP"])
    assert m.feed("abc </e") == "abc "
    assert m.feed("nd> more") == ""
    assert m.stopped
    assert m.feed("anything") == ""
    assert m.flush() == ""


def test_stop_matcher_releases_held_text_when_no_stop_comes() -> None:
    m = StopMatcher(["STOP"])
    assert m.feed("go ST") == "go "
    assert m.feed("A") == "STA"  # no longer a possible start of STOP
    assert m.feed(" and ST") == " and "
    assert m.flush() == "ST"  # the text ended: what was held is text after all
    assert not m.stopped


def test_no_stops_is_a_pass_through() -> None:
    m = StopMatcher(None)
    assert m.feed("x") == "x"
    assert m.flush() == ""


@given(
    text=st.text(alphabet="abSTOP ", max_size=40),
    cuts=st.lists(st.integers(min_value=0, max_value=40), max_size=6),
)
def test_stop_matcher_equals_cutting_the_whole_text(text: str, cuts: list[int]) -> None:
    """However the text is split into chunks, the output is the text up to the stop."""
    stops = ["STOP", "ab"]
    points = sorted({min(c, len(text)) for c in cuts})
    pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    m = StopMatcher(stops)
    out = "".join(m.feed(p) for p in pieces) + m.flush()
    ends = [i for i in (text.find(s) for s in stops) if i >= 0]
    assert out == (text[: min(ends)] if ends else text)
    assert m.stopped == bool(ends)
