"""Chat through the Ollama adapter: our request → the `/api/chat` body, the answer → ours.

Every request here goes through `validating_transport`, so each body also validates
against the `ollama` package's own `ChatRequest` model (unknown keys rejected).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

import conduit
from conduit.core.protocols import Capabilities
from conduit.errors import APIConnectionError, ValidationError
from conduit.providers.ollama import (
    OllamaChatModel,
    build_chat_payload,
    message_to_wire,
    parse_chat_response,
)
from conduit.providers.ollama.response import parse_tool_call, stop_reason
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
from tests.providers.ollama.conftest import (
    BASE,
    chat_model,
    headers_of,
    load_fixture,
    reply,
)

# The tool from Ollama's docs ("Chat request (with tools)"), in our shape.
WEATHER = Tool(
    name="get_weather",
    description="Get the weather in a given city",
    parameters={
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city to get the weather for"}
        },
        "required": ["city"],
    },
)
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n fake image bytes").decode()


async def _sent(
    options: ChatOptions | None = None, messages: Any = "Hi", **config: Any
) -> dict[str, Any]:
    """The body the model sends for `messages` and `options`."""
    model, transport = chat_model(reply("chat_text"), **config)
    await model.chat(messages, options)
    assert len(transport.requests) == 1
    body: dict[str, Any] = transport.requests[0].json()
    return body


# ------------------------------------------------------------------------ plain chat


async def test_plain_chat_text_usage_and_request() -> None:
    model, transport = chat_model(reply("chat_text"))
    response = await model.chat("why is the sky blue?")

    assert response.text == "Hello! How are you today?"
    assert response.model == "llama3.2"
    assert response.provider == "ollama"
    # No done_reason in this (older) answer: it ended normally.
    assert response.stop_reason == "end_turn"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (26, 298)
    assert response.usage.total_tokens == 324
    assert response.tool_calls == []
    assert response.duration is not None
    assert response.duration >= 0

    [request] = transport.requests
    assert request.method == "POST"
    assert request.url == f"{BASE}/api/chat"
    assert request.json() == {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "why is the sky blue?"}],
        "stream": False,
    }
    headers = headers_of(request)
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "application/json"
    assert "authorization" not in headers  # a local Ollama needs no key


async def test_system_and_multi_turn_history() -> None:
    body = await _sent(
        messages=[
            system("Be brief."),
            user("why is the sky blue?"),
            assistant("due to rayleigh scattering."),
            user("how is that different than mie scattering?"),
        ]
    )
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "why is the sky blue?"},
        {"role": "assistant", "content": "due to rayleigh scattering."},
        {"role": "user", "content": "how is that different than mie scattering?"},
    ]


async def test_text_blocks_are_joined_and_names_dropped() -> None:
    message = Message(
        role="user", content=[TextBlock(text="Hello, "), TextBlock(text="there")], name="ann"
    )
    body = await _sent(messages=[message, {"role": "assistant", "content": ""}, "Go on"])
    assert body["messages"] == [
        {"role": "user", "content": "Hello, there"},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "Go on"},
    ]


async def test_length_stop_reason() -> None:
    model, _ = chat_model(reply("chat_length"))
    response = await model.chat("Why is the sky blue?", max_tokens=10)
    assert response.stop_reason == "max_tokens"
    assert response.usage.output_tokens == 10


async def test_load_answer_has_no_text_and_no_stop_reason() -> None:
    model, _ = chat_model(reply("chat_load"))
    response = await model.chat("Hi")
    assert response.text == ""
    assert response.content == []
    assert response.stop_reason is None
    assert response.usage.total_tokens == 0


# ------------------------------------------------------------------------ options


async def test_sampling_options_go_inside_options() -> None:
    body = await _sent(
        ChatOptions(temperature=0.2, top_p=0.9, seed=101, stop=["\n", "user:"], max_tokens=64)
    )
    assert body["options"] == {
        "temperature": 0.2,
        "top_p": 0.9,
        "seed": 101,
        "stop": ["\n", "user:"],
        "num_predict": 64,
    }
    assert "max_tokens" not in body
    assert "temperature" not in body


async def test_no_options_object_when_nothing_is_set() -> None:
    assert "options" not in await _sent()


async def test_extra_passes_keep_alive_and_merges_modelfile_options() -> None:
    body = await _sent(
        ChatOptions(
            temperature=0,
            extra={"keep_alive": "10m", "think": False, "options": {"num_ctx": 8192, "top_k": 20}},
        )
    )
    assert body["keep_alive"] == "10m"
    assert body["think"] is False
    assert body["options"] == {"temperature": 0.0, "num_ctx": 8192, "top_k": 20}


async def test_extra_options_override_ours_and_work_alone() -> None:
    body = await _sent(ChatOptions(temperature=0.7, extra={"options": {"temperature": 0.1}}))
    assert body["options"] == {"temperature": 0.1}
    body = await _sent(ChatOptions(extra={"keep_alive": 0}))
    assert body["keep_alive"] == 0
    assert "options" not in body


async def test_extra_options_must_be_a_dict() -> None:
    model, transport = chat_model(reply("chat_text"))
    with pytest.raises(ValidationError, match=r"extra\['options'\] must be a dict"):
        await model.chat("Hi", extra={"options": ["num_ctx", 8192]})
    assert transport.requests == []


async def test_format_json_mode() -> None:
    body = await _sent(ChatOptions(response_format=ResponseFormat(type="json_object")))
    assert body["format"] == "json"


async def test_format_text_sends_nothing() -> None:
    body = await _sent(ChatOptions(response_format=ResponseFormat(type="text")))
    assert "format" not in body


async def test_structured_output_sends_the_schema_as_format() -> None:
    schema = {
        "type": "object",
        "properties": {"age": {"type": "integer"}, "available": {"type": "boolean"}},
        "required": ["age", "available"],
    }
    model, transport = chat_model(reply("chat_structured"), name="llama3.1")
    response = await model.chat(
        "Ollama is 22 years old and busy saving the world. Return a JSON object with the "
        "age and availability.",
        response_format=ResponseFormat.from_schema("person", schema),
        temperature=0,
    )
    body = transport.requests[0].json()
    assert body["format"] == schema
    assert body["options"] == {"temperature": 0.0}
    assert response.text == '{"age": 22, "available": false}'
    assert response.stop_reason == "end_turn"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (34, 12)


# ------------------------------------------------------------------------ images


async def test_images_are_sent_as_base64() -> None:
    model, transport = chat_model(reply("chat_images"), name="llava")
    response = await model.chat(
        [user("what is in this image?", ImageBlock(data=PNG, media_type="image/png"))]
    )
    assert response.text.startswith(" The image features a cute, little pig")
    [message] = transport.requests[0].json()["messages"]
    assert message == {"role": "user", "content": "what is in this image?", "images": [PNG]}


async def test_data_url_images_are_unwrapped_and_several_images_kept_in_order() -> None:
    second = base64.b64encode(b"GIF89a...").decode()
    body = await _sent(
        messages=[
            user(
                ImageBlock(url=f"data:image/png;base64,{PNG}"),
                "Compare these.",
                ImageBlock(data=second, media_type="image/gif"),
            )
        ]
    )
    assert body["messages"][0] == {
        "role": "user",
        "content": "Compare these.",
        "images": [PNG, second],
    }


@pytest.mark.parametrize(
    "url", ["https://example.com/cat.png", "data:image/png,not-base64", "data:image/png;base64,"]
)
async def test_url_images_are_a_validation_error(url: str) -> None:
    model, transport = chat_model(reply("chat_text"))
    with pytest.raises(ValidationError, match="Ollama takes images as base64 data, not URLs"):
        await model.chat([user("What is this?", ImageBlock(url=url))])
    assert transport.requests == []


async def test_audio_is_a_validation_error() -> None:
    model, transport = chat_model(reply("chat_text"))
    with pytest.raises(ValidationError, match="does not take audio"):
        await model.chat([user("Listen", AudioBlock(data="UklGRg==", format="wav"))])
    assert transport.requests == []


# ------------------------------------------------------------------------ tools


async def test_tools_are_sent_and_tool_calls_parsed_with_generated_ids() -> None:
    model, transport = chat_model(reply("chat_tool_calls"))
    response = await model.chat("what is the weather in tokyo?", tools=[WEATHER])

    body = transport.requests[0].json()
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": WEATHER.parameters,
                "description": "Get the weather in a given city",
            },
        }
    ]
    [call] = response.tool_calls
    assert call.name == "get_weather"
    assert call.arguments == {"city": "Tokyo"}
    assert call.function.raw_arguments == '{"city":"Tokyo"}'
    assert not call.function.invalid_arguments
    assert call.id.startswith("call_")
    assert len(call.id) == 29
    assert response.stop_reason == "tool_use"  # Ollama says "stop"; it called a tool
    assert response.text == ""


async def test_parallel_tool_calls_get_distinct_ids() -> None:
    model, _ = chat_model(reply("chat_parallel_tool_calls"), name="qwen3")
    first = await model.chat("Weather in Tokyo and Paris?", tools=[WEATHER])
    second = await model.chat("Again", tools=[WEATHER])
    assert [c.arguments["city"] for c in first.tool_calls] == ["Tokyo", "Paris"]
    ids = [c.id for c in first.tool_calls + second.tool_calls]
    assert len(set(ids)) == 4


async def test_a_tool_without_description_and_tool_choice_auto() -> None:
    bare = Tool(name="now")
    body = await _sent(ChatOptions(tools=[bare], tool_choice="auto"))
    assert body["tools"] == [
        {"type": "function", "function": {"name": "now", "parameters": bare.parameters}}
    ]


async def test_tool_choice_none_leaves_the_tools_out() -> None:
    body = await _sent(ChatOptions(tools=[WEATHER], tool_choice="none"))
    assert "tools" not in body


@pytest.mark.parametrize("choice", ["required", "get_weather"])
async def test_a_forced_tool_choice_is_refused(choice: str) -> None:
    model, transport = chat_model(reply("chat_tool_calls"))
    with pytest.raises(ValidationError, match="Ollama cannot force a tool call"):
        await model.chat("Hi", tools=[WEATHER], tool_choice=choice)
    assert transport.requests == []


async def test_tool_result_round_trip() -> None:
    """Docs, "Chat request (With history, with tools)": the assistant's call goes back
    without an id and with its arguments as an object; the result names the tool."""
    calls = []

    def handler(request: HTTPRequest) -> HTTPResponse:
        calls.append(request.json())
        return json_response(
            load_fixture("chat_tool_calls" if len(calls) == 1 else "chat_after_tool")
        )

    model, _ = chat_model(handler)
    history: list[Message] = [user("what is the weather in Toronto?")]
    first = await model.chat(history, tools=[WEATHER])
    history.append(first.to_message())
    [call] = first.tool_calls
    history.append(tool_result(call.id, "11 degrees celsius"))
    final = await model.chat(history, tools=[WEATHER])

    assert final.text == "The current temperature in Toronto is 11°C."
    assert final.stop_reason == "end_turn"
    assert calls[1]["messages"] == [
        {"role": "user", "content": "what is the weather in Toronto?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Tokyo"}}}],
        },
        {"role": "tool", "content": "11 degrees celsius", "tool_name": "get_weather"},
    ]


async def test_tool_result_without_a_known_call_uses_the_message_name_or_nothing() -> None:
    named = Message(role="tool", content="42", tool_call_id="elsewhere", name="answer")
    body = await _sent(messages=[user("Q"), named, tool_result("unknown", "x")])
    assert body["messages"][1] == {"role": "tool", "content": "42", "tool_name": "answer"}
    assert body["messages"][2] == {"role": "tool", "content": "x"}


async def test_the_latest_call_with_an_id_names_the_result() -> None:
    older = ToolCall(id="call_1", function=FunctionCall.from_arguments("old_tool", {}))
    newer = ToolCall(id="call_1", function=FunctionCall.from_arguments("new_tool", {}))
    body = await _sent(
        messages=[
            user("Q"),
            assistant(tool_calls=[older]),
            tool_result("call_1", "a"),
            assistant(tool_calls=[newer]),
            tool_result("call_1", "b"),
        ]
    )
    assert [m.get("tool_name") for m in body["messages"]] == [
        None,
        None,
        "old_tool",
        None,
        "new_tool",
    ]


async def test_invalid_arguments_go_back_as_an_empty_object() -> None:
    broken = ToolCall(id="c1", function=FunctionCall.from_raw("add", '{"a": 1'))
    wire = message_to_wire(assistant("Let me add.", tool_calls=[broken]))
    assert wire == {
        "role": "assistant",
        "content": "Let me add.",
        "tool_calls": [{"function": {"name": "add", "arguments": {}}}],
    }


# ------------------------------------------------------------- parsing odd answers


def test_tool_call_arguments_in_other_shapes() -> None:
    as_string = parse_tool_call(
        {"id": "call_given", "function": {"name": "f", "arguments": '{"x": 1}'}}
    )
    assert (as_string.id, as_string.arguments) == ("call_given", {"x": 1})
    missing = parse_tool_call({"function": {"name": "f"}})
    assert missing.arguments == {}
    assert not missing.function.invalid_arguments
    odd = parse_tool_call({"function": {"name": "f", "arguments": [1, 2]}})
    assert odd.function.invalid_arguments
    assert odd.function.raw_arguments == "[1,2]"
    nameless = parse_tool_call({})
    assert nameless.name == ""


def test_stop_reasons() -> None:
    assert stop_reason("stop", tool_calls=False) == "end_turn"
    assert stop_reason("length", tool_calls=False) == "max_tokens"
    assert stop_reason("length", tool_calls=True) == "max_tokens"
    assert stop_reason(None, tool_calls=True) == "tool_use"
    assert stop_reason("unload", tool_calls=False) is None


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"model": "m"},
        {"model": "m", "message": "Hello"},
        {"model": "m", "message": {"content": 42}},
        {"model": "m", "message": {"content": "x", "tool_calls": "nope"}},
    ],
)
def test_malformed_answers_are_connection_errors(data: Any) -> None:
    with pytest.raises(APIConnectionError):
        parse_chat_response(data, provider="ollama")


async def test_non_json_body_with_status_200() -> None:
    model, _ = chat_model(
        lambda r: HTTPResponse(200, {}, b"<html>proxy page sk-abcdefghijklmnop</html>")
    )
    with pytest.raises(APIConnectionError, match="not valid JSON") as caught:
        await model.chat("Hi")
    assert caught.value.status_code == 200
    assert "sk-abcdefghijklmnop" not in str(caught.value)


# ------------------------------------------------------------------- construction


async def test_conduit_model_resolves_ollama(monkeypatch: pytest.MonkeyPatch) -> None:
    model = conduit.model("ollama/llama3.2")
    assert isinstance(model, OllamaChatModel)
    assert model.model_info.ref == "ollama/llama3.2"
    assert model.base_url == BASE
    assert model.model_info.capabilities.vision
    assert repr(model) == "OllamaChatModel('ollama/llama3.2')"


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://0.0.0.0:11434"),
        ("gpu-box:8080", "http://gpu-box:8080"),
        (":9000", "http://127.0.0.1:9000"),
        ("[::1]", "http://[::1]:11434"),
        ("https://ollama.com", "https://ollama.com"),
        ("http://127.0.0.1:11434/", "http://127.0.0.1:11434"),
        ("example.com/ollama", "http://example.com:11434/ollama"),
    ],
)
async def test_ollama_host_is_read_like_ollama_reads_it(
    monkeypatch: pytest.MonkeyPatch, host: str, url: str
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", host)
    model, transport = chat_model(reply("chat_text"))
    assert model.base_url == url
    await model.chat("Hi")
    assert transport.requests[0].url == f"{url}/api/chat"


def test_base_url_argument_beats_ollama_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "elsewhere:1")
    assert OllamaChatModel("m", base_url="localhost").base_url == "http://localhost:11434"


@pytest.mark.parametrize("bad", ["ftp://host", "host:notaport"])
def test_bad_hosts_are_validation_errors(bad: str) -> None:
    with pytest.raises(ValidationError):
        OllamaChatModel("m", base_url=bad)


async def test_api_key_from_the_environment_is_a_bearer_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-key-0123456789")
    model, transport = chat_model(reply("chat_text"), headers={"x-extra": "1"})
    await model.chat("Hi")
    headers = headers_of(transport.requests[0])
    assert headers["authorization"] == "Bearer ollama-key-0123456789"
    assert headers["x-extra"] == "1"
    assert "ollama-key" not in repr(model)


async def test_explicit_key_and_capabilities() -> None:
    model, transport = chat_model(
        reply("chat_text"), api_key="given-key-123456", capabilities=Capabilities(tools=False)
    )
    await model.chat("Hi")
    assert headers_of(transport.requests[0])["authorization"] == "Bearer given-key-123456"
    assert model.model_info.capabilities.tools is False


def test_payload_is_inspectable() -> None:
    model = OllamaChatModel("llama3.2")
    body = model.payload([user("Hi")], ChatOptions(seed=1), stream=True)
    assert body == build_chat_payload("llama3.2", [user("Hi")], ChatOptions(seed=1), stream=True)
    assert body["stream"] is True
    assert body["options"] == {"seed": 1}


def test_a_provider_spec_without_base_url_needs_one() -> None:
    from conduit.providers.registry import ProviderSpec

    spec = ProviderSpec("bare-ollama", chat="conduit.providers.ollama:OllamaChatModel")
    with pytest.raises(ValidationError, match="needs base_url="):
        OllamaChatModel("m", provider=spec)
    assert OllamaChatModel("m", provider=spec, base_url="h:1").base_url == "http://h:1"


def test_a_provider_that_requires_a_key_says_which_variable() -> None:
    from conduit.errors import AuthenticationError
    from conduit.providers.registry import ProviderSpec

    spec = ProviderSpec(
        "ollama-cloud",
        chat="conduit.providers.ollama:OllamaChatModel",
        base_url="https://ollama.com",
        key_env="OLLAMA_API_KEY",
    )
    with pytest.raises(AuthenticationError, match="OLLAMA_API_KEY"):
        OllamaChatModel("gpt-oss:120b", provider=spec)
    assert OllamaChatModel("gpt-oss:120b", provider=spec, api_key="k").base_url == (
        "https://ollama.com"
    )


def test_chat_sync_twin(monkeypatch: pytest.MonkeyPatch) -> None:
    model, transport = chat_model(reply("chat_text"))
    response = model.chat_sync("why is the sky blue?")
    assert response.text == "Hello! How are you today?"
    assert len(transport.requests) == 1
    model.close()
    assert transport.closed
