"""One `AdapterKit` per adapter: what the provider contract suite needs to run the same
behaviours through every adapter.

A kit knows three things about its adapter:

* how to build the model on a `MockTransport` whose every request is first validated
  against the official SDK's own request types (the `chat_model` helper of that adapter's
  conftest: `assert_valid_openai_request`, `assert_valid_anthropic_request`,
  `assert_valid_gemini_request`, `assert_valid_ollama_request`);
* which of its wire fixtures (tests/fixtures/<provider>/) answers each behaviour, and
  what Conduit must read from it (`Reply`, `ErrorReply`);
* how to read back what was sent, from that API's wire shape into plain values
  (`sent_system`, `sent_turns`, `sent_images`, ...), so the contract checks both
  directions with one assertion per behaviour.

Where an API genuinely cannot do a behaviour the kit says so in `unsupported`: with the
`ValidationError` message the adapter refuses it with (the suite asserts that refusal),
or with only the reason (the suite skips, naming the API's limitation). `known_failures`
holds contract behaviours an adapter does not meet yet; the suite marks them
`xfail(strict=True)` with that reason.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest

from conduit.core.protocols import BaseChatModel
from conduit.schema import Usage
from conduit.transport import Handler, HTTPRequest, HTTPResponse, MockTransport, json_response
from tests.providers.anthropic import conftest as anthropic_wire
from tests.providers.bedrock import conftest as bedrock_wire
from tests.providers.gemini import conftest as gemini_wire
from tests.providers.ollama import conftest as ollama_wire
from tests.providers.openai import conftest as openai_wire

__all__ = [
    "KITS",
    "REQUEST_ID",
    "AdapterKit",
    "ErrorReply",
    "Reply",
    "Unsupported",
    "adapters",
    "error_cases",
    "in_turn",
]

REQUEST_ID = "req_contract_0123456789"
"""The request id every error answer carries, in the header the provider uses for it."""

Call = tuple[str, dict[str, Any]]
"""A tool call as (function name, arguments)."""


@dataclass(frozen=True)
class Reply:
    """A wire fixture that answers a behaviour, and what Conduit must read from it."""

    fixture: str
    text: str = ""
    calls: tuple[Call, ...] = ()
    usage: Usage | None = None
    json: Any = None


@dataclass(frozen=True)
class ErrorReply:
    """An error answer: status, fixture body (`None`: the API sends an empty body), the
    headers the API sends with it, and the `retry_after` Conduit must read from them."""

    status: int
    fixture: str | None
    headers: Mapping[str, str] = field(default_factory=dict)
    retry_after: float | None = None


@dataclass(frozen=True)
class Unsupported:
    """A behaviour the API cannot do: why, and the adapter's refusal (a regex of its
    `ValidationError` message) when it has one; without one the behaviour is skipped."""

    reason: str
    refusal: str | None = None


def in_turn(*handlers: Handler) -> Handler:
    """A handler answering the first request with the first handler, the second with the
    second, and so on (a test that sends more requests than it expects fails)."""
    pending = list(handlers)

    def answer(request: HTTPRequest) -> Any:
        assert pending, f"unexpected extra request to {request.url}"
        return pending.pop(0)(request)

    return answer


def _joined(texts: Sequence[str]) -> str | None:
    return "".join(texts) if texts else None


@dataclass(frozen=True)
class AdapterKit(ABC):
    """What the contract suite knows about one adapter (see the module docstring)."""

    name: str
    """The provider name Conduit reports (`Response.provider`, `ProviderError.provider`)."""
    text: Reply
    stream_text: Reply
    parallel_calls: Reply
    stream_calls: Reply
    after_tool: Reply
    image: Reply
    json_output: Reply
    length: Reply
    withheld: Reply | None
    errors: Mapping[str, ErrorReply]
    request_id_header: str | None
    pairs_results_by: Literal["id", "name"]
    """How the wire pairs a tool result with its call: by the call's id or its name."""
    unsupported: Mapping[str, Unsupported] = field(default_factory=dict)
    known_failures: Mapping[str, str] = field(default_factory=dict)

    # ------------------------------------------------------------------ the model

    @abstractmethod
    def model(
        self, handler: Handler, *, max_retries: int = 0
    ) -> tuple[BaseChatModel, MockTransport]:
        """The adapter's chat model on a mock transport that validates each request
        against the official SDK's types, answering with `handler`."""

    @abstractmethod
    def load(self, fixture: str) -> Any:
        """A JSON fixture of this provider."""

    @abstractmethod
    def stream_events(self, fixture: str) -> list[Any]:
        """The events (chunks, lines) of a stream fixture, parsed."""

    @abstractmethod
    def stream_reply(self, fixture: str | list[Any]) -> Handler:
        """A handler streaming a fixture (or a list of its events) the way this API
        streams (SSE, NDJSON)."""

    def reply(self, fixture: str) -> Handler:
        """A handler answering with a JSON fixture."""
        data = self.load(fixture)
        return lambda request: json_response(data)

    def error_reply(self, case: ErrorReply, **headers: str) -> Handler:
        """A handler answering with an error (plus the request id, and `headers`)."""
        sent = {**case.headers, **headers}
        if self.request_id_header:
            sent[self.request_id_header] = REQUEST_ID
        if case.fixture is None:
            return lambda request: HTTPResponse(case.status, sent, b"")
        data = self.load(case.fixture)
        return lambda request: json_response(data, status=case.status, headers=sent)

    def refusal(self, behaviour: str) -> Unsupported | None:
        """The declared refusal of `behaviour`, or None when the adapter does it."""
        return self.unsupported.get(behaviour)

    # -------------------------------------------------- reading what was sent

    @abstractmethod
    def streamed(self, request: HTTPRequest) -> bool:
        """Whether the request asked for a streamed answer."""

    @abstractmethod
    def sent_system(self, request: HTTPRequest) -> str | None:
        """The system prompt as sent (None: none was)."""

    @abstractmethod
    def sent_turns(self, request: HTTPRequest) -> list[tuple[str, str]]:
        """The conversation's text, turn by turn, as ("user" | "assistant", text); turns
        without text (only tool calls or results) are left out; the system prompt is not
        a turn."""

    @abstractmethod
    def sent_images(self, request: HTTPRequest) -> list[str]:
        """Each image sent: its base64 data, or its URL."""

    @abstractmethod
    def sent_tools(self, request: HTTPRequest) -> dict[str, list[str]]:
        """Each tool definition sent: name → its parameters' property names, sorted."""

    @abstractmethod
    def sent_tool_choice(self, request: HTTPRequest) -> str | None:
        """The tool choice sent, in Conduit's terms: "auto", "none", "required" or a
        tool's name (None: none was)."""

    @abstractmethod
    def sent_tool_calls(self, request: HTTPRequest) -> list[Call]:
        """The earlier assistant tool calls sent back, as (name, arguments)."""

    @abstractmethod
    def sent_tool_results(self, request: HTTPRequest) -> list[tuple[str, str]]:
        """The tool results sent, as (the call's id or name, the result's text)."""

    @abstractmethod
    def sent_json_schema(self, request: HTTPRequest) -> dict[str, Any] | None:
        """The JSON Schema the answer was asked to follow."""

    @abstractmethod
    def sent_max_tokens(self, request: HTTPRequest) -> int | None:
        """The output-token limit sent."""

    @abstractmethod
    def sent_sampling(self, request: HTTPRequest) -> dict[str, Any]:
        """The sampling settings sent, under Conduit's names (`temperature`, `top_p`,
        `stop`, `seed`); those not sent are left out."""


# ----------------------------------------------------------------------------- OpenAI


def _openai_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(p["text"] for p in content or () if p.get("type") == "text")


class OpenAIKit(AdapterKit):
    """Chat Completions: `messages` with roles, `tools` / `tool_choice`, `response_format`."""

    def model(
        self, handler: Handler, *, max_retries: int = 0
    ) -> tuple[BaseChatModel, MockTransport]:
        return openai_wire.chat_model(handler, max_retries=max_retries)

    def load(self, fixture: str) -> Any:
        return openai_wire.load_fixture(fixture)

    def stream_events(self, fixture: str) -> list[Any]:
        return openai_wire.load_fixture(fixture)

    def stream_reply(self, fixture: str | list[Any]) -> Handler:
        return openai_wire.stream_reply(fixture)

    def streamed(self, request: HTTPRequest) -> bool:
        return request.json().get("stream") is True

    def sent_system(self, request: HTTPRequest) -> str | None:
        messages = request.json()["messages"]
        return _joined(
            [_openai_text(m["content"]) for m in messages if m["role"] in ("system", "developer")]
        )

    def sent_turns(self, request: HTTPRequest) -> list[tuple[str, str]]:
        return [
            (m["role"], _openai_text(m["content"]))
            for m in request.json()["messages"]
            if m["role"] in ("user", "assistant") and _openai_text(m.get("content"))
        ]

    def sent_images(self, request: HTTPRequest) -> list[str]:
        found = []
        for message in request.json()["messages"]:
            if isinstance(message["content"], list):
                for part in message["content"]:
                    if part["type"] == "image_url":
                        url = part["image_url"]["url"]
                        found.append(url.split(",", 1)[1] if url.startswith("data:") else url)
        return found

    def sent_tools(self, request: HTTPRequest) -> dict[str, list[str]]:
        return {
            t["function"]["name"]: sorted(t["function"]["parameters"].get("properties", {}))
            for t in request.json().get("tools", ())
        }

    def sent_tool_choice(self, request: HTTPRequest) -> str | None:
        choice = request.json().get("tool_choice")
        return choice["function"]["name"] if isinstance(choice, dict) else choice

    def sent_tool_calls(self, request: HTTPRequest) -> list[Call]:
        return [
            (c["function"]["name"], json.loads(c["function"]["arguments"]))
            for m in request.json()["messages"]
            for c in m.get("tool_calls", ())
        ]

    def sent_tool_results(self, request: HTTPRequest) -> list[tuple[str, str]]:
        return [
            (m["tool_call_id"], _openai_text(m["content"]))
            for m in request.json()["messages"]
            if m["role"] == "tool"
        ]

    def sent_json_schema(self, request: HTTPRequest) -> dict[str, Any] | None:
        fmt = request.json().get("response_format") or {}
        return (fmt.get("json_schema") or {}).get("schema")

    def sent_max_tokens(self, request: HTTPRequest) -> int | None:
        body = request.json()
        return body.get("max_completion_tokens", body.get("max_tokens"))

    def sent_sampling(self, request: HTTPRequest) -> dict[str, Any]:
        body = request.json()
        return {k: body[k] for k in ("temperature", "top_p", "stop", "seed") if k in body}


OPENAI = OpenAIKit(
    name="openai",
    text=Reply(
        "chat_completion_text",
        text="Hello! How can I help you today?",
        usage=Usage(input_tokens=1200, output_tokens=10, total_tokens=1210, cache_read_tokens=1024),
    ),
    stream_text=Reply(
        "stream_text",
        text="Hello! How can I help you today?",
        usage=Usage(input_tokens=1200, output_tokens=9, total_tokens=1209, cache_read_tokens=1024),
    ),
    parallel_calls=Reply(
        "chat_completion_tool_calls",
        calls=(
            ("get_weather", {"city": "Paris", "unit": "celsius"}),
            ("get_weather", {"city": "Tokyo", "unit": "celsius"}),
        ),
    ),
    stream_calls=Reply(
        "stream_tool_calls",
        calls=(("get_weather", {"city": "Paris"}), ("get_time", {"timezone": "Asia/Tokyo"})),
    ),
    after_tool=Reply("chat_completion_after_tool", text="It is 18°C in Paris and 24°C in Tokyo."),
    image=Reply("chat_completion_text", text="Hello! How can I help you today?"),
    json_output=Reply("chat_completion_json", json={"name": "Ada Lovelace", "born": 1815}),
    length=Reply("chat_completion_length", text="Once upon a time, in a land far"),
    withheld=Reply("chat_completion_content_filter"),
    errors={
        "authentication": ErrorReply(401, "error_invalid_api_key"),
        "permission_denied": ErrorReply(403, "error_permission_denied"),
        "not_found": ErrorReply(404, "error_model_not_found"),
        "bad_request": ErrorReply(400, "error_invalid_request"),
        "context_window": ErrorReply(400, "error_context_length_exceeded"),
        "rate_limit": ErrorReply(
            429, "error_rate_limit", headers={"retry-after": "2"}, retry_after=2.0
        ),
        "server": ErrorReply(500, "error_server"),
    },
    request_id_header="x-request-id",
    pairs_results_by="id",
)


# -------------------------------------------------------------------------- Anthropic


def _anthropic_blocks(content: Any) -> list[dict[str, Any]]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)


def _anthropic_text(content: Any) -> str:
    return "".join(b["text"] for b in _anthropic_blocks(content) if b["type"] == "text")


class AnthropicKit(AdapterKit):
    """Messages API: top-level `system`, alternating turns of content blocks, `tool_use` /
    `tool_result` blocks, JSON output through a forced tool."""

    def model(
        self, handler: Handler, *, max_retries: int = 0
    ) -> tuple[BaseChatModel, MockTransport]:
        return anthropic_wire.chat_model(handler, max_retries=max_retries)

    def load(self, fixture: str) -> Any:
        return anthropic_wire.load_fixture(fixture)

    def stream_events(self, fixture: str) -> list[Any]:
        return anthropic_wire.load_fixture(fixture)

    def stream_reply(self, fixture: str | list[Any]) -> Handler:
        return anthropic_wire.stream_reply(fixture)

    def streamed(self, request: HTTPRequest) -> bool:
        return request.json().get("stream") is True

    def sent_system(self, request: HTTPRequest) -> str | None:
        system = request.json().get("system")
        return None if system is None else _anthropic_text(system)

    def sent_turns(self, request: HTTPRequest) -> list[tuple[str, str]]:
        return [
            (m["role"], _anthropic_text(m["content"]))
            for m in request.json()["messages"]
            if _anthropic_text(m["content"])
        ]

    def _blocks(self, request: HTTPRequest, kind: str) -> list[dict[str, Any]]:
        return [
            b
            for m in request.json()["messages"]
            for b in _anthropic_blocks(m["content"])
            if b["type"] == kind
        ]

    def sent_images(self, request: HTTPRequest) -> list[str]:
        return [
            b["source"]["data"] if b["source"]["type"] == "base64" else b["source"]["url"]
            for b in self._blocks(request, "image")
        ]

    def sent_tools(self, request: HTTPRequest) -> dict[str, list[str]]:
        return {
            t["name"]: sorted(t["input_schema"].get("properties", {}))
            for t in request.json().get("tools", ())
        }

    def sent_tool_choice(self, request: HTTPRequest) -> str | None:
        choice = request.json().get("tool_choice")
        if choice is None:
            return None
        return {"any": "required", "tool": choice.get("name")}.get(choice["type"], choice["type"])

    def sent_tool_calls(self, request: HTTPRequest) -> list[Call]:
        return [(b["name"], b["input"]) for b in self._blocks(request, "tool_use")]

    def sent_tool_results(self, request: HTTPRequest) -> list[tuple[str, str]]:
        return [
            (b["tool_use_id"], _anthropic_text(b["content"]))
            for b in self._blocks(request, "tool_result")
        ]

    def sent_json_schema(self, request: HTTPRequest) -> dict[str, Any] | None:
        # JSON output is a tool the answer is forced through (the tool-use guide's "JSON mode").
        body = request.json()
        forced = (body.get("tool_choice") or {}).get("name")
        for tool in body.get("tools", ()):
            if tool["name"] == forced:
                return tool["input_schema"]
        return None

    def sent_max_tokens(self, request: HTTPRequest) -> int | None:
        return request.json()["max_tokens"]

    def sent_sampling(self, request: HTTPRequest) -> dict[str, Any]:
        body = request.json()
        names = {"temperature": "temperature", "top_p": "top_p", "stop_sequences": "stop"}
        return {ours: body[wire] for wire, ours in names.items() if wire in body}


ANTHROPIC = AnthropicKit(
    name="anthropic",
    text=Reply(
        "message_text",
        text="Hello! How can I help you today?",
        usage=Usage(input_tokens=12, output_tokens=12, total_tokens=24),
    ),
    stream_text=Reply(
        "stream_text",
        text="Hello! How can I help you today?",
        # input 25 after the cache breakpoint + 1024 read from the cache: the whole prompt.
        usage=Usage(input_tokens=1049, output_tokens=15, total_tokens=1064, cache_read_tokens=1024),
    ),
    parallel_calls=Reply(
        "message_tool_use",
        text="I'll check the weather in both cities.",
        calls=(
            ("get_weather", {"location": "San Francisco, CA", "unit": "celsius"}),
            ("get_weather", {"location": "Paris, France", "unit": "celsius"}),
        ),
    ),
    stream_calls=Reply(
        "stream_tool_use",
        text="Okay, let me check the weather and the time:",
        calls=(
            ("get_weather", {"location": "San Francisco, CA", "unit": "fahrenheit"}),
            ("get_time", {"timezone": "America/Los_Angeles"}),
        ),
    ),
    after_tool=Reply("message_after_tool", text="It is 15°C in San Francisco and 18°C in Paris."),
    image=Reply("message_text", text="Hello! How can I help you today?"),
    json_output=Reply("message_json", json={"name": "Ada Lovelace", "born": 1815}),
    length=Reply("message_max_tokens", text="Once upon a time, in a kingdom by the sea, there"),
    withheld=Reply("message_refusal"),
    errors={
        "authentication": ErrorReply(401, "error_authentication"),
        "permission_denied": ErrorReply(403, "error_permission"),
        "not_found": ErrorReply(404, "error_not_found"),
        "bad_request": ErrorReply(400, "error_invalid_request"),
        "context_window": ErrorReply(400, "error_prompt_too_long"),
        # https://docs.anthropic.com/en/api/rate-limits: a 429 carries `retry-after`.
        "rate_limit": ErrorReply(
            429, "error_rate_limit", headers={"retry-after": "7"}, retry_after=7.0
        ),
        "server": ErrorReply(500, "error_api"),
    },
    request_id_header="request-id",
    pairs_results_by="id",
)


# ----------------------------------------------------------------------------- Gemini


def _gemini_text(parts: Sequence[dict[str, Any]]) -> str:
    return "".join(p["text"] for p in parts if "text" in p)


class GeminiKit(AdapterKit):
    """generateContent: `systemInstruction`, `contents` of `user` / `model` turns made of
    parts, `functionDeclarations`, `toolConfig`, `generationConfig`."""

    def model(
        self, handler: Handler, *, max_retries: int = 0
    ) -> tuple[BaseChatModel, MockTransport]:
        return gemini_wire.chat_model(handler, max_retries=max_retries)

    def load(self, fixture: str) -> Any:
        return gemini_wire.load_fixture(fixture)

    def stream_events(self, fixture: str) -> list[Any]:
        return gemini_wire.load_fixture(fixture)

    def stream_reply(self, fixture: str | list[Any]) -> Handler:
        return gemini_wire.stream_reply(fixture)

    def streamed(self, request: HTTPRequest) -> bool:
        return gemini_wire.method_of(request) == "streamGenerateContent"

    def _parts(self, request: HTTPRequest, key: str, role: str | None = None) -> list[Any]:
        return [
            p[key]
            for c in request.json()["contents"]
            if role is None or c["role"] == role
            for p in c["parts"]
            if key in p
        ]

    def sent_system(self, request: HTTPRequest) -> str | None:
        system = request.json().get("systemInstruction")
        return None if system is None else _gemini_text(system["parts"])

    def sent_turns(self, request: HTTPRequest) -> list[tuple[str, str]]:
        roles = {"user": "user", "model": "assistant"}
        return [
            (roles[c["role"]], _gemini_text(c["parts"]))
            for c in request.json()["contents"]
            if _gemini_text(c["parts"])
        ]

    def sent_images(self, request: HTTPRequest) -> list[str]:
        found = []
        for content in request.json()["contents"]:
            for part in content["parts"]:
                if "inlineData" in part:
                    found.append(part["inlineData"]["data"])
                elif "fileData" in part:
                    found.append(part["fileData"]["fileUri"])
        return found

    def sent_tools(self, request: HTTPRequest) -> dict[str, list[str]]:
        return {
            d["name"]: sorted(
                (d.get("parameters") or d.get("parametersJsonSchema") or {}).get("properties", {})
            )
            for tool in request.json().get("tools", ())
            for d in tool.get("functionDeclarations", ())
        }

    def sent_tool_choice(self, request: HTTPRequest) -> str | None:
        config = (request.json().get("toolConfig") or {}).get("functionCallingConfig")
        if config is None:
            return None
        allowed = config.get("allowedFunctionNames") or []
        if config["mode"] == "ANY" and len(allowed) == 1:
            return str(allowed[0])
        return {"ANY": "required", "AUTO": "auto", "NONE": "none"}[config["mode"]]

    def sent_tool_calls(self, request: HTTPRequest) -> list[Call]:
        return [(c["name"], c["args"]) for c in self._parts(request, "functionCall", "model")]

    def sent_tool_results(self, request: HTTPRequest) -> list[tuple[str, str]]:
        # `response` is an object; a plain-text result goes as {"output": text}.
        found = []
        for result in self._parts(request, "functionResponse", "user"):
            response = result["response"]
            text = response["output"] if set(response) == {"output"} else json.dumps(response)
            found.append((result["name"], text))
        return found

    def sent_json_schema(self, request: HTTPRequest) -> dict[str, Any] | None:
        config = request.json().get("generationConfig") or {}
        return config.get("responseJsonSchema")

    def sent_max_tokens(self, request: HTTPRequest) -> int | None:
        return (request.json().get("generationConfig") or {}).get("maxOutputTokens")

    def sent_sampling(self, request: HTTPRequest) -> dict[str, Any]:
        config = request.json().get("generationConfig") or {}
        names = {
            "temperature": "temperature",
            "topP": "top_p",
            "stopSequences": "stop",
            "seed": "seed",
        }
        return {ours: config[wire] for wire, ours in names.items() if wire in config}


GEMINI = GeminiKit(
    name="gemini",
    text=Reply(
        "generate_text",
        text="Hello! How can I help you today?",
        # Thinking tokens (36) are billed as output: 9 + 36.
        usage=Usage(input_tokens=1200, output_tokens=45, total_tokens=1245, cache_read_tokens=1024),
    ),
    stream_text=Reply(
        "stream_text",
        text="Hello! How can I help you today?",
        usage=Usage(input_tokens=1200, output_tokens=45, total_tokens=1245, cache_read_tokens=1024),
    ),
    parallel_calls=Reply(
        "generate_parallel_calls",
        text="I'll check both for you.",
        calls=(
            ("get_weather", {"city": "Tokyo", "unit": "celsius"}),
            ("get_weather", {"city": "Mumbai", "unit": "celsius"}),
            ("get_time", {"timezone": "Asia/Tokyo"}),
        ),
    ),
    stream_calls=Reply(
        "stream_function_call",
        calls=(
            ("get_weather", {"city": "Tokyo", "unit": "celsius"}),
            ("get_time", {"timezone": "Asia/Tokyo"}),
        ),
    ),
    after_tool=Reply("generate_after_tool", text="It is 18°C in Paris right now."),
    image=Reply("generate_text", text="Hello! How can I help you today?"),
    json_output=Reply("generate_json", json={"name": "Ada Lovelace", "born": 1815}),
    length=Reply("generate_max_tokens", text="The history of the Roman Empire spans"),
    withheld=Reply("generate_candidate_safety"),
    errors={
        "authentication": ErrorReply(401, "error_unauthenticated"),
        "permission_denied": ErrorReply(403, "error_permission_denied"),
        "not_found": ErrorReply(404, "error_not_found"),
        "bad_request": ErrorReply(400, "error_invalid_argument"),
        "context_window": ErrorReply(400, "error_context_too_long"),
        # No Retry-After header: the wait is the body's google.rpc.RetryInfo.retryDelay.
        "rate_limit": ErrorReply(429, "error_resource_exhausted", retry_after=26.0),
        "server": ErrorReply(500, "error_internal"),
    },
    request_id_header="x-goog-request-id",
    pairs_results_by="name",
)


# ----------------------------------------------------------------------------- Ollama


class OllamaKit(AdapterKit):
    """/api/chat: `messages` with roles, bare base64 `images`, tool calls without ids,
    tool results named by `tool_name`, `format`, Modelfile `options`; NDJSON streams."""

    def model(
        self, handler: Handler, *, max_retries: int = 0
    ) -> tuple[BaseChatModel, MockTransport]:
        return ollama_wire.chat_model(handler, max_retries=max_retries)

    def load(self, fixture: str) -> Any:
        return ollama_wire.load_fixture(fixture)

    def stream_events(self, fixture: str) -> list[Any]:
        return ollama_wire.load_lines(fixture)

    def stream_reply(self, fixture: str | list[Any]) -> Handler:
        return ollama_wire.stream_reply(fixture)

    def streamed(self, request: HTTPRequest) -> bool:
        return request.json()["stream"] is True

    def _messages(self, request: HTTPRequest, *roles: str) -> list[dict[str, Any]]:
        return [m for m in request.json()["messages"] if m["role"] in roles]

    def sent_system(self, request: HTTPRequest) -> str | None:
        return _joined([m["content"] for m in self._messages(request, "system")])

    def sent_turns(self, request: HTTPRequest) -> list[tuple[str, str]]:
        return [
            (m["role"], m["content"])
            for m in self._messages(request, "user", "assistant")
            if m["content"]
        ]

    def sent_images(self, request: HTTPRequest) -> list[str]:
        return [i for m in request.json()["messages"] for i in m.get("images") or ()]

    def sent_tools(self, request: HTTPRequest) -> dict[str, list[str]]:
        return {
            t["function"]["name"]: sorted(t["function"]["parameters"].get("properties", {}))
            for t in request.json().get("tools", ())
        }

    def sent_tool_choice(self, request: HTTPRequest) -> str | None:
        return None  # /api/chat has no tool choice

    def sent_tool_calls(self, request: HTTPRequest) -> list[Call]:
        return [
            (c["function"]["name"], c["function"]["arguments"])
            for m in self._messages(request, "assistant")
            for c in m.get("tool_calls") or ()
        ]

    def sent_tool_results(self, request: HTTPRequest) -> list[tuple[str, str]]:
        return [(m["tool_name"], m["content"]) for m in self._messages(request, "tool")]

    def sent_json_schema(self, request: HTTPRequest) -> dict[str, Any] | None:
        fmt = request.json().get("format")
        return fmt if isinstance(fmt, dict) else None

    def sent_max_tokens(self, request: HTTPRequest) -> int | None:
        return (request.json().get("options") or {}).get("num_predict")

    def sent_sampling(self, request: HTTPRequest) -> dict[str, Any]:
        options = request.json().get("options") or {}
        return {k: options[k] for k in ("temperature", "top_p", "stop", "seed") if k in options}


OLLAMA = OllamaKit(
    name="ollama",
    text=Reply(
        "chat_text",
        text="Hello! How are you today?",
        usage=Usage(input_tokens=26, output_tokens=298, total_tokens=324),
    ),
    stream_text=Reply(
        "stream_text",
        text="The sky is blue.",
        usage=Usage(input_tokens=26, output_tokens=282, total_tokens=308),
    ),
    parallel_calls=Reply(
        "chat_parallel_tool_calls",
        calls=(("get_weather", {"city": "Tokyo"}), ("get_weather", {"city": "Paris"})),
    ),
    stream_calls=Reply("stream_tool_calls", calls=(("get_weather", {"city": "Tokyo"}),)),
    after_tool=Reply("chat_after_tool", text="The current temperature in Toronto is 11°C."),
    image=Reply(
        "chat_images",
        text=(
            " The image features a cute, little pig with an angry facial expression. It's "
            "wearing a heart on its shirt and is waving in the air. This scene appears to be "
            "part of a drawing or sketching project."
        ),
    ),
    json_output=Reply("chat_structured", json={"age": 22, "available": False}),
    length=Reply("chat_length", text="The sky appears blue because of a phenomenon called"),
    withheld=None,
    errors={
        # 401 and 429 come from ollama.com (or a proxy in front of Ollama), in Ollama's
        # documented error shape, {"error": "..."} (docs.ollama.com/api/errors).
        "authentication": ErrorReply(401, "error_unauthorized"),
        # Ollama's allowed-hosts check answers 403 with no body at all
        # (server/routes.go, allowedHostsMiddleware: c.AbortWithStatus(403)).
        "permission_denied": ErrorReply(403, None),
        "not_found": ErrorReply(404, "error_model_not_found"),
        "bad_request": ErrorReply(400, "error_bad_request"),
        # ollama.com's usage-limit 429 carries no Retry-After (nor any rate-limit header).
        "rate_limit": ErrorReply(429, "error_rate_limit", retry_after=None),
        "server": ErrorReply(500, "error_server"),
    },
    request_id_header=None,  # Ollama sends no request id
    pairs_results_by="name",
    unsupported={
        "forced_tool_choice": Unsupported(
            "Ollama's /api/chat has no tool_choice: it cannot force a tool call",
            refusal="Ollama cannot force a tool call",
        ),
        "image_url": Unsupported(
            "Ollama's /api/chat takes images only as base64 `images`, never by URL",
            refusal="Ollama takes images as base64 data, not URLs",
        ),
        "context_window": Unsupported(
            "Ollama's /api/chat never refuses a long prompt: it truncates it to the "
            "model's num_ctx, so there is no context-length error to map"
        ),
        "withheld_answer": Unsupported(
            "Ollama has no safety filter: /api/chat has no done_reason for a withheld answer"
        ),
    },
)


# ----------------------------------------------------------------------- Azure OpenAI

_AZURE_FIXTURES = openai_wire.FIXTURES.parent / "azure"


class AzureKit(OpenAIKit):
    """Azure OpenAI: Chat Completions on a deployment URL with `api-version`, the
    `api-key` header, and content-filter results on prompts and answers."""

    def model(
        self, handler: Handler, *, max_retries: int = 0
    ) -> tuple[BaseChatModel, MockTransport]:
        from conduit.providers.azure import AzureOpenAIChatModel

        def checked(request: HTTPRequest) -> Any:
            assert "/openai/deployments/gpt-4o/chat/completions?api-version=" in request.url
            assert request.headers["api-key"] == "azure-test-key-0123"
            return handler(request)

        transport = openai_wire.validating_transport(checked)
        model = AzureOpenAIChatModel(
            "gpt-4o",
            azure_endpoint="https://contoso.openai.azure.com",
            api_version="2024-10-21",
            api_key="azure-test-key-0123",
            transport=transport,
            max_retries=max_retries,
        )
        return model, transport

    def load(self, fixture: str) -> Any:
        path = _AZURE_FIXTURES / f"{fixture}.json"
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
        return openai_wire.load_fixture(fixture)


AZURE = AzureKit(
    name="azure",
    text=Reply(
        "chat_completion_text",
        text="Hello! How can I help you today?",
        usage=Usage(input_tokens=1200, output_tokens=10, total_tokens=1210, cache_read_tokens=1024),
    ),
    stream_text=OPENAI.stream_text,
    parallel_calls=OPENAI.parallel_calls,
    stream_calls=OPENAI.stream_calls,
    after_tool=OPENAI.after_tool,
    image=Reply("chat_completion_text", text="Hello! How can I help you today?"),
    json_output=OPENAI.json_output,
    length=OPENAI.length,
    withheld=Reply("chat_completion_content_filter"),
    errors={
        "authentication": ErrorReply(401, "error_unauthorized"),
        "permission_denied": ErrorReply(403, "error_permission_denied"),
        "not_found": ErrorReply(404, "error_deployment_not_found"),
        "bad_request": ErrorReply(400, "error_invalid_request"),
        "context_window": ErrorReply(400, "error_context_length_exceeded"),
        "rate_limit": ErrorReply(
            429, "error_rate_limit", headers={"retry-after": "3"}, retry_after=3.0
        ),
        "server": ErrorReply(500, "error_server"),
    },
    request_id_header="x-request-id",
    pairs_results_by="id",
)


# ---------------------------------------------------------------------------- Bedrock


def _bedrock_text(content: Sequence[dict[str, Any]]) -> str:
    return "".join(b["text"] for b in content if "text" in b)


class BedrockKit(AdapterKit):
    """Converse: `system` blocks, alternating `messages` of `text` / `image` / `toolUse` /
    `toolResult` blocks, `inferenceConfig`, `toolConfig`; ConverseStream answers in the
    AWS event-stream framing. Requests are validated against botocore's service model."""

    def model(
        self, handler: Handler, *, max_retries: int = 0
    ) -> tuple[BaseChatModel, MockTransport]:
        return bedrock_wire.chat_model(handler, max_retries=max_retries)

    def load(self, fixture: str) -> Any:
        return bedrock_wire.load_fixture(fixture)

    def stream_events(self, fixture: str) -> list[Any]:
        return list(bedrock_wire.load_fixture(fixture))

    def stream_reply(self, fixture: str | list[Any]) -> Handler:
        return bedrock_wire.stream_reply(fixture)

    def error_reply(self, case: ErrorReply, **headers: str) -> Handler:
        kinds = {
            400: "ValidationException",
            403: "AccessDeniedException",
            404: "ResourceNotFoundException",
            429: "ThrottlingException",
        }
        sent = {"x-amzn-errortype": f"{kinds.get(case.status, 'InternalServerException')}:"}
        return super().error_reply(
            ErrorReply(case.status, case.fixture, {**case.headers, **sent}), **headers
        )

    def streamed(self, request: HTTPRequest) -> bool:
        return request.url.endswith("/converse-stream")

    def _blocks(self, request: HTTPRequest, key: str) -> list[Any]:
        return [b[key] for m in request.json()["messages"] for b in m["content"] if key in b]

    def sent_system(self, request: HTTPRequest) -> str | None:
        system = request.json().get("system")
        return None if system is None else _bedrock_text(system)

    def sent_turns(self, request: HTTPRequest) -> list[tuple[str, str]]:
        return [
            (m["role"], _bedrock_text(m["content"]))
            for m in request.json()["messages"]
            if _bedrock_text(m["content"])
        ]

    def sent_images(self, request: HTTPRequest) -> list[str]:
        return [i["source"]["bytes"] for i in self._blocks(request, "image")]

    def _config(self, request: HTTPRequest) -> dict[str, Any]:
        config: dict[str, Any] = request.json().get("toolConfig") or {}
        return config

    def sent_tools(self, request: HTTPRequest) -> dict[str, list[str]]:
        return {
            t["toolSpec"]["name"]: sorted(
                t["toolSpec"]["inputSchema"]["json"].get("properties", {})
            )
            for t in self._config(request).get("tools", ())
        }

    def sent_tool_choice(self, request: HTTPRequest) -> str | None:
        choice = self._config(request).get("toolChoice")
        if choice is None:
            return None
        if "tool" in choice:
            return str(choice["tool"]["name"])
        return {"any": "required", "auto": "auto"}[next(iter(choice))]

    def sent_tool_calls(self, request: HTTPRequest) -> list[Call]:
        return [(u["name"], u["input"]) for u in self._blocks(request, "toolUse")]

    def sent_tool_results(self, request: HTTPRequest) -> list[tuple[str, str]]:
        return [
            (r["toolUseId"], _bedrock_text(r["content"]))
            for r in self._blocks(request, "toolResult")
        ]

    def sent_json_schema(self, request: HTTPRequest) -> dict[str, Any] | None:
        config = self._config(request)
        forced = (config.get("toolChoice") or {}).get("tool", {}).get("name")
        for tool in config.get("tools", ()):
            if tool["toolSpec"]["name"] == forced:
                schema: dict[str, Any] = tool["toolSpec"]["inputSchema"]["json"]
                return schema
        return None

    def sent_max_tokens(self, request: HTTPRequest) -> int | None:
        return (request.json().get("inferenceConfig") or {}).get("maxTokens")

    def sent_sampling(self, request: HTTPRequest) -> dict[str, Any]:
        config = request.json().get("inferenceConfig") or {}
        names = {"temperature": "temperature", "topP": "top_p", "stopSequences": "stop"}
        return {ours: config[wire] for wire, ours in names.items() if wire in config}


BEDROCK = BedrockKit(
    name="bedrock",
    text=Reply(
        "converse_text",
        text="Hello! How can I help you today?",
        usage=Usage(input_tokens=1200, output_tokens=10, total_tokens=1210, cache_read_tokens=1024),
    ),
    stream_text=Reply(
        "stream_text",
        text="Hello! How can I help you today?",
        usage=Usage(input_tokens=1200, output_tokens=9, total_tokens=1209, cache_read_tokens=1024),
    ),
    parallel_calls=Reply(
        "converse_tool_use",
        text="I'll check the weather in both cities.",
        calls=(
            ("get_weather", {"city": "Paris", "unit": "celsius"}),
            ("get_weather", {"city": "Tokyo", "unit": "celsius"}),
        ),
    ),
    stream_calls=Reply(
        "stream_tool_use",
        calls=(("get_weather", {"city": "Paris"}), ("get_time", {"timezone": "Asia/Tokyo"})),
    ),
    after_tool=Reply("converse_after_tool", text="It is 18°C in Paris and 24°C in Tokyo."),
    image=Reply("converse_text", text="Hello! How can I help you today?"),
    json_output=Reply("converse_json", json={"name": "Ada Lovelace", "born": 1815}),
    length=Reply("converse_max_tokens", text="Once upon a time, in a land far"),
    withheld=Reply("converse_guardrail"),
    errors={
        "permission_denied": ErrorReply(403, "error_access_denied"),
        "not_found": ErrorReply(404, "error_not_found"),
        "bad_request": ErrorReply(400, "error_validation"),
        "context_window": ErrorReply(400, "error_input_too_long"),
        # Bedrock sends no Retry-After: the adapter's backoff decides.
        "rate_limit": ErrorReply(429, "error_throttling", retry_after=None),
        "server": ErrorReply(500, "error_internal"),
    },
    request_id_header="x-amzn-requestid",
    pairs_results_by="id",
    unsupported={
        "authentication": Unsupported(
            "AWS answers bad credentials with HTTP 403 UnrecognizedClientException, never "
            "401 (tests/providers/bedrock covers its AuthenticationError)"
        ),
        "image_url": Unsupported(
            "Converse takes images only as bytes, never by URL",
            refusal="Bedrock takes images as bytes, not URLs",
        ),
    },
)


# -------------------------------------------------------------------------- Vertex AI


class _FakeGoogleCredentials:
    """Stands in for google-auth credentials: a token valid for an hour."""

    def __init__(self) -> None:
        self.token = "ya29.vertex-test-token"
        self.expiry = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)

    def refresh(self, request: Any) -> None:  # pragma: no cover - the token stays valid
        raise AssertionError("no refresh expected")


_VERTEX_ROOT = "https://us-east5-aiplatform.googleapis.com/v1/projects/p-1/locations/us-east5"


def _vertex_checked(handler: Handler, publisher: str) -> Handler:
    def checked(request: HTTPRequest) -> Any:
        assert request.url.startswith(f"{_VERTEX_ROOT}/publishers/{publisher}/models/")
        assert request.headers["authorization"] == "Bearer ya29.vertex-test-token"
        return handler(request)

    return checked


class VertexGeminiKit(GeminiKit):
    """Gemini on Vertex AI: the Gemini wire format on Vertex's URL shape, OAuth bearer."""

    def model(
        self, handler: Handler, *, max_retries: int = 0
    ) -> tuple[BaseChatModel, MockTransport]:
        from conduit.providers.vertex import VertexGeminiChatModel

        transport = gemini_wire.validating_transport(_vertex_checked(handler, "google"))
        model = VertexGeminiChatModel(
            "gemini-2.5-flash",
            project="p-1",
            location="us-east5",
            credentials=_FakeGoogleCredentials(),
            transport=transport,
            max_retries=max_retries,
        )
        return model, transport


class VertexAnthropicKit(AnthropicKit):
    """Claude on Vertex AI: `rawPredict` / `streamRawPredict`, the model in the URL,
    `anthropic_version: "vertex-2023-10-16"` in the body."""

    def model(
        self, handler: Handler, *, max_retries: int = 0
    ) -> tuple[BaseChatModel, MockTransport]:
        from conduit.providers.vertex import VertexAnthropicChatModel

        name = "claude-sonnet-4-5@20250929"

        def checked(request: HTTPRequest) -> Any:
            body = request.json()
            assert body.pop("anthropic_version") == "vertex-2023-10-16"
            assert "model" not in body
            action = "streamRawPredict" if body.get("stream") else "rawPredict"
            assert request.url.endswith(f"/models/{name}:{action}")
            anthropic_wire.assert_valid_anthropic_request({"model": name, **body})
            return _vertex_checked(handler, "anthropic")(request)

        transport = MockTransport(checked)
        model = VertexAnthropicChatModel(
            name,
            project="p-1",
            location="us-east5",
            credentials=_FakeGoogleCredentials(),
            transport=transport,
            max_retries=max_retries,
        )
        return model, transport


def _as(kit_class: type[AdapterKit], kit: AdapterKit, name: str) -> AdapterKit:
    values = {f.name: getattr(kit, f.name) for f in fields(kit)}
    return kit_class(**{**values, "name": name})


VERTEX_GEMINI = _as(VertexGeminiKit, GEMINI, "vertex")
VERTEX_ANTHROPIC = _as(VertexAnthropicKit, ANTHROPIC, "vertex-anthropic")


KITS: tuple[AdapterKit, ...] = (
    OPENAI,
    ANTHROPIC,
    GEMINI,
    OLLAMA,
    AZURE,
    BEDROCK,
    VERTEX_GEMINI,
    VERTEX_ANTHROPIC,
)


# ----------------------------------------------------------- parametrizing the suite


def _marks(kit: AdapterKit, behaviour: str) -> list[pytest.MarkDecorator]:
    marks = []
    gap = kit.unsupported.get(behaviour)
    if gap is not None and gap.refusal is None:
        marks.append(pytest.mark.skip(reason=f"{kit.name}: {gap.reason}"))
    reason = kit.known_failures.get(behaviour)
    if reason is not None:
        marks.append(pytest.mark.xfail(strict=True, reason=f"{kit.name}: {reason}"))
    return marks


def adapters(behaviour: str) -> list[Any]:
    """Every kit as a `kit` parameter for `behaviour`, skipped where the API cannot do it
    (and the adapter has nothing to refuse) and xfailed where the adapter does not meet
    the contract yet."""
    return [pytest.param(kit, id=kit.name, marks=_marks(kit, behaviour)) for kit in KITS]


def error_cases(kinds: Sequence[str]) -> list[Any]:
    """(kit, kind) parameters for each error kind, with the same skips and xfails."""
    return [
        pytest.param(kit, kind, id=f"{kit.name}-{kind}", marks=_marks(kit, kind))
        for kind in kinds
        for kit in KITS
    ]
