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

import collections.abc
import inspect
import json
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest
import typing_extensions
from openai import BaseModel as OpenAIBaseModel
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

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "openai"

_REQUEST_TYPES: dict[str, Any] = {
    "chat": completion_create_params.CompletionCreateParamsNonStreaming,
    "chat_stream": completion_create_params.CompletionCreateParamsStreaming,
    "embeddings": embedding_create_params.EmbeddingCreateParams,
}
_ADAPTERS: dict[str, pydantic.TypeAdapter[Any]] = {
    name: pydantic.TypeAdapter(tp) for name, tp in _REQUEST_TYPES.items()
}
_SEQUENCE_ORIGINS = (
    list,
    collections.abc.Iterable,
    collections.abc.Sequence,
    collections.abc.Collection,
)
_UNWRAP = (typing.Required, typing.NotRequired)


# --------------------------------------------------------------------------- requests


def _materialize(value: Any) -> Any:
    """Iterate pydantic's lazy validators so errors inside `Iterable[...]` surface."""
    if isinstance(value, dict):
        return {k: _materialize(v) for k, v in value.items()}
    if isinstance(value, str | bytes | int | float | bool | None):
        return value
    if isinstance(value, collections.abc.Iterable):
        return [_materialize(v) for v in value]
    return value


def _wire_keys(td: type) -> dict[str, Any]:
    """Wire key → annotation for a TypedDict (honouring the SDK's `PropertyInfo(alias=)`)."""
    hints = typing.get_type_hints(td, include_extras=True)
    keys: dict[str, Any] = {}
    for name, hint in hints.items():
        wire = name
        inner = hint
        while typing.get_origin(inner) in _UNWRAP:
            inner = typing.get_args(inner)[0]
        if typing.get_origin(inner) is typing.Annotated:
            for meta in inner.__metadata__:
                alias = getattr(meta, "alias", None)
                if isinstance(alias, str):
                    wire = alias
        keys[wire] = hint
    return keys


def _leaf_problem(tp: Any, value: Any, path: str) -> list[str]:
    try:
        pydantic.TypeAdapter(tp).validate_python(value, strict=True)
    except pydantic.ValidationError as exc:
        return [f"{path}: {exc.errors(include_url=False)[0]['msg']} (got {value!r})"]
    return []


def _problems(tp: Any, value: Any, path: str) -> list[str]:
    """Every way `value` departs from the SDK type `tp` (empty: it fits exactly)."""
    if tp is Any or tp is object:
        return []
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in _UNWRAP or origin is typing.Annotated:
        return _problems(args[0], value, path)
    if typing_extensions.is_typeddict(tp):
        if not isinstance(value, dict):
            return [f"{path}: expected an object for {tp.__name__}, got {value!r}"]
        known = _wire_keys(tp)
        found: list[str] = []
        for key, item in value.items():
            if key not in known:
                found.append(f"{path}.{key}: not a field of {tp.__name__}")
            else:
                found.extend(_problems(known[key], item, f"{path}.{key}"))
        found.extend(
            f"{path}.{key}: required by {tp.__name__} but missing"
            for key in tp.__required_keys__
            if key not in value
        )
        return found
    if origin is typing.Union or origin is types.UnionType:
        results = [_problems(arg, value, path) for arg in args]
        if any(not r for r in results):
            return []
        return min(results, key=len)
    if origin is typing.Literal:
        return [] if value in args else [f"{path}: {value!r} is not one of {args!r}"]
    if origin in _SEQUENCE_ORIGINS:
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {value!r}"]
        return [p for i, item in enumerate(value) for p in _problems(args[0], item, f"{path}[{i}]")]
    if origin in (dict, collections.abc.Mapping):
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {value!r}"]
        return [p for k, item in value.items() for p in _problems(args[1], item, f"{path}.{k}")]
    return _leaf_problem(tp, value, path)


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


def _extras(obj: Any, path: str) -> Iterator[str]:
    if isinstance(obj, OpenAIBaseModel | pydantic.BaseModel):
        for key in obj.model_extra or {}:
            yield f"{path}.{key} ({type(obj).__name__})"
        for name in type(obj).model_fields:
            yield from _extras(getattr(obj, name), f"{path}.{name}")
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            yield from _extras(item, f"{path}[{i}]")


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
