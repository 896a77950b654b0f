"""Shared helpers for the Gemini adapter tests.

Independent check: every request body the adapter builds is validated against the
official `google-genai` SDK's own types, and every wire fixture parses with the SDK's
response models. The SDK's pydantic models name fields in snake_case with camelCase
aliases and `populate_by_name=True`, so `model_validate` alone would also accept
`mime_type` where the wire needs `mimeType`; its enums are case-insensitive, so it would
accept `"object"` for `"OBJECT"`. So `assert_sdk_shape` does two things:

* `model_validate_json` of the JSON text (JSON mode: base64 `bytes`, enums, and the
  models' `extra="forbid"` reject unknown keys), and
* a structural walk that insists every key is a field's camelCase *alias* and every enum
  value is spelled exactly as the SDK's enum spells it.

The REST request bodies themselves have no SDK class (the SDK builds them from its
`GenerateContentConfig`), so their top-level keys are checked against the ones the SDK's
Gemini Developer API converters write (`_GenerateContentParameters_to_mldev`,
`_EmbedContentParametersPrivate_to_mldev`), each value against its SDK type.
"""

from __future__ import annotations

import enum
import inspect
import json
import types
import typing
from pathlib import Path
from typing import Any

import pydantic
import pytest
from google.genai import types as gt

from conduit.providers.gemini import GeminiChatModel, GeminiEmbedder
from conduit.transport import (
    Handler,
    HTTPRequest,
    HTTPResponse,
    MockTransport,
    json_response,
    sse_response,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gemini"
BASE = "https://generativelanguage.googleapis.com/v1beta"
TEST_KEY = "gemini-test-key-0123456789abcdef"

# ----------------------------------------------------------------- the SDK shape walk

# Wire names the SDK's models spell differently and rename on the way in (the SDK's own
# `CitationMetadata._rename_citation_sources` validator; the REST reference names the
# field `citationSources`).
_WIRE_RENAMES: dict[tuple[type[pydantic.BaseModel], str], str] = {
    (gt.CitationMetadata, "citationSources"): "citations",
}


def _problems(tp: Any, value: Any, path: str) -> list[str]:
    """Every way `value` (wire JSON) departs from the SDK type `tp` (empty: it fits)."""
    if tp is Any or tp is object:
        return []
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _problems(args[0], value, path)
    if origin is typing.Union or origin is types.UnionType:
        if value is None and type(None) in args:
            return []
        results = [_problems(arg, value, path) for arg in args if arg is not type(None)]
        if any(not r for r in results):
            return []
        return min(results, key=len)
    if inspect.isclass(tp) and issubclass(tp, pydantic.BaseModel):
        if not isinstance(value, dict):
            return [f"{path}: expected an object for {tp.__name__}, got {value!r}"]
        tp.model_rebuild()
        by_alias: dict[str, Any] = {(f.alias or name): f for name, f in tp.model_fields.items()}
        found: list[str] = []
        for key, item in value.items():
            field = by_alias.get(_WIRE_RENAMES.get((tp, key)) or str(key))
            if field is None:
                found.append(f"{path}.{key}: not a (camelCase) field of {tp.__name__}")
            else:
                found.extend(_problems(field.annotation, item, f"{path}.{key}"))
        return found
    if inspect.isclass(tp) and issubclass(tp, enum.Enum):
        allowed = [e.value for e in tp]
        return [] if value in allowed else [f"{path}: {value!r} is not one of {tp.__name__}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {value!r}"]
        return [p for i, item in enumerate(value) for p in _problems(args[0], item, f"{path}[{i}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {value!r}"]
        return [p for k, item in value.items() for p in _problems(args[1], item, f"{path}.{k}")]
    if origin is typing.Literal:
        return [] if value in args else [f"{path}: {value!r} is not one of {args!r}"]
    if tp is bytes:
        return [] if isinstance(value, str) else [f"{path}: expected base64 text, got {value!r}"]
    try:
        pydantic.TypeAdapter(tp).validate_json(json.dumps(value), strict=True)
    except pydantic.ValidationError as exc:
        return [f"{path}: {exc.errors(include_url=False)[0]['msg']} (got {value!r})"]
    return []


def assert_sdk_shape(model: type[pydantic.BaseModel], data: Any, where: str = "$") -> Any:
    """Parse `data` with the SDK `model` (JSON mode) and insist on its exact wire spelling."""
    try:
        parsed = model.model_validate_json(json.dumps(data))
    except pydantic.ValidationError as exc:
        pytest.fail(f"{where} does not validate as google.genai {model.__name__}:\n{exc}")
    problems = _problems(model, data, where)
    if problems:
        pytest.fail(f"{where} departs from google.genai {model.__name__}:\n" + "\n".join(problems))
    return parsed


# --------------------------------------------------------------------------- requests

# The generateContent body keys the SDK writes for the Gemini Developer API.
_GENERATE_KEYS: dict[str, Any] = {
    "contents": list[gt.Content],
    "systemInstruction": gt.Content,
    "tools": list[gt.Tool],
    "toolConfig": gt.ToolConfig,
    "generationConfig": gt.GenerationConfig,
    "safetySettings": list[gt.SafetySetting],
    "cachedContent": str,
}
_EMBED_KEYS: dict[str, Any] = {
    "content": gt.Content,
    "taskType": str,
    "title": str,
    "outputDimensionality": int,
}


def _check_body(body: Any, keys: dict[str, Any], required: set[str], where: str) -> None:
    assert isinstance(body, dict), f"{where}: not an object"
    unknown = set(body) - set(keys)
    assert not unknown, f"{where}: keys the Gemini API does not take: {sorted(unknown)}"
    missing = required - set(body)
    assert not missing, f"{where}: missing {sorted(missing)}"
    for key, value in body.items():
        tp = keys[key]
        origin = typing.get_origin(tp)
        if origin is list:
            (item_type,) = typing.get_args(tp)
            assert isinstance(value, list), f"{where}.{key}: not a list"
            for i, item in enumerate(value):
                assert_sdk_shape(item_type, item, f"{where}.{key}[{i}]")
        elif inspect.isclass(tp) and issubclass(tp, pydantic.BaseModel):
            assert_sdk_shape(tp, value, f"{where}.{key}")
        else:
            assert isinstance(value, tp), f"{where}.{key}"
            assert not isinstance(value, bool), f"{where}.{key}"


def assert_valid_gemini_request(body: Any, method: str) -> None:
    """Fail unless `body` is a request body for `method` ("generateContent",
    "streamGenerateContent", "embedContent", "batchEmbedContents") as the SDK types have it."""
    if method in ("generateContent", "streamGenerateContent"):
        _check_body(body, _GENERATE_KEYS, {"contents"}, "$")
        # Each turn's role is one the API knows.
        for content in body["contents"]:
            assert content.get("role") in ("user", "model"), content
            assert content.get("parts"), "a turn without parts is refused"
        config = body.get("generationConfig") or {}
        if "responseJsonSchema" in config or "responseSchema" in config:
            assert config.get("responseMimeType") == "application/json"
        assert not ("responseJsonSchema" in config and "responseSchema" in config)
        for tool in body.get("tools") or ():
            for declaration in tool.get("functionDeclarations") or ():
                assert not ("parameters" in declaration and "parametersJsonSchema" in declaration)
    elif method == "embedContent":
        _check_body(body, _EMBED_KEYS, {"content"}, "$")
    elif method == "batchEmbedContents":
        assert set(body) == {"requests"}, body
        for i, request in enumerate(body["requests"]):
            _check_body(request, {**_EMBED_KEYS, "model": str}, {"model", "content"}, f"$[{i}]")
            assert request["model"].startswith("models/")
    else:  # pragma: no cover - a test asked for a method that does not exist
        raise AssertionError(method)


async def collect_into(seen: list[Any], events: Any) -> None:
    """Collect events until the stream ends or fails (what came before a failure stays)."""
    async for event in events:
        seen.append(event)


def method_of(request: HTTPRequest) -> str:
    """`generateContent` from `.../models/gemini-2.5-flash:generateContent`."""
    return request.url.rsplit(":", 1)[1].split("?", 1)[0]


# --------------------------------------------------------------------------- fixtures


def load_fixture(name: str) -> Any:
    """A wire fixture from tests/fixtures/gemini/ (`.json` added when missing)."""
    if not name.endswith(".json"):
        name += ".json"
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def validating_transport(handler: Handler, *, validate: bool = True) -> MockTransport:
    """A `MockTransport` that first checks each request body against the SDK's types."""

    async def checked(request: HTTPRequest) -> HTTPResponse:
        if validate:
            assert_valid_gemini_request(request.json(), method_of(request))
        result = handler(request)
        return await result if inspect.isawaitable(result) else result

    return MockTransport(checked)


def reply(name_or_data: str | Any, status: int = 200, **headers: str) -> Handler:
    """A handler answering every request with a JSON fixture (by name) or literal data."""
    data = load_fixture(name_or_data) if isinstance(name_or_data, str) else name_or_data
    return lambda request: json_response(data, status=status, headers=headers or None)


def stream_reply(name_or_chunks: str | list[Any], **kwargs: Any) -> Handler:
    """A handler answering with a stream fixture as SSE, the way Gemini sends it: events
    separated by CRLF pairs and no `[DONE]` sentinel."""
    chunks = load_fixture(name_or_chunks) if isinstance(name_or_chunks, str) else name_or_chunks
    body = b"".join(f"data: {json.dumps(c)}\r\n\r\n".encode() for c in chunks)
    return lambda request: sse_response(body, **kwargs)


def chat_model(
    handler: Handler, *, name: str = "gemini-2.5-flash", validate: bool = True, **config: Any
) -> tuple[GeminiChatModel, MockTransport]:
    """A `GeminiChatModel` on a validating mock transport (no retries unless asked)."""
    transport = validating_transport(handler, validate=validate)
    config.setdefault("api_key", TEST_KEY)
    config.setdefault("max_retries", 0)
    return GeminiChatModel(name, transport=transport, **config), transport


def embedder(
    handler: Handler, *, name: str = "text-embedding-004", **config: Any
) -> tuple[GeminiEmbedder, MockTransport]:
    """A `GeminiEmbedder` on a validating mock transport."""
    transport = validating_transport(handler)
    config.setdefault("api_key", TEST_KEY)
    config.setdefault("max_retries", 0)
    return GeminiEmbedder(name, transport=transport, **config), transport


def headers_of(request: HTTPRequest) -> dict[str, str]:
    """Request headers with lower-case names."""
    return {k.lower(): v for k, v in request.headers.items()}
