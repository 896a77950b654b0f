"""The same extraction through every adapter's wire fixtures: each request carries the
provider's native structured-output mechanism and passes the official SDK's types (the
helpers validate every body), and the answer parses into the same object."""

from __future__ import annotations

from typing import Any

import pytest

from conduit.core.protocols import ChatModel
from conduit.structured import Parser, StructuredOutputError, extract, with_structured_output
from conduit.transport import HTTPRequest, json_response
from tests.providers.anthropic import conftest as anthropic
from tests.providers.gemini import conftest as gemini
from tests.providers.ollama import conftest as ollama
from tests.providers.openai import conftest as openai
from tests.structured.models import Person

ADA = Person(name="Ada Lovelace", born=1815)
# The fixtures answer for a schema named "person" (the Anthropic one calls that tool).
PARSER = Parser(Person, name="person")
TEXT = "Ada Lovelace (born 1815) wrote the first program."


def _ollama_answer() -> Any:
    data = ollama.load_fixture("chat_structured")
    data["message"]["content"] = '{"name": "Ada Lovelace", "born": 1815}'
    return data


def _build(provider: str) -> tuple[ChatModel, Any]:
    if provider == "openai":
        return openai.chat_model(openai.reply("chat_completion_json"))
    if provider == "anthropic":
        return anthropic.chat_model(anthropic.reply("message_json"))
    if provider == "gemini":
        return gemini.chat_model(gemini.reply("generate_json"))
    return ollama.chat_model(ollama.reply(_ollama_answer()))


def _native(provider: str, body: dict[str, Any]) -> dict[str, Any]:
    """The schema each provider's body carries, found where its API reference puts it."""
    if provider == "openai":
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema"
        assert fmt["json_schema"]["name"] == "person"
        assert fmt["json_schema"]["strict"] is True
        schema: dict[str, Any] = fmt["json_schema"]["schema"]
        return schema
    if provider == "anthropic":
        assert body["tool_choice"] == {"type": "tool", "name": "person"}
        (tool,) = body["tools"]
        assert tool["name"] == "person"
        return dict(tool["input_schema"])
    if provider == "gemini":
        config = body["generationConfig"]
        assert config["responseMimeType"] == "application/json"
        return dict(config["responseJsonSchema"])
    return dict(body["format"])


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "ollama"])
async def test_the_same_extraction_through_every_provider(provider: str) -> None:
    model, transport = _build(provider)
    assert await extract(model, TEXT, PARSER) == ADA
    (request,) = transport.requests
    schema = _native(provider, request.json())
    assert schema["properties"] == PARSER.json_schema["properties"]
    assert schema["required"] == ["name", "born"]
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "ollama"])
async def test_lists_go_wrapped_in_an_object_root(provider: str) -> None:
    model, transport = _build(provider)
    parser = Parser(list[Person], name="person")
    with pytest.raises(StructuredOutputError):
        # the fixtures answer one person, not {"items": [...]}; what matters is the request
        await extract(model, TEXT, parser, max_retries=0)
    schema = _native(provider, transport.requests[0].json())
    assert schema["type"] == "object"
    assert schema["required"] == ["items"]
    assert schema["properties"]["items"]["type"] == "array"
    assert "$defs" in schema


async def test_openai_invalid_then_valid_over_the_wire() -> None:
    bad = openai.load_fixture("chat_completion_json")
    bad["choices"][0]["message"]["content"] = '{"name": "Ada Lovelace", "born": "1815?"}'
    good = openai.load_fixture("chat_completion_json")
    answers = [bad, good]

    def handler(request: HTTPRequest) -> Any:
        return json_response(answers.pop(0))

    model, transport = openai.chat_model(handler)
    assert await extract(model, TEXT, PARSER) == ADA
    second = transport.requests[1].json()["messages"]
    assert second[-2] == {"role": "assistant", "content": bad["choices"][0]["message"]["content"]}
    assert second[-1]["role"] == "user"
    assert "person.born" in second[-1]["content"]


async def test_anthropic_streams_partial_objects() -> None:
    model, _ = anthropic.chat_model(anthropic.stream_reply("stream_json"))
    snapshots = [x async for x in with_structured_output(model, PARSER).stream(TEXT)]
    assert len(snapshots) >= 2
    assert snapshots[0].name != ADA.name  # a part of the name came first
    assert ADA.name.startswith(snapshots[0].name)
    assert snapshots[-1] == ADA


async def test_ollama_json_mode_sends_format_json() -> None:
    model, transport = ollama.chat_model(ollama.reply(_ollama_answer()))
    assert await extract(model, TEXT, PARSER, mode="json") == ADA
    body = transport.requests[0].json()
    assert body["format"] == "json"
    assert "JSON Schema" in body["messages"][0]["content"]
