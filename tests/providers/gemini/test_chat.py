"""Chat through the Gemini adapter: our request → the wire payload, the wire answer → ours.

Every request here goes through `validating_transport`, so each body also validates
against the official `google-genai` SDK's types in its exact camelCase spelling.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest

import conduit
from conduit.core.protocols import Capabilities
from conduit.errors import (
    APIConnectionError,
    AuthenticationError,
    ContentFilterError,
    ValidationError,
)
from conduit.providers.gemini import (
    GeminiChatModel,
    build_generate_payload,
    parse_generate_response,
)
from conduit.providers.gemini.calls import CallMemory, tool_call_id
from conduit.providers.gemini.request import SKIP_SIGNATURE
from conduit.schema import (
    AudioBlock,
    ChatOptions,
    FunctionCall,
    ImageBlock,
    Message,
    ResponseFormat,
    Tool,
    ToolCall,
    assistant,
    system,
    tool_result,
    user,
)
from conduit.transport import HTTPRequest, HTTPResponse, json_response
from tests.providers.gemini.conftest import (
    BASE,
    TEST_KEY,
    chat_model,
    headers_of,
    load_fixture,
    reply,
)

WEATHER = Tool(
    name="get_weather",
    description="Current weather for a city",
    parameters={
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
    strict=True,
)
TIME = Tool(name="get_time", parameters={"type": "object", "properties": {"timezone": {}}})
TOOLS = [WEATHER, TIME]


def signature_of(fixture: str, part: int = 0) -> str:
    parts = load_fixture(fixture)["candidates"][0]["content"]["parts"]
    calls = [p for p in parts if "functionCall" in p]
    signature: str = calls[part]["thoughtSignature"]
    return signature


async def _sent(
    options: ChatOptions | None = None, messages: Any = "Hi", **config: Any
) -> dict[str, Any]:
    """The body the model sends for `messages` and `options`."""
    model, transport = chat_model(reply("generate_text"), **config)
    await model.chat(messages, options)
    assert len(transport.requests) == 1
    body: dict[str, Any] = transport.requests[0].json()
    return body


# ------------------------------------------------------------------------ plain chat


async def test_plain_chat_text_usage_and_request() -> None:
    model, transport = chat_model(reply("generate_text"))
    response = await model.chat("Hello")

    assert response.text == "Hello! How can I help you today?"
    assert response.id == "mF1KaO2nA8-5nvgPt9KkiQE"
    assert response.model == "gemini-2.5-flash"
    assert response.provider == "gemini"
    assert response.stop_reason == "end_turn"
    assert response.tool_calls == []
    assert response.duration is not None
    usage = response.usage
    # Thinking tokens are output; cached tokens are part of the prompt count.
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (1200, 45, 1245)
    assert usage.cache_read_tokens == 1024

    [request] = transport.requests
    assert request.method == "POST"
    assert request.url == f"{BASE}/models/gemini-2.5-flash:generateContent"
    assert request.json() == {"contents": [{"role": "user", "parts": [{"text": "Hello"}]}]}
    headers = headers_of(request)
    assert headers["x-goog-api-key"] == TEST_KEY
    assert headers["content-type"] == "application/json"
    assert "authorization" not in headers
    assert TEST_KEY not in request.url
    assert "key=" not in request.url


async def test_system_instruction_and_multi_turn() -> None:
    body = await _sent(
        messages=[
            system("You are terse."),
            user("What is the capital of France?"),
            assistant("Paris."),
            user("And of Italy?"),
            system("Answer in one word."),
        ]
    )
    assert body["systemInstruction"] == {
        "parts": [{"text": "You are terse."}, {"text": "Answer in one word."}]
    }
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "What is the capital of France?"}]},
        {"role": "model", "parts": [{"text": "Paris."}]},
        {"role": "user", "parts": [{"text": "And of Italy?"}]},
    ]


async def test_generation_config() -> None:
    body = await _sent(
        ChatOptions(temperature=0.2, top_p=0.9, max_tokens=256, stop=["END", "###"], seed=7)
    )
    assert body["generationConfig"] == {
        "temperature": 0.2,
        "topP": 0.9,
        "maxOutputTokens": 256,
        "stopSequences": ["END", "###"],
        "seed": 7,
    }
    assert "generationConfig" not in await _sent()


async def test_extra_is_merged_dict_into_dict() -> None:
    safety = [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}]
    body = await _sent(
        ChatOptions(
            temperature=0,
            extra={
                "generationConfig": {"topK": 40, "thinkingConfig": {"thinkingBudget": 0}},
                "safetySettings": safety,
            },
        )
    )
    assert body["generationConfig"] == {
        "temperature": 0.0,
        "topK": 40,
        "thinkingConfig": {"thinkingBudget": 0},
    }
    assert body["safetySettings"] == safety


async def test_keyword_options_and_sync_twin() -> None:
    model, transport = chat_model(reply("generate_text"))
    response = model.chat_sync("Hi", max_tokens=3)
    assert response.text == "Hello! How can I help you today?"
    assert transport.requests[0].json()["generationConfig"] == {"maxOutputTokens": 3}


# --------------------------------------------------------------------- images, audio

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n-fake-image-").decode()


async def test_image_and_audio_blocks() -> None:
    message = user(
        "Describe these.",
        ImageBlock(data=PNG, media_type="image/png"),
        ImageBlock(url="https://example.com/photos/cat.jpg?size=large"),
        ImageBlock(url="https://files.example.com/blob", media_type="image/webp"),
        ImageBlock(url="https://example.com/no-extension"),
        ImageBlock(url=f"data:image/png;base64,{PNG}"),
        AudioBlock(data="UklGRg==", format="wav"),
        AudioBlock(data="SUQz", format="MP3"),
        AudioBlock(data="T2dnUw==", format="audio/webm"),
        AudioBlock(data="AAAA", format="opus"),
    )
    body = await _sent(messages=[message])
    assert body["contents"][0]["parts"] == [
        {"text": "Describe these."},
        {"inlineData": {"mimeType": "image/png", "data": PNG}},
        {
            "fileData": {
                "mimeType": "image/jpeg",
                "fileUri": "https://example.com/photos/cat.jpg?size=large",
            }
        },
        {"fileData": {"mimeType": "image/webp", "fileUri": "https://files.example.com/blob"}},
        {"fileData": {"fileUri": "https://example.com/no-extension"}},
        {"inlineData": {"mimeType": "image/png", "data": PNG}},
        {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
        {"inlineData": {"mimeType": "audio/mp3", "data": "SUQz"}},
        {"inlineData": {"mimeType": "audio/webm", "data": "T2dnUw=="}},
        {"inlineData": {"mimeType": "audio/opus", "data": "AAAA"}},
    ]


@pytest.mark.parametrize(
    "url", ["data:image/png,notbase64", "data:;base64,AAAA", "data:image/png;base64"]
)
async def test_bad_data_url_is_refused_before_sending(url: str) -> None:
    model, transport = chat_model(reply("generate_text"))
    with pytest.raises(ValidationError, match="data: URL"):
        await model.chat([user("What is this?", ImageBlock(url=url))])
    assert transport.requests == []


async def test_system_message_with_an_image_is_refused() -> None:
    model, transport = chat_model(reply("generate_text"))
    bad = Message(role="system", content=[ImageBlock(url="https://example.com/a.png")])
    with pytest.raises(ValidationError, match="text only"):
        await model.chat([bad, user("Hi")])
    assert transport.requests == []


async def test_only_system_messages_are_refused() -> None:
    model, transport = chat_model(reply("generate_text"))
    with pytest.raises(ValidationError, match="at least one user"):
        await model.chat([system("Be brief.")])
    assert transport.requests == []


# --------------------------------------------------------------------------- tools


async def test_tools_become_function_declarations() -> None:
    body = await _sent(ChatOptions(tools=TOOLS))
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Current weather for a city",
                    "parameters": {
                        "type": "OBJECT",
                        "properties": {
                            "city": {"type": "STRING", "description": "City name"},
                            "unit": {"type": "STRING", "enum": ["celsius", "fahrenheit"]},
                        },
                        "required": ["city", "unit"],
                    },
                },
                {
                    "name": "get_time",
                    "parameters": {
                        "type": "OBJECT",
                        "properties": {"timezone": {"type": "STRING"}},
                    },
                },
            ]
        }
    ]
    assert "toolConfig" not in body


async def test_tool_without_parameters_and_recursive_tool() -> None:
    tree = {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
            }
        },
        "$ref": "#/$defs/Node",
    }
    tools = [Tool(name="now", description="The time"), Tool(name="plant", parameters=tree)]
    body = await _sent(ChatOptions(tools=tools))
    assert body["tools"][0]["functionDeclarations"] == [
        {"name": "now", "description": "The time"},
        {"name": "plant", "parametersJsonSchema": tree},
    ]


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
        ("get_time", {"mode": "ANY", "allowedFunctionNames": ["get_time"]}),
    ],
)
async def test_tool_choice_becomes_function_calling_config(
    choice: str, config: dict[str, Any]
) -> None:
    body = await _sent(ChatOptions(tools=TOOLS, tool_choice=choice))
    assert body["toolConfig"] == {"functionCallingConfig": config}


@pytest.mark.parametrize(
    ("options", "match"),
    [
        (ChatOptions(tools=TOOLS, tool_choice="get_stock"), "names no tool"),
        (ChatOptions(tool_choice="required"), "needs tools"),
        (ChatOptions(tool_choice="get_time"), "needs tools"),
    ],
)
async def test_bad_tool_choice_is_refused(options: ChatOptions, match: str) -> None:
    model, transport = chat_model(reply("generate_text"))
    with pytest.raises(ValidationError, match=match):
        await model.chat("Hi", options)
    assert transport.requests == []


async def test_tool_choice_none_without_tools_is_harmless() -> None:
    body = await _sent(ChatOptions(tool_choice="none"))
    assert "toolConfig" not in body
    assert "tools" not in body


# ------------------------------------------------------------------ function calls


async def test_function_call_parsing() -> None:
    model, _ = chat_model(reply("generate_function_call"))
    response = await model.chat("Weather in Paris?", tools=TOOLS)

    assert response.stop_reason == "tool_use"
    assert response.text == ""
    [call] = response.tool_calls
    assert call.name == "get_weather"
    assert call.arguments == {"city": "Paris", "unit": "celsius"}
    assert call.function.invalid_arguments is False
    assert call.id.startswith("call_")
    assert len(call.id) <= 40
    expected = tool_call_id(
        "Gm9KaMXnHZ3nvdIPw-KnkQk", 0, "get_weather", {"city": "Paris", "unit": "celsius"}
    )
    assert call.id == expected
    # The signature is remembered for the replay.
    assert model.calls.recall(call.id) == (signature_of("generate_function_call"), False)
    # The output tokens include the thinking.
    assert response.usage.output_tokens == 22 + 72


async def test_ids_are_stable_for_the_same_answer() -> None:
    data = load_fixture("generate_parallel_calls")
    first = parse_generate_response(data, provider="gemini")
    again = parse_generate_response(data, provider="gemini")
    assert [c.id for c in first.tool_calls] == [c.id for c in again.tool_calls]
    assert len({c.id for c in first.tool_calls}) == 3


async def test_parallel_function_calls() -> None:
    model, _ = chat_model(reply("generate_parallel_calls"))
    response = await model.chat("Weather in Tokyo and Mumbai, and the time in Tokyo?")

    assert response.text == "I'll check both for you."
    assert response.stop_reason == "tool_use"
    assert [(c.name, c.arguments) for c in response.tool_calls] == [
        ("get_weather", {"city": "Tokyo", "unit": "celsius"}),
        ("get_weather", {"city": "Mumbai", "unit": "celsius"}),
        ("get_time", {"timezone": "Asia/Tokyo"}),
    ]
    first, second, third = response.tool_calls
    # Only the first of parallel calls carries a signature; only it is remembered.
    assert model.calls.recall(first.id) == (signature_of("generate_parallel_calls"), False)
    assert model.calls.recall(second.id) is None
    assert model.calls.recall(third.id) is None


async def test_tool_result_round_trip() -> None:
    answers = iter([load_fixture("generate_parallel_calls"), load_fixture("generate_after_tool")])
    model, transport = chat_model(lambda request: json_response(next(answers)))
    question = user("Weather in Tokyo and Mumbai, and the time in Tokyo?")
    first = await model.chat([question], tools=TOOLS)
    calls = first.tool_calls
    history = [
        question,
        first.to_message(),
        tool_result(calls[0].id, "18°C, light rain"),
        tool_result(calls[1].id, '{"temperature": 31, "sky": "clear"}'),
        tool_result(calls[2].id, "[1, 2]"),
    ]
    final = await model.chat(history, tools=TOOLS)
    assert final.text == "It is 18°C in Paris right now."
    assert final.stop_reason == "end_turn"

    contents = transport.requests[1].json()["contents"]
    assert contents[1] == {
        "role": "model",
        "parts": [
            {"text": "I'll check both for you."},
            {
                "functionCall": {
                    "name": "get_weather",
                    "args": {"city": "Tokyo", "unit": "celsius"},
                },
                "thoughtSignature": signature_of("generate_parallel_calls"),
            },
            {
                "functionCall": {
                    "name": "get_weather",
                    "args": {"city": "Mumbai", "unit": "celsius"},
                }
            },
            {"functionCall": {"name": "get_time", "args": {"timezone": "Asia/Tokyo"}}},
        ],
    }
    # All results in one user turn, named after their calls; a JSON object result goes
    # as it is, anything else under "output".
    assert contents[2] == {
        "role": "user",
        "parts": [
            {
                "functionResponse": {
                    "name": "get_weather",
                    "response": {"output": "18°C, light rain"},
                }
            },
            {
                "functionResponse": {
                    "name": "get_weather",
                    "response": {"temperature": 31, "sky": "clear"},
                }
            },
            {"functionResponse": {"name": "get_time", "response": {"output": "[1, 2]"}}},
        ],
    }
    assert len(contents) == 3


async def test_replayed_calls_the_model_never_signed_get_the_placeholder() -> None:
    calls = [
        ToolCall(
            id="toolu_01", function=FunctionCall.from_arguments("get_time", {"timezone": "UTC"})
        ),
        ToolCall(
            id="toolu_02", function=FunctionCall.from_arguments("get_time", {"timezone": "CET"})
        ),
    ]
    history = [
        user("Times?"),
        assistant(tool_calls=calls),
        tool_result("toolu_01", "12:00"),
        tool_result("toolu_02", "13:00"),
        user("Thanks. And now?"),
    ]
    body = await _sent(messages=history)  # a fresh model: its memory knows none of these
    parts = body["contents"][1]["parts"]
    assert SKIP_SIGNATURE == "skip_thought_signature_validator"  # as Google documents it
    assert parts[0]["thoughtSignature"] == SKIP_SIGNATURE
    assert "thoughtSignature" not in parts[1]
    assert "id" not in parts[0]["functionCall"]
    # The user's next words join the turn of results: turns alternate.
    assert body["contents"][2]["parts"][-1] == {"text": "Thanks. And now?"}
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]


async def test_gemini_call_ids_are_kept_and_echoed() -> None:
    data = load_fixture("generate_function_call")
    data["candidates"][0]["content"]["parts"][0]["functionCall"]["id"] = "fc-7d1e"
    answers = iter([data, load_fixture("generate_after_tool")])
    model, transport = chat_model(lambda request: json_response(next(answers)))
    first = await model.chat("Weather in Paris?", tools=TOOLS)
    assert first.tool_calls[0].id == "fc-7d1e"
    await model.chat(
        [user("Weather in Paris?"), first.to_message(), tool_result("fc-7d1e", "18°C")],
        tools=TOOLS,
    )
    contents = transport.requests[1].json()["contents"]
    assert contents[1]["parts"][0]["functionCall"]["id"] == "fc-7d1e"
    assert contents[2]["parts"][0]["functionResponse"]["id"] == "fc-7d1e"


async def test_tool_result_for_an_unknown_call() -> None:
    model, transport = chat_model(reply("generate_text"))
    with pytest.raises(ValidationError, match="answers no earlier tool call"):
        await model.chat([user("Hi"), tool_result("call_missing", "42")])
    assert transport.requests == []
    # A name on the tool message is enough.
    named = Message(role="tool", content="42", tool_call_id="call_missing", name="get_answer")
    body = await _sent(messages=[user("Hi"), named])
    assert body["contents"][0]["parts"] == [
        {"text": "Hi"},
        {"functionResponse": {"name": "get_answer", "response": {"output": "42"}}},
    ]


async def test_tool_result_with_an_image_is_refused() -> None:
    call = ToolCall(id="c1", function=FunctionCall.from_arguments("snap", {}))
    result = Message(
        role="tool", tool_call_id="c1", content=[ImageBlock(url="https://example.com/a.png")]
    )
    model, transport = chat_model(reply("generate_text"))
    with pytest.raises(ValidationError, match="text"):
        await model.chat([user("Snap"), assistant(tool_calls=[call]), result])
    assert transport.requests == []


async def test_empty_assistant_turns_are_skipped() -> None:
    body = await _sent(messages=[user("Hi"), assistant(), user("Still there?")])
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "Hi"}, {"text": "Still there?"}]}
    ]


async def test_non_object_args_are_kept_and_flagged() -> None:
    data = load_fixture("generate_function_call")
    data["candidates"][0]["content"]["parts"][0]["functionCall"]["args"] = ["Paris"]
    response = parse_generate_response(data, provider="gemini")
    call = response.tool_calls[0]
    assert call.function.invalid_arguments is True
    assert call.function.raw_arguments == '["Paris"]'
    del data["candidates"][0]["content"]["parts"][0]["functionCall"]["args"]
    assert parse_generate_response(data, provider="gemini").tool_calls[0].arguments == {}


# ----------------------------------------------------------------------- JSON output


async def test_json_schema_output() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"name": {"type": "string"}, "born": {"type": ["integer", "null"]}},
        "required": ["name", "born"],
        "additionalProperties": False,
    }
    model, transport = chat_model(reply("generate_json"))
    response = await model.chat(
        "Who wrote the first program?",
        response_format=ResponseFormat.from_schema("person", schema),
    )
    assert response.text == '{"name": "Ada Lovelace", "born": 1815}'
    config = transport.requests[0].json()["generationConfig"]
    assert config == {
        "responseMimeType": "application/json",
        "responseJsonSchema": {k: v for k, v in schema.items() if k != "$schema"},
    }


async def test_json_object_and_text_formats() -> None:
    body = await _sent(ChatOptions(response_format=ResponseFormat(type="json_object")))
    assert body["generationConfig"] == {"responseMimeType": "application/json"}
    body = await _sent(ChatOptions(response_format=ResponseFormat(type="text")))
    assert "generationConfig" not in body


# ------------------------------------------------------------ stop reasons, safety


@pytest.mark.parametrize(
    ("fixture", "stop_reason"),
    [
        ("generate_text", "end_turn"),
        ("generate_max_tokens", "max_tokens"),
        ("generate_function_call", "tool_use"),
        ("generate_recitation_partial", "content_filter"),
    ],
)
async def test_stop_reasons(fixture: str, stop_reason: str) -> None:
    model, _ = chat_model(reply(fixture))
    response = await model.chat("Hi")
    assert response.stop_reason == stop_reason


async def test_filtered_answer_with_content_is_returned() -> None:
    model, _ = chat_model(reply("generate_recitation_partial"))
    response = await model.chat("Recite the opening of A Tale of Two Cities.")
    assert response.text.startswith("It was the best of times")


async def test_prompt_blocked_is_a_content_filter_error() -> None:
    model, _ = chat_model(reply("generate_prompt_blocked"))
    with pytest.raises(ContentFilterError, match=r"blocked the prompt \(SAFETY\)") as info:
        await model.chat("Something harmful")
    assert info.value.provider == "gemini"
    data = load_fixture("generate_prompt_blocked")
    data["promptFeedback"]["blockReasonMessage"] = "The prompt was blocked."
    with pytest.raises(ContentFilterError, match="The prompt was blocked"):
        parse_generate_response(data, provider="gemini")


async def test_candidate_blocked_by_safety_is_a_content_filter_error() -> None:
    model, _ = chat_model(reply("generate_candidate_safety"))
    with pytest.raises(ContentFilterError, match="SAFETY") as info:
        await model.chat("Say something mean")
    assert "HARM_CATEGORY_HARASSMENT" in str(info.value)
    data = load_fixture("generate_candidate_safety")
    data["candidates"][0]["finishMessage"] = "Blocked by safety filters."
    with pytest.raises(ContentFilterError, match="Blocked by safety filters"):
        parse_generate_response(data, provider="gemini")


async def test_unspecified_block_reason_is_not_a_block() -> None:
    data = load_fixture("generate_text")
    data["promptFeedback"] = {"blockReason": "BLOCKED_REASON_UNSPECIFIED"}
    assert parse_generate_response(data, provider="gemini").text


@pytest.mark.parametrize("finish", ["MALFORMED_FUNCTION_CALL", "OTHER", "SOMETHING_NEW"])
async def test_other_finish_reasons_have_no_stop_reason(
    finish: str, caplog: pytest.LogCaptureFixture
) -> None:
    data = load_fixture("generate_text")
    data["candidates"][0]["finishReason"] = finish
    with caplog.at_level(logging.INFO, logger="conduit.providers.gemini"):
        response = parse_generate_response(data, provider="gemini")
    assert response.stop_reason is None
    assert finish in caplog.text


# ----------------------------------------------------------- unknown parts, fields


async def test_unknown_parts_are_skipped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    model, _ = chat_model(reply("generate_unknown_parts"))
    with caplog.at_level(logging.INFO, logger="conduit.providers.gemini"):
        response = await model.chat("What is the sum of 1 to 10?")
    assert response.text == "The sum of 1 to 10 is 55."  # the thought summary is left out
    assert "executableCode" in caplog.text
    assert "codeExecutionResult" in caplog.text
    assert "inlineData" in caplog.text
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (52, 43, 95)


async def test_fields_and_parts_no_sdk_knows_are_ignored(caplog: pytest.LogCaptureFixture) -> None:
    data = load_fixture("generate_text")
    data["someFutureField"] = {"x": 1}
    data["candidates"][0]["someFutureField"] = [1]
    data["candidates"][0]["content"]["parts"] += [{"hologram": {"uri": "x"}}, "not-a-part", 7]
    data["usageMetadata"]["futureTokenCount"] = 3
    with caplog.at_level(logging.INFO, logger="conduit.providers.gemini"):
        response = parse_generate_response(data, provider="gemini")
    assert response.text == "Hello! How can I help you today?"
    assert "hologram" in caplog.text
    assert "not-a-part" in caplog.text


@pytest.mark.parametrize(
    "data",
    [
        [],
        7,
        {"candidates": []},
        {"usageMetadata": {"promptTokenCount": 3}},
        {"candidates": ["x"]},
    ],
)
async def test_answers_that_are_not_responses(data: Any) -> None:
    model, _ = chat_model(reply(data))
    with pytest.raises(APIConnectionError):
        await model.chat("Hi")


async def test_malformed_function_call_part() -> None:
    data = load_fixture("generate_function_call")
    data["candidates"][0]["content"]["parts"][0]["functionCall"] = "get_weather(Paris)"
    with pytest.raises(APIConnectionError, match="malformed part"):
        parse_generate_response(data, provider="gemini")


async def test_candidate_without_content_or_usage() -> None:
    response = parse_generate_response(
        {"candidates": [{"finishReason": "STOP"}], "responseId": 7, "modelVersion": None},
        provider="gemini",
    )
    assert (response.text, response.id, response.model) == ("", "", "")
    assert response.usage.total_tokens == 0


# ------------------------------------------------------------- building the model


async def test_conduit_model_builds_the_gemini_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", TEST_KEY)
    _, transport = chat_model(reply("generate_text"))
    built = conduit.model("gemini/gemini-2.5-flash", transport=transport, max_retries=0)
    assert isinstance(built, GeminiChatModel)
    assert built.model_info.ref == "gemini/gemini-2.5-flash"
    assert built.model_info.capabilities == Capabilities(vision=True, audio=True)
    response = await built.chat("Hello")
    assert response.text == "Hello! How can I help you today?"
    assert headers_of(transport.requests[0])["x-goog-api-key"] == TEST_KEY
    assert TEST_KEY not in repr(built)


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(AuthenticationError, match="GEMINI_API_KEY"):
        conduit.model("gemini/gemini-2.5-flash")


async def test_base_url_from_the_environment_needs_no_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GEMINI_BASE_URL", "http://127.0.0.1:9/v1beta/")
    model, transport = chat_model(reply("generate_text"), api_key=None)
    assert model.base_url == "http://127.0.0.1:9/v1beta"
    await model.chat("Hi")
    request = transport.requests[0]
    assert request.url == "http://127.0.0.1:9/v1beta/models/gemini-2.5-flash:generateContent"
    assert "x-goog-api-key" not in headers_of(request)


async def test_tuned_model_names_and_extra_headers() -> None:
    model, transport = chat_model(
        reply("generate_text"), name="tunedModels/my-model-8527", headers={"x-trace": "1"}
    )
    await model.chat("Hi")
    request = transport.requests[0]
    assert request.url == f"{BASE}/tunedModels/my-model-8527:generateContent"
    assert headers_of(request)["x-trace"] == "1"


@pytest.mark.parametrize("url", ["ftp://example.com", "generativelanguage.googleapis.com"])
def test_bad_base_url(url: str) -> None:
    with pytest.raises(ValidationError, match="http"):
        GeminiChatModel("gemini-2.5-flash", api_key=TEST_KEY, base_url=url)


def test_provider_without_a_base_url() -> None:
    from conduit.providers.registry import ProviderSpec

    spec = ProviderSpec("gemini-proxy", key_required=False)
    with pytest.raises(ValidationError, match="needs base_url"):
        GeminiChatModel("gemini-2.5-flash", provider=spec)


async def test_default_transport_is_aiohttp() -> None:
    from conduit.providers.gemini.connection import GeminiConnection
    from conduit.transport import AiohttpTransport

    model = GeminiChatModel("gemini-2.5-flash", api_key=TEST_KEY)
    assert isinstance(model._conn.client.transport, AiohttpTransport)
    assert repr(model._conn) == f"GeminiConnection('gemini', base_url='{BASE}')"
    assert isinstance(model._conn, GeminiConnection)
    await model.aclose()


def test_stop_reason_without_a_finish_reason() -> None:
    from conduit.providers.gemini.response import stop_reason

    assert stop_reason(None, True) is None
    assert stop_reason("FINISH_REASON_UNSPECIFIED", False) is None


async def test_closing_closes_the_transport() -> None:
    model, transport = chat_model(reply("generate_text"))
    async with model:
        await model.chat("Hi")
    assert transport.closed


def test_build_generate_payload_without_memory() -> None:
    call = ToolCall(id="c1", function=FunctionCall.from_arguments("now", {}))
    body = build_generate_payload(
        [user("Time?"), assistant(tool_calls=[call]), tool_result("c1", "noon")], ChatOptions()
    )
    assert body["contents"][1]["parts"] == [
        {"functionCall": {"name": "now", "args": {}}, "thoughtSignature": SKIP_SIGNATURE}
    ]


def test_call_memory_is_bounded() -> None:
    memory = CallMemory(size=2)
    memory.remember("a", signature="AA==", from_wire=False)
    memory.remember("b", signature=None, from_wire=False)  # nothing to keep
    memory.remember("c", signature=None, from_wire=True)
    memory.remember("d", signature="BB==", from_wire=False)
    assert len(memory) == 2
    assert memory.recall("a") is None
    assert memory.recall("b") is None
    assert memory.recall("c") == (None, True)
    assert memory.recall("d") == ("BB==", False)


async def test_no_request_for_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(request: HTTPRequest) -> HTTPResponse:  # pragma: no cover - never called
        raise AssertionError("sent")

    model, transport = chat_model(handler)
    with pytest.raises(ValidationError):
        await model.chat([])
    assert transport.requests == []
