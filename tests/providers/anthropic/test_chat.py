"""Chat through the Anthropic adapter: our request → the Messages API payload, the Message
answer → ours.

Every request here goes through `validating_transport`, so each payload also validates
against the official SDK's `MessageCreateParams` types.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

import conduit
from conduit.core.protocols import Capabilities
from conduit.errors import APIConnectionError, AuthenticationError, ValidationError
from conduit.providers.anthropic import (
    ANTHROPIC_VERSION,
    DEFAULT_MAX_TOKENS,
    AnthropicChatModel,
    build_messages_payload,
    messages_to_wire,
    parse_message_response,
)
from conduit.providers.anthropic.response import parse_tool_use
from conduit.providers.registry import get_provider
from conduit.schema import (
    AudioBlock,
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
from tests.providers.anthropic.conftest import (
    TEST_KEY,
    assert_valid_anthropic_request,
    chat_model,
    headers_of,
    load_fixture,
    reply,
)

WEATHER = Tool(
    name="get_weather",
    description="Current weather for a city",
    parameters={
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "The city and state"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["location"],
    },
)
TIME = Tool(name="get_time", parameters={"type": "object", "properties": {"timezone": {}}})
PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "born": {"type": "integer"}},
    "required": ["name", "born"],
}
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n fake image").decode()


async def _sent(
    options: ChatOptions | None = None,
    messages: Any = "Hi",
    fixture: str = "message_text",
    **config: Any,
) -> dict[str, Any]:
    """The body the model sends for `messages` and `options`."""
    model, transport = chat_model(reply(fixture), **config)
    await model.chat(messages, options)
    assert len(transport.requests) == 1
    body: dict[str, Any] = transport.requests[0].json()
    return body


# ------------------------------------------------------------------------ plain chat


async def test_plain_chat_text_usage_and_request() -> None:
    model, transport = chat_model(reply("message_text"))
    response = await model.chat("Hello")

    assert response.text == "Hello! How can I help you today?"
    assert response.id == "msg_013Zva2CMHLNnXjNJJKqJ2EF"
    assert response.model == "claude-sonnet-4-5-20250929"
    assert response.provider == "anthropic"
    assert response.stop_reason == "end_turn"
    assert response.tool_calls == []
    assert response.duration is not None
    assert response.duration >= 0
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (12, 12, 24)
    assert (usage.cache_read_tokens, usage.cache_creation_tokens) == (0, 0)

    [request] = transport.requests
    assert request.method == "POST"
    assert request.url == "https://api.anthropic.com/v1/messages"
    assert request.json() == {
        "model": "claude-sonnet-4-5",
        "max_tokens": DEFAULT_MAX_TOKENS,
        "messages": [{"role": "user", "content": "Hello"}],
    }
    headers = headers_of(request)
    assert headers["x-api-key"] == TEST_KEY
    assert headers["anthropic-version"] == ANTHROPIC_VERSION == "2023-06-01"
    assert headers["content-type"] == "application/json"
    assert "authorization" not in headers


async def test_usage_with_prompt_caching() -> None:
    model, _ = chat_model(reply("message_cached"))
    usage = (await model.chat("What does the contract say about termination?")).usage
    # Anthropic's input_tokens (14) leaves out both cache counts; ours is the whole prompt.
    assert usage.cache_read_tokens == 2048
    assert usage.cache_creation_tokens == 248
    assert usage.input_tokens == 14 + 2048 + 248
    assert usage.output_tokens == 36
    assert usage.total_tokens == usage.input_tokens + 36


@pytest.mark.parametrize(
    ("fixture", "stop_reason"),
    [
        ("message_text", "end_turn"),
        ("message_max_tokens", "max_tokens"),
        ("message_stop_sequence", "stop_sequence"),
        ("message_tool_use", "tool_use"),
        ("message_refusal", "content_filter"),
    ],
)
async def test_stop_reasons(fixture: str, stop_reason: str) -> None:
    model, _ = chat_model(reply(fixture))
    assert (await model.chat("Hi")).stop_reason == stop_reason


@pytest.mark.parametrize(
    ("finish", "expected"),
    [("model_context_window_exceeded", "max_tokens"), ("pause_turn", None), (None, None)],
)
async def test_other_stop_reasons(finish: str | None, expected: str | None) -> None:
    data = load_fixture("message_text")
    data["stop_reason"] = finish
    model, _ = chat_model(reply(data))
    assert (await model.chat("Hi")).stop_reason == expected


async def test_refusal_has_no_text() -> None:
    model, _ = chat_model(reply("message_refusal"))
    response = await model.chat("Something not allowed")
    assert response.content == []
    assert response.text == ""


async def test_thinking_blocks_are_skipped() -> None:
    model, _ = chat_model(reply("message_thinking"))
    response = await model.chat("What is 27 * 453?")
    assert response.text == "27 × 453 = 12,231."
    assert [b.type for b in response.content] == ["text"]


async def test_unknown_blocks_are_skipped_and_text_blocks_kept_apart() -> None:
    data = load_fixture("message_text")
    data["content"] = [
        {"type": "text", "text": "One."},
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}},
        {"type": "text", "text": ""},
        {"type": "text", "text": " Two."},
    ]
    model, _ = chat_model(reply(data))
    response = await model.chat("Hi")
    assert [b.text for b in response.content if isinstance(b, TextBlock)] == ["One.", " Two."]
    assert response.text == "One. Two."


def test_sync_twin() -> None:
    model, transport = chat_model(reply("message_text"))
    response = model.chat_sync("Hello", temperature=0.3)
    assert response.text == "Hello! How can I help you today?"
    assert transport.requests[0].json()["temperature"] == 0.3


# ---------------------------------------------------------------------- options


async def test_generation_options() -> None:
    body = await _sent(ChatOptions(temperature=0.2, top_p=0.9, max_tokens=300, stop=["END"]))
    assert body["temperature"] == 0.2
    assert body["top_p"] == 0.9
    assert body["max_tokens"] == 300
    assert body["stop_sequences"] == ["END"]
    assert "stop" not in body


async def test_seed_is_not_sent() -> None:
    body = await _sent(ChatOptions(seed=7))
    assert "seed" not in body


async def test_default_max_tokens_is_configurable() -> None:
    body = await _sent(default_max_tokens=1000)
    assert body["max_tokens"] == 1000
    with pytest.raises(ValidationError, match="default_max_tokens"):
        AnthropicChatModel("claude", api_key=TEST_KEY, default_max_tokens=0)


async def test_extra_is_merged_last() -> None:
    body = await _sent(
        ChatOptions(
            extra={"top_k": 5, "metadata": {"user_id": "u-1"}, "thinking": {"type": "disabled"}}
        )
    )
    assert body["top_k"] == 5
    assert body["metadata"] == {"user_id": "u-1"}
    assert body["thinking"] == {"type": "disabled"}


async def test_keyword_options() -> None:
    model, transport = chat_model(reply("message_text"))
    await model.chat("Hi", max_tokens=10)
    assert transport.requests[0].json()["max_tokens"] == 10


# ------------------------------------------------------------- system, multi-turn


async def test_system_prompt_goes_to_the_top_level() -> None:
    body = await _sent(messages=[system("You are a pirate."), user("Hi")])
    assert body["system"] == "You are a pirate."
    assert body["messages"] == [{"role": "user", "content": "Hi"}]


async def test_several_system_messages_are_hoisted_in_order() -> None:
    messages = [
        system("You are a pirate."),
        user("Hi"),
        assistant("Arr!"),
        Message(role="system", content=[TextBlock(text="Answer in one word.")]),
        user("Again"),
    ]
    body = await _sent(messages=messages)
    assert body["system"] == [
        {"type": "text", "text": "You are a pirate."},
        {"type": "text", "text": "Answer in one word."},
    ]
    assert [t["role"] for t in body["messages"]] == ["user", "assistant", "user"]


async def test_multi_turn_conversation() -> None:
    messages = [
        {"role": "user", "content": "Hello there."},
        {"role": "assistant", "content": "Hi, I'm Claude. How can I help you?"},
        {"role": "user", "content": "Can you explain LLMs in plain English?"},
    ]
    body = await _sent(messages=messages)
    assert body["messages"] == messages


async def test_consecutive_same_role_messages_merge() -> None:
    body = await _sent(
        messages=[user("First."), user("Second."), assistant("A."), assistant("B."), user("C")]
    )
    assert body["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "First."}, {"type": "text", "text": "Second."}],
        },
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "A."}, {"type": "text", "text": "B."}],
        },
        {"role": "user", "content": "C"},
    ]


async def test_empty_assistant_turns_are_left_out() -> None:
    body = await _sent(messages=[user("Hi"), assistant(), user("Still there?")])
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Hi"},
                {"type": "text", "text": "Still there?"},
            ],
        }
    ]


async def test_prefill_final_assistant_turn() -> None:
    body = await _sent(messages=[user("Greek name for Sun?"), assistant("The best answer is (")])
    assert body["messages"][-1] == {"role": "assistant", "content": "The best answer is ("}


# ------------------------------------------------------------------------ images


async def test_image_input_base64_and_url() -> None:
    message = user(
        "Compare these.",
        ImageBlock(data=PNG, media_type="image/png", detail="high"),
        ImageBlock(url="https://upload.wikimedia.org/ant.jpg"),
    )
    body = await _sent(messages=[message])
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Compare these."},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                },
                {
                    "type": "image",
                    "source": {"type": "url", "url": "https://upload.wikimedia.org/ant.jpg"},
                },
            ],
        }
    ]


async def test_data_url_image_becomes_base64() -> None:
    body = await _sent(messages=[user(ImageBlock(url=f"data:image/webp;base64,{PNG}"))])
    [block] = body["messages"][0]["content"]
    assert block["source"] == {"type": "base64", "media_type": "image/webp", "data": PNG}


@pytest.mark.parametrize(
    ("block", "match"),
    [
        (ImageBlock(data=PNG, media_type="image/tiff"), "image/tiff"),
        (ImageBlock(url="data:image/png,rawbytes"), "base64"),
        (AudioBlock(data="AAAA", format="wav"), "audio"),
    ],
)
async def test_unsupported_content_fails_before_sending(block: Any, match: str) -> None:
    model, transport = chat_model(reply("message_text"))
    with pytest.raises(ValidationError, match=match):
        await model.chat([user("Look", block)])
    assert transport.requests == []


@pytest.mark.parametrize("role", ["assistant", "system"])
async def test_images_only_in_user_turns(role: str) -> None:
    model, transport = chat_model(reply("message_text"))
    message = Message(role=role, content=[TextBlock(text="x"), ImageBlock(url="https://x.test/a")])
    with pytest.raises(ValidationError, match="only in user and tool messages"):
        await model.chat([user("Hi"), message, user("Ok")])
    assert transport.requests == []


# ------------------------------------------------------------------------- tools


async def test_tool_definitions_and_default_choice() -> None:
    body = await _sent(ChatOptions(tools=[WEATHER, TIME]))
    assert body["tools"] == [
        {
            "name": "get_weather",
            "input_schema": WEATHER.parameters,
            "description": "Current weather for a city",
        },
        {"name": "get_time", "input_schema": TIME.parameters},
    ]
    assert "tool_choice" not in body


async def test_strict_tools_keep_the_flag() -> None:
    strict = Tool(name="lookup", parameters={"type": "object"}, strict=True)
    body = await _sent(ChatOptions(tools=[strict]))
    assert body["tools"][0]["strict"] is True


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", {"type": "auto"}),
        ("required", {"type": "any"}),
        ("none", {"type": "none"}),
        ("get_weather", {"type": "tool", "name": "get_weather"}),
    ],
)
async def test_tool_choice(choice: str, wire: dict[str, Any]) -> None:
    body = await _sent(ChatOptions(tools=[WEATHER], tool_choice=choice))
    assert body["tool_choice"] == wire


async def test_tool_call_response() -> None:
    model, _ = chat_model(reply("message_tool_use"))
    response = await model.chat("Weather in SF and Paris?", tools=[WEATHER])
    assert response.stop_reason == "tool_use"
    assert response.text == "I'll check the weather in both cities."
    first, second = response.tool_calls
    assert first.id == "toolu_01A09q90qw90lq917835lq9"
    assert first.name == "get_weather"
    assert first.arguments == {"location": "San Francisco, CA", "unit": "celsius"}
    assert first.function.invalid_arguments is False
    assert second.arguments["location"] == "Paris, France"


async def test_tool_result_round_trip() -> None:
    """The answer with tool calls goes back as an assistant turn; our tool messages become
    one user turn of tool_result blocks (before the user's follow-up text)."""
    model, transport = chat_model(reply("message_tool_use"))
    first = await model.chat("Weather in SF and Paris?", tools=[WEATHER])
    answers = {"San Francisco, CA": "15°C, foggy", "Paris, France": "18°C, sunny"}
    history = [
        system("Be brief."),
        user("Weather in SF and Paris?"),
        first.to_message(),
        *[tool_result(c.id, answers[c.arguments["location"]]) for c in first.tool_calls],
        user("And in Fahrenheit?"),
    ]

    model2, transport2 = chat_model(reply("message_after_tool"))
    final = await model2.chat(history, tools=[WEATHER])
    assert final.text == "It is 15°C in San Francisco and 18°C in Paris."

    body = transport2.requests[0].json()
    assert body["system"] == "Be brief."
    assert body["messages"] == [
        {"role": "user", "content": "Weather in SF and Paris?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "I'll check the weather in both cities."},
                {
                    "type": "tool_use",
                    "id": "toolu_01A09q90qw90lq917835lq9",
                    "name": "get_weather",
                    "input": {"location": "San Francisco, CA", "unit": "celsius"},
                },
                {
                    "type": "tool_use",
                    "id": "toolu_01B7jhNx5wTVqhRhDzZ5FQmP",
                    "name": "get_weather",
                    "input": {"location": "Paris, France", "unit": "celsius"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_01A09q90qw90lq917835lq9",
                    "content": "15°C, foggy",
                },
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_01B7jhNx5wTVqhRhDzZ5FQmP",
                    "content": "18°C, sunny",
                },
                {"type": "text", "text": "And in Fahrenheit?"},
            ],
        },
    ]
    assert len(transport.requests) == 1


async def test_tool_results_come_before_text_in_a_user_turn() -> None:
    call = ToolCall(id="toolu_1", function=FunctionCall.from_arguments("get_time", {}))
    _, turns = messages_to_wire(
        [user("Time?"), assistant(tool_calls=[call]), user("(quick)"), tool_result("toolu_1", "9")]
    )
    assert [b["type"] for b in turns[-1]["content"]] == ["tool_result", "text"]


async def test_tool_result_with_blocks() -> None:
    result = Message(
        role="tool",
        tool_call_id="toolu_1",
        content=[TextBlock(text="Here it is:"), ImageBlock(data=PNG, media_type="image/png")],
    )
    call = ToolCall(id="toolu_1", function=FunctionCall.from_arguments("screenshot", {}))
    body = await _sent(messages=[user("Screenshot?"), assistant(tool_calls=[call]), result])
    [block] = body["messages"][-1]["content"]
    assert block["type"] == "tool_result"
    assert [b["type"] for b in block["content"]] == ["text", "image"]


async def test_replayed_call_with_invalid_arguments_sends_an_empty_input() -> None:
    call = ToolCall(id="toolu_9", function=FunctionCall.from_raw("get_time", '{"tz": '))
    assert call.function.invalid_arguments
    body = await _sent(
        messages=[user("Time?"), assistant(tool_calls=[call]), tool_result("toolu_9", "?")]
    )
    assert body["messages"][1]["content"][0]["input"] == {}


def test_invalid_tool_arguments_are_kept_raw_and_flagged() -> None:
    """`input` should be an object; anything else is kept raw and flagged, never dropped."""
    raw = parse_tool_use({"type": "tool_use", "id": "t1", "name": "f", "input": '{"a": 1'})
    assert raw.function.invalid_arguments is True
    assert raw.function.raw_arguments == '{"a": 1'
    assert raw.arguments == {}
    listed = parse_tool_use({"type": "tool_use", "id": "t2", "name": "f", "input": [1, 2]})
    assert listed.function.invalid_arguments is True
    assert listed.function.raw_arguments == "[1,2]"


async def test_tool_call_with_invalid_input_through_chat() -> None:
    data = load_fixture("message_tool_use")
    data["content"][1]["input"] = "not json"
    model, _ = chat_model(reply(data))
    response = await model.chat("Weather?")
    call = response.tool_calls[0]
    assert call.function.invalid_arguments
    assert call.function.raw_arguments == "not json"


# ---------------------------------------------------------------- JSON output


async def test_json_schema_output_through_a_forced_tool() -> None:
    model, transport = chat_model(reply("message_json"))
    fmt = ResponseFormat.from_schema("person", PERSON)
    response = await model.chat("Who wrote the first program?", response_format=fmt)

    body = transport.requests[0].json()
    [tool] = body["tools"]
    assert tool["name"] == "person"
    assert tool["input_schema"] == PERSON
    assert "strict" not in tool
    assert body["tool_choice"] == {"type": "tool", "name": "person"}

    assert response.text == '{"name":"Ada Lovelace","born":1815}'
    assert json.loads(response.text) == {"name": "Ada Lovelace", "born": 1815}
    assert response.tool_calls == []
    assert response.stop_reason == "end_turn"


async def test_json_schema_that_is_not_an_object_is_wrapped() -> None:
    model, transport = chat_model(reply("message_json_wrapped"))
    schema = {
        "type": "array",
        "items": {"$ref": "#/$defs/prime"},
        "$defs": {"prime": {"type": "integer"}},
    }
    fmt = ResponseFormat.from_schema("numbers", schema)
    response = await model.chat("The first four primes", response_format=fmt)
    [tool] = transport.requests[0].json()["tools"]
    assert tool["input_schema"] == {
        "type": "object",
        "properties": {"value": {"type": "array", "items": {"$ref": "#/$defs/prime"}}},
        "required": ["value"],
        "$defs": {"prime": {"type": "integer"}},
    }
    assert response.text == "[2,3,5,7]"


async def test_json_object_output() -> None:
    data = load_fixture("message_json")
    data["content"][0]["name"] = "json_response"
    model, transport = chat_model(reply(data))
    response = await model.chat("A person as JSON", response_format={"type": "json_object"})
    body = transport.requests[0].json()
    assert body["tools"][0]["name"] == "json_response"
    assert body["tools"][0]["input_schema"] == {"type": "object"}
    assert json.loads(response.text)["born"] == 1815


async def test_text_response_format_changes_nothing() -> None:
    body = await _sent(ChatOptions(response_format=ResponseFormat(type="text")))
    assert "tools" not in body


async def test_json_output_with_tools_lets_the_model_call_either() -> None:
    model, transport = chat_model(reply("message_tool_use"))
    fmt = ResponseFormat.from_schema("person", PERSON)
    response = await model.chat("Hi", tools=[WEATHER], tool_choice="auto", response_format=fmt)
    body = transport.requests[0].json()
    assert [t["name"] for t in body["tools"]] == ["get_weather", "person"]
    assert body["tool_choice"] == {"type": "any"}
    # The model called the caller's tool: a normal tool-use answer.
    assert response.stop_reason == "tool_use"
    assert len(response.tool_calls) == 2


async def test_json_output_replaces_preamble_text() -> None:
    data = load_fixture("message_json")
    data["content"].insert(0, {"type": "text", "text": "Here you go:"})
    model, _ = chat_model(reply(data))
    fmt = ResponseFormat.from_schema("person", PERSON)
    response = await model.chat("Hi", response_format=fmt)
    assert response.text == '{"name":"Ada Lovelace","born":1815}'


@pytest.mark.parametrize("choice", ["none", "get_weather"])
async def test_json_output_conflicts_with_other_tool_choices(choice: str) -> None:
    model, transport = chat_model(reply("message_json"))
    fmt = ResponseFormat.from_schema("person", PERSON)
    with pytest.raises(ValidationError, match="tool_choice"):
        await model.chat("Hi", tools=[WEATHER], tool_choice=choice, response_format=fmt)
    assert transport.requests == []


async def test_json_output_tool_name_must_not_clash() -> None:
    model, transport = chat_model(reply("message_json"))
    fmt = ResponseFormat.from_schema("get_weather", PERSON)
    with pytest.raises(ValidationError, match="another name"):
        await model.chat("Hi", tools=[WEATHER], response_format=fmt)
    assert transport.requests == []


def test_json_output_tool_name_is_made_safe() -> None:
    fmt = ResponseFormat.from_schema("my person.v2!", PERSON)
    body = build_messages_payload("claude", [user("Hi")], ChatOptions(response_format=fmt))
    assert body["tools"][0]["name"] == "my_person_v2_"
    assert body["tool_choice"]["name"] == "my_person_v2_"
    assert_valid_anthropic_request(body)


def test_wrapped_output_that_does_not_parse_is_kept() -> None:
    from conduit.providers.anthropic import JSONOutput
    from conduit.providers.anthropic.response import output_text

    out = JSONOutput("numbers", {}, wrapped=True)
    assert output_text('{"value": [1', out) == '{"value": [1'
    assert output_text('{"other": 1}', out) == '{"other": 1}'
    assert output_text('{"value": null}', out) == "null"


# ---------------------------------------------------------------- prompt caching


async def test_cache_control_marks_tools_system_and_the_last_message() -> None:
    marker = {"type": "ephemeral", "ttl": "1h"}
    body = await _sent(
        ChatOptions(tools=[WEATHER, TIME], extra={"cache_control": marker}),
        messages=[
            system("A long, stable system prompt."),
            user("Question one"),
            assistant("A"),
            user("Two"),
        ],
    )
    assert "cache_control" not in body
    assert "cache_control" not in body["tools"][0]
    assert body["tools"][-1]["cache_control"] == marker
    assert body["system"] == [
        {"type": "text", "text": "A long, stable system prompt.", "cache_control": marker}
    ]
    assert body["messages"][-1] == {
        "role": "user",
        "content": [{"type": "text", "text": "Two", "cache_control": marker}],
    }
    assert body["messages"][0] == {"role": "user", "content": "Question one"}
    # The tool definition itself is not changed.
    assert "cache_control" not in WEATHER.parameters


async def test_cache_control_on_block_content_without_tools_or_system() -> None:
    body = await _sent(
        ChatOptions(extra={"cache_control": {"type": "ephemeral"}}),
        messages=[user("Describe", ImageBlock(data=PNG, media_type="image/png"))],
    )
    assert "system" not in body
    assert "tools" not in body
    content = body["messages"][0]["content"]
    assert "cache_control" not in content[0]
    assert content[-1]["cache_control"] == {"type": "ephemeral"}


async def test_cache_control_on_a_list_system_prompt() -> None:
    body = await _sent(
        ChatOptions(extra={"cache_control": {"type": "ephemeral"}}),
        messages=[system("One."), system("Two."), user("Hi")],
    )
    assert body["system"] == [
        {"type": "text", "text": "One."},
        {"type": "text", "text": "Two.", "cache_control": {"type": "ephemeral"}},
    ]


# ------------------------------------------------------------ construction, keys


def test_model_from_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env-0123456789")
    model = conduit.model("anthropic/claude-sonnet-4-5")
    assert isinstance(model, AnthropicChatModel)
    assert model.model_info.ref == "anthropic/claude-sonnet-4-5"
    assert model.model_info.capabilities.vision is True
    assert model.base_url == "https://api.anthropic.com/v1"
    assert "sk-ant-from-env" not in repr(model)


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(AuthenticationError, match="ANTHROPIC_API_KEY"):
        AnthropicChatModel("claude-sonnet-4-5")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ("https://proxy.example.test", "https://proxy.example.test/v1"),
        ("https://proxy.example.test/", "https://proxy.example.test/v1"),
        ("http://127.0.0.1:4000/v1", "http://127.0.0.1:4000/v1"),
    ],
)
def test_base_url_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: str, expected: str
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", env)
    # A gateway may hold the key itself: none is required then.
    assert AnthropicChatModel("claude").base_url == expected


async def test_explicit_base_url_and_headers() -> None:
    model, transport = chat_model(
        reply("message_text"),
        base_url="http://127.0.0.1:8080/v1/",
        headers={"anthropic-beta": "context-1m-2025-08-07"},
        api_key=None,
    )
    await model.chat("Hi")
    [request] = transport.requests
    assert request.url == "http://127.0.0.1:8080/v1/messages"
    headers = headers_of(request)
    assert headers["anthropic-beta"] == "context-1m-2025-08-07"
    assert "x-api-key" not in headers


def test_bad_base_urls() -> None:
    with pytest.raises(ValidationError, match="http"):
        AnthropicChatModel("claude", api_key=TEST_KEY, base_url="api.anthropic.com")
    from conduit.providers.registry import ProviderSpec

    bare = ProviderSpec("bare-anthropic", key_required=False)
    with pytest.raises(ValidationError, match="needs base_url"):
        AnthropicChatModel("claude", provider=bare)


def test_capabilities_and_provider_spec() -> None:
    spec = get_provider("anthropic")
    model = AnthropicChatModel(
        "claude", provider=spec, api_key=TEST_KEY, capabilities=Capabilities(tools=False)
    )
    assert model.model_info.capabilities.tools is False


async def test_default_transport_is_aiohttp_and_closes() -> None:
    model = AnthropicChatModel("claude", api_key=TEST_KEY)
    from conduit.transport.aiohttp_transport import AiohttpTransport

    assert isinstance(model._client.transport, AiohttpTransport)
    await model.aclose()


async def test_async_context_manager_closes_the_transport() -> None:
    model, transport = chat_model(reply("message_text"))
    async with model:
        await model.chat("Hi")
    assert transport.closed


# ----------------------------------------------------------------- odd answers


async def test_answer_that_is_not_a_message() -> None:
    model, _ = chat_model(reply({"choices": []}))
    with pytest.raises(APIConnectionError, match="not a message"):
        await model.chat("Hi")


async def test_answer_with_fields_of_the_wrong_type() -> None:
    model, _ = chat_model(reply({"content": ["just a string"]}))
    with pytest.raises(APIConnectionError, match="wrong type"):
        await model.chat("Hi")
    data = load_fixture("message_text")
    data["usage"]["output_tokens"] = -1
    model, _ = chat_model(reply(data))
    with pytest.raises(APIConnectionError, match="wrong type"):
        await model.chat("Hi")


def test_parse_message_response_redacts_its_excerpt() -> None:
    with pytest.raises(APIConnectionError) as info:
        parse_message_response(
            {"echo": "secret-value"},
            provider="anthropic",
            redact=lambda text: text.replace("secret-value", "[REDACTED]"),
        )
    assert "secret-value" not in str(info.value)


def test_payload_method_matches_what_is_sent() -> None:
    model = AnthropicChatModel("claude-haiku-4-5", api_key=TEST_KEY)
    body = model.payload([user("Hi")], ChatOptions(), stream=True)
    assert body["stream"] is True
    assert_valid_anthropic_request(body)


def test_parse_message_response_without_a_redactor() -> None:
    with pytest.raises(APIConnectionError, match="not a message"):
        parse_message_response([], provider="anthropic")


def test_package_exports_exactly_its_public_names() -> None:
    from types import ModuleType

    import conduit.providers.anthropic as package

    public = {
        name
        for name, value in vars(package).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    }
    assert package.__all__ == sorted(public)
