"""Shared helpers for the OpenAI adapter tests.

Independent check: every request body the adapter builds is validated against the
official `openai` SDK's own request TypedDicts, and every wire fixture against the SDK's
response models. Pydantic alone is not enough for either:

* a `TypeAdapter` over a TypedDict ignores unknown keys (and refuses `config=`), and it
  validates `Iterable[...]` fields lazily, so a bad message inside `messages` passes
  unless the result is iterated;
* the SDK's response models allow extra fields.

So `assert_valid_openai_request` runs the SDK `TypeAdapter` (materializing the lazy
iterables) *and* a structural walk over the TypedDicts that rejects any key the SDK
does not define; `assert_valid_openai_response` parses with the SDK model and then
asserts no model in the parsed tree kept an unknown field.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pydantic
import pytest
from openai.types import CreateEmbeddingResponse, embedding_create_params
from openai.types.chat import ChatCompletion, ChatCompletionChunk, completion_create_params
from openai.types.shared import ErrorObject

from conduit.providers.openai import OpenAIChatModel, OpenAIEmbedder
from conduit.transport import (
    Handler,
    HTTPRequest,
    HTTPResponse,
    MockTransport,
    json_response,
    sse_response,
)
from tests.support.sdk_types import extras as _extras
from tests.support.sdk_types import materialize as _materialize
from tests.support.sdk_types import problems as _problems

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "openai"

_REQUEST_TYPES: dict[str, Any] = {
    "chat": completion_create_params.CompletionCreateParamsNonStreaming,
    "chat_stream": completion_create_params.CompletionCreateParamsStreaming,
    "embeddings": embedding_create_params.EmbeddingCreateParams,
}
_ADAPTERS: dict[str, pydantic.TypeAdapter[Any]] = {
    name: pydantic.TypeAdapter(tp) for name, tp in _REQUEST_TYPES.items()
}


def request_kind(payload: dict[str, Any]) -> str:
    if "messages" in payload:
        return "chat_stream" if payload.get("stream") else "chat"
    return "embeddings"


def assert_valid_openai_request(payload: dict[str, Any], kind: str | None = None) -> None:
    """Fail unless `payload` is a body the official SDK's request types accept exactly.

    `kind` is "chat", "chat_stream" or "embeddings"; by default it is inferred.
    """
    kind = kind or request_kind(payload)
    try:
        _materialize(_ADAPTERS[kind].validate_python(payload))
    except pydantic.ValidationError as exc:
        pytest.fail(f"request does not validate against the openai SDK ({kind}):\n{exc}")
    problems = _problems(_REQUEST_TYPES[kind], payload, "$")
    if problems:
        pytest.fail(f"request departs from the openai SDK types ({kind}):\n" + "\n".join(problems))


# -------------------------------------------------------------------------- responses


_RESPONSE_MODELS: dict[str, type[pydantic.BaseModel]] = {
    "chat": ChatCompletion,
    "chunk": ChatCompletionChunk,
    "embeddings": CreateEmbeddingResponse,
    "error": ErrorObject,
}


def assert_valid_openai_response(data: Any, kind: str) -> pydantic.BaseModel:
    """Parse `data` with the SDK's model for `kind` ("chat", "chunk", "embeddings",
    "error" — the error *body*, `{"error": {...}}`) and insist on no unknown fields."""
    model = _RESPONSE_MODELS[kind]
    if kind == "error":
        assert set(data) == {"error"}, data
        assert set(data["error"]) == {"message", "type", "param", "code"}, data
        data = data["error"]
    parsed = model.model_validate(data)
    extras = list(_extras(parsed, "$"))
    assert not extras, f"fields unknown to the openai SDK's {model.__name__}: {extras}"
    return parsed


# --------------------------------------------------------------------------- fixtures


def load_fixture(name: str) -> Any:
    """A wire fixture from tests/fixtures/openai/ (`.json` added when missing)."""
    if not name.endswith(".json"):
        name += ".json"
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def validating_transport(handler: Handler, *, validate: bool = True) -> MockTransport:
    """A `MockTransport` that first checks each request body against the SDK's types."""

    async def checked(request: HTTPRequest) -> HTTPResponse:
        if validate:
            kind = "embeddings" if request.url.endswith("/embeddings") else None
            assert_valid_openai_request(request.json(), kind)
        result = handler(request)
        return await result if inspect.isawaitable(result) else result

    return MockTransport(checked)


# ----------------------------------------------------------------------- model helpers

TEST_KEY = "sk-test-0123456789abcdef"


def reply(name_or_data: str | Any, status: int = 200, **headers: str) -> Handler:
    """A handler answering every request with a JSON fixture (by name) or literal data."""
    data = load_fixture(name_or_data) if isinstance(name_or_data, str) else name_or_data
    return lambda request: json_response(data, status=status, headers=headers or None)


def stream_reply(name_or_chunks: str | list[Any], **kwargs: Any) -> Handler:
    """A handler answering with a stream fixture (by name) or literal chunks as SSE."""
    chunks = load_fixture(name_or_chunks) if isinstance(name_or_chunks, str) else name_or_chunks
    return lambda request: sse_response(chunks, **kwargs)


def chat_model(
    handler: Handler, *, name: str = "gpt-4o", validate: bool = True, **config: Any
) -> tuple[OpenAIChatModel, MockTransport]:
    """An `OpenAIChatModel` on a validating mock transport (no retries unless asked)."""
    transport = validating_transport(handler, validate=validate)
    config.setdefault("api_key", TEST_KEY)
    config.setdefault("max_retries", 0)
    return OpenAIChatModel(name, transport=transport, **config), transport


def embedder(
    handler: Handler, *, name: str = "text-embedding-3-small", **config: Any
) -> tuple[OpenAIEmbedder, MockTransport]:
    """An `OpenAIEmbedder` on a validating mock transport."""
    transport = validating_transport(handler)
    config.setdefault("api_key", TEST_KEY)
    config.setdefault("max_retries", 0)
    return OpenAIEmbedder(name, transport=transport, **config), transport


def headers_of(request: HTTPRequest) -> dict[str, str]:
    """Request headers with lower-case names."""
    return {k.lower(): v for k, v in request.headers.items()}
