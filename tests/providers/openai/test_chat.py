"""Chat through the OpenAI adapter: our request → the wire payload, the wire answer → ours.

Every request here goes through `validating_transport`, so each payload also validates
against the official SDK's `CompletionCreateParams` types.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

import conduit
from conduit.core.protocols import Capabilities
from conduit.errors import APIConnectionError, ValidationError
from conduit.providers.openai import (
    OpenAIChatModel,
    build_chat_payload,
    message_to_wire,
    parse_chat_response,
)
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
from conduit.transport import HTTPRequest, HTTPResponse, json_response
from tests.providers.openai.conftest import (
    TEST_KEY,
    chat_model,
    headers_of,
    load_fixture,
    reply,
    validating_transport,
)

WEATHER = Tool(
    name="get_weather",
    description="Current weather for a city",
    parameters={
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
    strict=True,
)
TIME = Tool(name="get_time", parameters={"type": "object", "properties": {"timezone": {}}})


async def _sent(
    options: ChatOptions | None = None, messages: Any = "Hi", **config: Any
) -> dict[str, Any]:
    """The body the model sends for `messages` and `options`."""
    model, transport = chat_model(reply("chat_completion_text"), **config)
    await model.chat(messages, options)
    assert len(transport.requests) == 1
    body: dict[str, Any] = transport.requests[0].json()
    return body


# ------------------------------------------------------------------------ plain chat


async def test_plain_chat_text_usage_and_request() -> None:
    model, transport = chat_model(reply("chat_completion_text"))
    response = await model.chat("Hello")

    assert response.text == "Hello! How can I help you today?"
    assert response.extract_content() == response.text
    assert response.id == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    assert response.model == "gpt-4o-2024-08-06"
    assert response.provider == "openai"
    assert response.stop_reason == "end_turn"
    assert response.tool_calls == []
    assert response.duration is not None
    assert response.duration >= 0
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (1200, 10, 1210)
    assert usage.cache_read_tokens == 1024
    assert usage.cache_creation_tokens == 0

    [request] = transport.requests
    assert request.method == "POST"
    assert request.url == "https://api.openai.com/v1/chat/completions"
    assert request.json() == {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}


@pytest.mark.parametrize(
    ("fixture", "stop_reason"),
    [
        ("chat_completion_text", "end_turn"),
        ("chat_completion_length", "max_tokens"),
        ("chat_completion_tool_calls", "tool_use"),
        ("chat_completion_content_filter", "content_filter"),
    ],
)
async def test_stop_reasons(fixture: str, stop_reason: str) -> None:
    model, _ = chat_model(reply(fixture))
    response = await model.chat("Hi")
    assert response.stop_reason == stop_reason


async def test_content_filter_answer_has_no_text() -> None:
    model, _ = chat_model(reply("chat_completion_content_filter"))
    response = await model.chat("Hi")
    assert response.content == []
    assert response.text == ""


@pytest.mark.parametrize(
    ("finish", "expected"),
    [("function_call", "tool_use"), (None, None), ("eos_token", None)],
)
async def test_other_finish_reasons(finish: str | None, expected: str | None) -> None:
    data = load_fixture("chat_completion_text")
    data["choices"][0]["finish_reason"] = finish  # legacy, missing, or a compatible server's own
    model, _ = chat_model(reply(data))
    assert (await model.chat("Hi")).stop_reason == expected


async def test_refusal_becomes_the_text() -> None:
    model, _ = chat_model(reply("chat_completion_refusal"))
    response = await model.chat("Something not allowed")
    assert response.text == "I'm sorry, I can't help with that."
    assert response.stop_reason == "end_turn"


async def test_minimal_compatible_answer_without_usage() -> None:
    # Some compatible servers leave out usage, id and finish_reason.
    data = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]}
    model, _ = chat_model(reply(data))
    response = await model.chat("Hi")
    assert response.text == "ok"
    assert response.id == ""
    assert response.model == ""
    assert response.usage.total_tokens == 0
    assert response.stop_reason is None


@pytest.mark.parametrize(
    "body",
    [
        {"object": "list", "data": []},
        {"choices": []},
        {"choices": [{"index": 0, "message": None, "finish_reason": "stop"}]},
        {"choices": "nope"},
        [1, 2, 3],
    ],
)
async def test_a_body_that_is_not_a_completion(body: Any) -> None:
    model, _ = chat_model(reply(body))
    with pytest.raises(APIConnectionError, match="not a chat completion"):
        await model.chat("Hi")


async def test_a_completion_with_fields_of_the_wrong_type() -> None:
    body = {
        "id": 12345,  # a string in the API reference
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}}],
        "usage": {"prompt_tokens": -3, "completion_tokens": 1},
    }
    model, _ = chat_model(reply(body))
    with pytest.raises(APIConnectionError, match="fields of the wrong type") as info:
        await model.chat("Hi")
    assert "Response.id" in str(info.value)


async def test_a_body_that_is_not_json() -> None:
    model, _ = chat_model(lambda request: HTTPResponse(200, {}, b"<html>gateway</html>"))
    with pytest.raises(APIConnectionError, match="not valid JSON"):
        await model.chat("Hi")


# ---------------------------------------------------------------- system, multi-turn


async def test_system_and_multi_turn_messages() -> None:
    body = await _sent(
        messages=[
            system("Be brief."),
            user("Hi"),
            assistant("Hello! How can I help?"),
            user("What is 2 + 2?"),
        ]
    )
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "What is 2 + 2?"},
    ]


async def test_messages_as_openai_dicts_and_names() -> None:
    body = await _sent(
        messages=[
            {"role": "system", "content": "Be brief.", "name": "setup"},
            {"role": "user", "content": "Hi", "name": "ada"},
        ]
    )
    assert body["messages"] == [
        {"role": "system", "content": "Be brief.", "name": "setup"},
        {"role": "user", "content": "Hi", "name": "ada"},
    ]


async def test_text_blocks_are_sent_as_a_string() -> None:
    body = await _sent(
        messages=[Message(role="user", content=[TextBlock(text="Hel"), TextBlock(text="lo")])]
    )
    assert body["messages"] == [{"role": "user", "content": "Hello"}]


async def test_previous_answer_appended_with_to_message() -> None:
    model, transport = chat_model(reply("chat_completion_text"))
    first = await model.chat("Hi")
    await model.chat([user("Hi"), first.to_message(), user("And then?")])
    assert transport.requests[1].json()["messages"][1] == {
        "role": "assistant",
        "content": "Hello! How can I help you today?",
    }


# --------------------------------------------------------------------------- tools


async def test_tool_definitions() -> None:
    body = await _sent(ChatOptions(tools=[WEATHER, TIME]))
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": WEATHER.parameters,
                "description": "Current weather for a city",
                "strict": True,
            },
        },
        # No description, no strict: neither key is sent.
        {"type": "function", "function": {"name": "get_time", "parameters": TIME.parameters}},
    ]
    assert "tool_choice" not in body


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("get_weather", {"type": "function", "function": {"name": "get_weather"}}),
    ],
)
async def test_tool_choice(choice: str, wire: Any) -> None:
    body = await _sent(ChatOptions(tools=[WEATHER], tool_choice=choice))
    assert body["tool_choice"] == wire


async def test_parallel_tool_calls_and_the_round_trip() -> None:
    answers = iter(
        [load_fixture("chat_completion_tool_calls"), load_fixture("chat_completion_after_tool")]
    )
    model, transport = chat_model(lambda request: json_response(next(answers)))

    first = await model.chat("Weather in Paris and Tokyo?", tools=[WEATHER], tool_choice="auto")
    assert first.stop_reason == "tool_use"
    assert first.text == ""
    assert [(c.id, c.name, c.arguments) for c in first.tool_calls] == [
        ("call_Pa9dRq1cXj2LmN3oB4vT5wZy", "get_weather", {"city": "Paris", "unit": "celsius"}),
        ("call_Qb8eSr2dYk3MoP4pC5wU6xAz", "get_weather", {"city": "Tokyo", "unit": "celsius"}),
    ]
    assert not any(c.function.invalid_arguments for c in first.tool_calls)

    history = [
        user("Weather in Paris and Tokyo?"),
        first.to_message(),
        tool_result(first.tool_calls[0].id, "18°C"),
        tool_result(first.tool_calls[1].id, "24°C"),
    ]
    second = await model.chat(history, tools=[WEATHER])
    assert second.text == "It is 18°C in Paris and 24°C in Tokyo."

    sent = transport.requests[1].json()["messages"]
    wire_calls = load_fixture("chat_completion_tool_calls")["choices"][0]["message"]["tool_calls"]
    # The assistant turn goes back exactly as it came: ids, names, raw argument strings.
    assert sent[1] == {"role": "assistant", "content": None, "tool_calls": wire_calls}
    assert sent[2] == {
        "role": "tool",
        "content": "18°C",
        "tool_call_id": "call_Pa9dRq1cXj2LmN3oB4vT5wZy",
    }
    assert sent[3] == {
        "role": "tool",
        "content": "24°C",
        "tool_call_id": "call_Qb8eSr2dYk3MoP4pC5wU6xAz",
    }


async def test_assistant_text_alongside_tool_calls() -> None:
    call = ToolCall(
        id="call_1", function=FunctionCall.from_arguments("get_time", {"timezone": "UTC"})
    )
    wire = message_to_wire(assistant("Let me check.", tool_calls=[call]))
    assert wire == {
        "role": "assistant",
        "content": "Let me check.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_time", "arguments": '{"timezone":"UTC"}'},
            }
        ],
    }


async def test_tool_message_name_is_not_sent() -> None:
    # OpenAI's tool message has no `name` field.
    message = Message(role="tool", content="42", tool_call_id="call_1", name="calc")
    assert message_to_wire(message) == {"role": "tool", "content": "42", "tool_call_id": "call_1"}


async def test_tool_arguments_that_are_not_json_are_kept_raw() -> None:
    model, transport = chat_model(reply("chat_completion_invalid_arguments"))
    response = await model.chat("Weather?", tools=[WEATHER])
    [call] = response.tool_calls
    assert call.function.invalid_arguments is True
    assert call.function.raw_arguments == '{"city": "Par'
    assert call.arguments == {}
    assert call.name == "get_weather"

    # Sent back as it came: nothing dropped, nothing "fixed".
    await model.chat([user("Weather?"), response.to_message(), tool_result(call.id, "error")])
    sent = transport.requests[1].json()["messages"][1]
    assert sent["tool_calls"][0]["function"]["arguments"] == '{"city": "Par'


@pytest.mark.parametrize(
    ("raw", "invalid", "arguments"),
    [("[1, 2]", True, {}), ('"text"', True, {}), ("", False, {}), ("{}", False, {})],
)
async def test_tool_arguments_edge_cases(
    raw: str, invalid: bool, arguments: dict[str, Any]
) -> None:
    data = load_fixture("chat_completion_invalid_arguments")
    data["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = raw
    model, _ = chat_model(reply(data))
    [call] = (await model.chat("Hi")).tool_calls
    assert (call.function.invalid_arguments, call.arguments, call.function.raw_arguments) == (
        invalid,
        arguments,
        raw,
    )


# -------------------------------------------------------------------------- vision


async def test_image_by_url_with_detail() -> None:
    body = await _sent(
        messages=[
            user(
                "What is in this picture?",
                ImageBlock(url="https://example.com/cat.png", detail="high"),
            )
        ]
    )
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this picture?"},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://example.com/cat.png", "detail": "high"},
                },
            ],
        }
    ]


async def test_image_from_bytes_becomes_a_data_url() -> None:
    raw = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    body = await _sent(messages=[user(ImageBlock.from_bytes(raw, "image/png"), "Describe it.")])
    image, text = body["messages"][0]["content"]
    assert image == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64," + base64.b64encode(raw).decode()},
    }
    assert "detail" not in image["image_url"]
    assert text == {"type": "text", "text": "Describe it."}


# --------------------------------------------------------------------------- audio


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
async def test_input_audio(fmt: str) -> None:
    raw = b"RIFF$\x00\x00\x00WAVEfmt " if fmt == "wav" else b"ID3\x03\x00\x00\x00"
    # gpt-4o-audio-preview: the catalog does not list it, so nothing is refused up front.
    body = await _sent(
        messages=[user("Transcribe this.", AudioBlock.from_bytes(raw, fmt))],
        name="gpt-4o-audio-preview",
    )
    assert body["messages"][0]["content"][1] == {
        "type": "input_audio",
        "input_audio": {"data": base64.b64encode(raw).decode(), "format": fmt},
    }


# ---------------------------------------------------------------------- JSON output


async def test_json_mode() -> None:
    model, transport = chat_model(reply("chat_completion_json"))
    response = await model.chat(
        "Who wrote the first program?", response_format=ResponseFormat(type="json_object")
    )
    assert transport.requests[0].json()["response_format"] == {"type": "json_object"}
    assert response.text == '{"name": "Ada Lovelace", "born": 1815}'


async def test_json_schema_response_format() -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "born": {"type": "integer"}},
        "required": ["name", "born"],
        "additionalProperties": False,
    }
    body = await _sent(ChatOptions(response_format=ResponseFormat.from_schema("person", schema)))
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "person", "schema": schema, "strict": True},
    }


async def test_json_schema_without_name_or_strict() -> None:
    fmt = ResponseFormat(type="json_schema", json_schema={"type": "object"})
    body = await _sent(ChatOptions(response_format=fmt))
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": {"type": "object"}},
    }


async def test_text_response_format() -> None:
    body = await _sent(ChatOptions(response_format=ResponseFormat(type="text")))
    assert body["response_format"] == {"type": "text"}


# ------------------------------------------------------------------------- options


async def test_sampling_options_on_openai() -> None:
    body = await _sent(
        ChatOptions(temperature=0.2, top_p=0.9, max_tokens=64, stop=["\n\n", "END"], seed=42)
    )
    assert body == {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Hi"}],
        "temperature": 0.2,
        "top_p": 0.9,
        "max_completion_tokens": 64,  # OpenAI's current name; `max_tokens` is deprecated
        "stop": ["\n\n", "END"],
        "seed": 42,
    }


async def test_options_as_keywords_and_a_single_stop_string() -> None:
    model, transport = chat_model(reply("chat_completion_text"))
    await model.chat("Hi", temperature=0, stop="END", max_tokens=5)
    body = transport.requests[0].json()
    assert body["temperature"] == 0
    assert body["stop"] == ["END"]
    assert body["max_completion_tokens"] == 5
    assert "max_tokens" not in body


async def test_openai_compatible_uses_max_tokens_and_base_url() -> None:
    model, transport = chat_model(
        reply("chat_completion_text"),
        name="llama-3.1-8b",
        provider="openai-compatible",
        base_url="http://127.0.0.1:8080/v1/",
        api_key=None,
    )
    await model.chat("Hi", max_tokens=64)
    [request] = transport.requests
    assert request.url == "http://127.0.0.1:8080/v1/chat/completions"
    body = request.json()
    assert body["max_tokens"] == 64
    assert "max_completion_tokens" not in body
    assert body["model"] == "llama-3.1-8b"
    assert "authorization" not in headers_of(request)
    assert model.model_info.ref == "openai-compatible/llama-3.1-8b"


async def test_extra_passes_through_and_overrides() -> None:
    body = await _sent(
        ChatOptions(
            temperature=0.9,
            extra={
                "logprobs": True,
                "top_logprobs": 2,
                "parallel_tool_calls": False,
                "user": "user-1234",
                "temperature": 0.1,
            },
        )
    )
    assert body["logprobs"] is True
    assert body["top_logprobs"] == 2
    assert body["parallel_tool_calls"] is False
    assert body["user"] == "user-1234"
    assert body["temperature"] == 0.1  # `extra` is merged last


async def test_extra_with_a_server_specific_parameter() -> None:
    # vLLM's `top_k` is no OpenAI field (so no SDK check here), but passes through.
    model, transport = chat_model(
        reply("chat_completion_text"),
        validate=False,
        provider="openai-compatible",
        base_url="http://127.0.0.1:8000/v1",
    )
    await model.chat("Hi", extra={"top_k": 20, "repetition_penalty": 1.1})
    body = transport.requests[0].json()
    assert (body["top_k"], body["repetition_penalty"]) == (20, 1.1)


async def test_payload_method_matches_what_is_sent() -> None:
    model, transport = chat_model(reply("chat_completion_text"))
    options = ChatOptions(temperature=0.5, tools=[WEATHER], tool_choice="required")
    await model.chat([system("s"), user("u")], options)
    assert (
        model.payload([system("s"), user("u")], options, stream=False)
        == transport.requests[0].json()
    )
    assert build_chat_payload("gpt-4o", [user("u")], options)["tool_choice"] == "required"


# ------------------------------------------------------------------ headers and URLs


async def test_headers_authorization_organization_project() -> None:
    model, transport = chat_model(
        reply("chat_completion_text"),
        organization="org-7Rp2Xq9Lm",
        project="proj_8Yh2Kd0aLm",
        headers={"X-Trace-Id": "trace-1"},
    )
    await model.chat("Hi")
    headers = headers_of(transport.requests[0])
    assert headers["authorization"] == f"Bearer {TEST_KEY}"
    assert headers["openai-organization"] == "org-7Rp2Xq9Lm"
    assert headers["openai-project"] == "proj_8Yh2Kd0aLm"
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "application/json"
    assert headers["x-trace-id"] == "trace-1"


async def test_no_organization_or_project_headers_by_default() -> None:
    model, transport = chat_model(reply("chat_completion_text"))
    await model.chat("Hi")
    headers = headers_of(transport.requests[0])
    assert "openai-organization" not in headers
    assert "openai-project" not in headers


async def test_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-0123456789")
    model, transport = chat_model(reply("chat_completion_text"), api_key=None)
    await model.chat("Hi")
    assert headers_of(transport.requests[0])["authorization"] == "Bearer sk-from-env-0123456789"


async def test_explicit_key_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-0123456789")
    model, transport = chat_model(reply("chat_completion_text"))
    await model.chat("Hi")
    assert headers_of(transport.requests[0])["authorization"] == f"Bearer {TEST_KEY}"


async def test_compatible_key_from_its_own_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", "local-secret-key")
    model, transport = chat_model(
        reply("chat_completion_text"),
        provider="openai-compatible",
        base_url="http://127.0.0.1:9/v1",
        api_key=None,
    )
    await model.chat("Hi")
    assert headers_of(transport.requests[0])["authorization"] == "Bearer local-secret-key"


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        (
            "https://proxy.example.test/openai/v1",
            "https://proxy.example.test/openai/v1/chat/completions",
        ),
        (
            "https://proxy.example.test/openai/v1/",
            "https://proxy.example.test/openai/v1/chat/completions",
        ),
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1/chat/completions"),
    ],
)
async def test_url_building_with_base_url(base_url: str, expected: str) -> None:
    model, transport = chat_model(reply("chat_completion_text"), base_url=base_url)
    await model.chat("Hi")
    assert transport.requests[0].url == expected
    assert model.base_url == expected.removesuffix("/chat/completions")


async def test_openai_with_a_base_url_needs_no_key() -> None:
    model, transport = chat_model(
        reply("chat_completion_text"), base_url="http://127.0.0.1:8080/v1", api_key=None
    )
    await model.chat("Hi")
    assert "authorization" not in headers_of(transport.requests[0])


@pytest.mark.parametrize("base_url", ["ftp://example.test/v1", "api.openai.com/v1"])
def test_base_url_must_be_http(base_url: str) -> None:
    with pytest.raises(ValidationError, match="http"):
        OpenAIChatModel("gpt-4o", api_key=TEST_KEY, base_url=base_url)


def test_compatible_provider_needs_a_base_url() -> None:
    with pytest.raises(ValidationError, match="base_url"):
        OpenAIChatModel("llama", provider="openai-compatible")


# ------------------------------------------------------------- model() and lifecycle


async def test_through_conduit_model() -> None:
    transport = validating_transport(reply("chat_completion_text"))
    model = conduit.model("openai/gpt-4o-mini", api_key=TEST_KEY, transport=transport)
    assert isinstance(model, OpenAIChatModel)
    assert model.model_info.ref == "openai/gpt-4o-mini"
    assert repr(model) == "OpenAIChatModel('openai/gpt-4o-mini')"
    response = await conduit.chat(model, "Hi")
    assert response.text == "Hello! How can I help you today?"
    assert transport.requests[0].json()["model"] == "gpt-4o-mini"


async def test_compatible_through_conduit_model() -> None:
    transport = validating_transport(reply("chat_completion_text"))
    model = conduit.model(
        "openai-compatible/qwen2.5", base_url="http://127.0.0.1:8080/v1", transport=transport
    )
    await model.chat("Hi", max_tokens=3)
    assert transport.requests[0].url == "http://127.0.0.1:8080/v1/chat/completions"
    assert transport.requests[0].json()["max_tokens"] == 3


def test_chat_sync() -> None:
    model, transport = chat_model(reply("chat_completion_text"))
    assert model.chat_sync("Hi").text == "Hello! How can I help you today?"
    assert len(transport.requests) == 1


async def test_capabilities_and_closing() -> None:
    model, transport = chat_model(reply("chat_completion_text"))
    caps = model.model_info.capabilities  # gpt-4o, from the catalog
    assert (caps.vision, caps.audio, caps.tools, caps.streaming) == (True, False, True, True)
    assert model.model_info.context_window == 128_000
    unlisted, _ = chat_model(reply("chat_completion_text"), name="my-finetune")
    assert unlisted.model_info.capabilities.audio  # unlisted: permissive, the server decides
    async with model:
        await model.chat("Hi")
    assert transport.closed

    custom = Capabilities(vision=False, audio=False)
    other, _ = chat_model(reply("chat_completion_text"), capabilities=custom)
    assert other.model_info.capabilities is custom


def test_default_transport_is_aiohttp_and_lazy() -> None:
    # No session, no connection at construction: nothing to close, no warning.
    model = OpenAIChatModel("gpt-4o", api_key=TEST_KEY)
    assert type(model._conn.client.transport).__name__ == "AiohttpTransport"


async def test_async_handler_works_too() -> None:
    async def handler(request: HTTPRequest) -> HTTPResponse:
        return json_response(load_fixture("chat_completion_text"))

    model, _ = chat_model(handler)
    assert (await model.chat("Hi")).stop_reason == "end_turn"


def test_parse_chat_response_on_its_own() -> None:
    data = load_fixture("chat_completion_tool_calls")
    response = parse_chat_response(data, provider="openai", duration=0.5)
    assert (response.duration, len(response.tool_calls)) == (0.5, 2)
    with pytest.raises(APIConnectionError, match="not a chat completion"):
        parse_chat_response({"choices": []}, provider="openai")


async def test_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1")
    model, transport = chat_model(reply("chat_completion_text"))
    await model.chat("Hi")
    assert transport.requests[0].url == "http://127.0.0.1:8080/v1/chat/completions"

    explicit, transport = chat_model(
        reply("chat_completion_text"), base_url="http://127.0.0.1:9090/v1"
    )
    await explicit.chat("Hi")
    assert transport.requests[0].url == "http://127.0.0.1:9090/v1/chat/completions"
