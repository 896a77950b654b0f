"""Shared helpers for the Ollama adapter tests.

Independent check: every request body the adapter builds is checked against the
official `ollama` Python package's own request models (`ollama._types.ChatRequest`,
`EmbedRequest`), and every wire fixture against its response models. Pydantic alone is
not enough: those models ignore unknown keys (no `extra="forbid"`), `ChatRequest.messages`
and `.options` also accept any mapping, and an image is an `Image` model on the Python
side but a bare base64 string on the wire. So `problems()` walks the models' fields
itself: it rejects any key the package does not define, prefers the model over the
"any mapping" branch of a union, and checks images as base64.
"""

from __future__ import annotations

import base64
import binascii
import collections.abc
import inspect
import json
import types
import typing
from pathlib import Path
from typing import Any

import pydantic
import pytest
from ollama import _types as ot

from conduit.providers.ollama import OllamaChatModel, OllamaEmbedder
from conduit.transport import Handler, HTTPRequest, HTTPResponse, MockTransport, json_response

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ollama"
BASE = "http://127.0.0.1:11434"

_SEQUENCES = (list, collections.abc.Sequence, collections.abc.Iterable)
_MAPPINGS = (dict, collections.abc.Mapping)


def _is_model(tp: Any) -> bool:
    return inspect.isclass(tp) and issubclass(tp, pydantic.BaseModel)


def _wire_fields(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    return {(info.alias or name): info for name, info in model.model_fields.items()}


def problems(tp: Any, value: Any, path: str = "$") -> list[str]:
    """Every way `value` departs from the `ollama` package's type `tp` (empty: it fits)."""
    if tp is Any or tp is object:
        return []
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return problems(args[0], value, path)
    if origin is typing.Union or origin is types.UnionType:
        if value is None and type(None) in args:
            return []
        options = [a for a in args if a is not type(None)]
        models = [a for a in options if _is_model(a)]
        if models and any(typing.get_origin(a) in _MAPPINGS for a in options):
            options = models  # `Mapping[str, Any] | Message`: hold the dict to the model
        results = [problems(a, value, path) for a in options]
        return [] if any(not r for r in results) else min(results, key=len)
    if origin is typing.Literal:
        return [] if value in args else [f"{path}: {value!r} is not one of {args!r}"]
    if tp is ot.Image:
        # On the wire an image is bare base64 (the package serializes `Image` to it).
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, TypeError, ValueError):
            return [f"{path}: not base64 image data: {str(value)[:40]!r}"]
        return []
    if _is_model(tp):
        if not isinstance(value, dict):
            return [f"{path}: expected an object for {tp.__name__}, got {value!r}"]
        fields = _wire_fields(tp)
        found = []
        for key, item in value.items():
            if key not in fields:
                found.append(f"{path}.{key}: not a field of {tp.__name__}")
            else:
                found.extend(problems(fields[key].annotation, item, f"{path}.{key}"))
        found.extend(
            f"{path}.{key}: required by {tp.__name__} but missing"
            for key, info in fields.items()
            if info.is_required() and key not in value
        )
        return found
    if origin in _SEQUENCES:
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {value!r}"]
        return [p for i, v in enumerate(value) for p in problems(args[0], v, f"{path}[{i}]")]
    if origin in _MAPPINGS:
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {value!r}"]
        return [p for k, v in value.items() for p in problems(args[1], v, f"{path}.{k}")]
    try:
        pydantic.TypeAdapter(tp).validate_python(value, strict=True)
    except pydantic.ValidationError as exc:
        return [f"{path}: {exc.errors(include_url=False)[0]['msg']} (got {value!r})"]
    return []


_REQUESTS: dict[str, type[pydantic.BaseModel]] = {
    "/api/chat": ot.ChatRequest,
    "/api/embed": ot.EmbedRequest,
}


def assert_valid_ollama_request(path: str, payload: dict[str, Any]) -> None:
    """Fail unless `payload` is a body the `ollama` package's request model accepts exactly."""
    model = _REQUESTS[path]
    found = problems(model, payload)
    if found:
        pytest.fail(f"request departs from ollama's {model.__name__}:\n" + "\n".join(found))
    # And the package's own validation, with images in its Python shape.
    wrapped = json.loads(json.dumps(payload))
    for message in wrapped.get("messages", ()):
        if "images" in message:
            message["images"] = [{"value": v} for v in message["images"]]
        ot.Message.model_validate(message)
    model.model_validate(wrapped)
    if isinstance(payload.get("options"), dict):
        ot.Options.model_validate(payload["options"])


def assert_valid_ollama_response(data: Any, model: type[pydantic.BaseModel]) -> None:
    """Fail unless `data` parses with the package's response model and has no unknown key."""
    model.model_validate(data)
    found = problems(model, data)
    assert not found, found


# --------------------------------------------------------------------------- fixtures


def load_fixture(name: str) -> Any:
    """A JSON fixture from tests/fixtures/ollama/ (`.json` added when missing)."""
    if not name.endswith(".json"):
        name += ".json"
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def load_lines(name: str) -> list[Any]:
    """The objects of an NDJSON fixture (`.ndjson` added when missing)."""
    if not name.endswith(".ndjson"):
        name += ".ndjson"
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def ndjson_body(name_or_objects: str | list[Any]) -> bytes:
    """The raw bytes of a stream: a fixture file as it is, or objects one per line."""
    if isinstance(name_or_objects, str):
        return (FIXTURES / f"{name_or_objects}.ndjson").read_bytes()
    return b"".join(json.dumps(o).encode() + b"\n" for o in name_or_objects)


def ndjson_response(
    body: bytes, *, chunk_size: int | None = None, status: int = 200
) -> HTTPResponse:
    """A streamed `application/x-ndjson` answer, optionally split into `chunk_size` chunks."""
    size = chunk_size or len(body) or 1
    chunks = [body[i : i + size] for i in range(0, len(body), size)]

    async def stream() -> Any:
        for chunk in chunks:
            yield chunk

    return HTTPResponse(status, {"content-type": "application/x-ndjson"}, b"", stream=stream())


def path_of(request: HTTPRequest) -> str:
    """The endpoint a request went to (`/api/chat`), whatever the base URL."""
    return request.url[request.url.index("/api/") :]


def validating_transport(handler: Handler, *, validate: bool = True) -> MockTransport:
    """A `MockTransport` that first checks each request body against the package's types."""

    async def checked(request: HTTPRequest) -> HTTPResponse:
        if validate:
            assert_valid_ollama_request(path_of(request), request.json())
        result = handler(request)
        return await result if inspect.isawaitable(result) else result

    return MockTransport(checked)


def reply(name_or_data: str | Any, status: int = 200) -> Handler:
    """A handler answering every request with a JSON fixture (by name) or literal data."""
    data = load_fixture(name_or_data) if isinstance(name_or_data, str) else name_or_data
    return lambda request: json_response(data, status=status)


def stream_reply(name_or_objects: str | list[Any], *, chunk_size: int | None = None) -> Handler:
    """A handler answering with an NDJSON fixture (by name) or literal objects."""
    body = ndjson_body(name_or_objects)
    return lambda request: ndjson_response(body, chunk_size=chunk_size)


def chat_model(
    handler: Handler, *, name: str = "llama3.2", validate: bool = True, **config: Any
) -> tuple[OllamaChatModel, MockTransport]:
    """An `OllamaChatModel` on a validating mock transport (no retries unless asked)."""
    transport = validating_transport(handler, validate=validate)
    config.setdefault("max_retries", 0)
    return OllamaChatModel(name, transport=transport, **config), transport


def embedder(
    handler: Handler, *, name: str = "all-minilm", **config: Any
) -> tuple[OllamaEmbedder, MockTransport]:
    """An `OllamaEmbedder` on a validating mock transport."""
    transport = validating_transport(handler)
    config.setdefault("max_retries", 0)
    return OllamaEmbedder(name, transport=transport, **config), transport


def headers_of(request: HTTPRequest) -> dict[str, str]:
    """Request headers with lower-case names."""
    return {k.lower(): v for k, v in request.headers.items()}
