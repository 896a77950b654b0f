"""Shared helpers for the Anthropic adapter tests.

Independent check: every request body the adapter builds is validated against the
official `anthropic` SDK's own request TypedDicts (`MessageCreateParamsNonStreaming` /
`MessageCreateParamsStreaming`), and every wire fixture against the SDK's response models.
Pydantic alone is not enough for either: a `TypeAdapter` over a TypedDict ignores unknown
keys and validates `Iterable[...]` fields lazily, and the SDK's response models allow extra
fields. So `assert_valid_anthropic_request` runs the SDK `TypeAdapter` (materializing the
lazy iterables) *and* a structural walk over the TypedDicts that rejects any key the SDK
does not define; `assert_valid_anthropic_response` parses with the SDK model and then
asserts no model in the parsed tree kept an unknown field.

One documented exception: the installed SDK (2.13) no longer lists the sampling parameters
`temperature`, `top_p` and `top_k` in its request types, while the Messages API reference
documents them and the adapter sends `temperature` / `top_p` when a call sets them. They
are accepted at the top level, as numbers in their documented ranges, only while the SDK's
own types lack them (an SDK that has them validates them itself).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pydantic
import pytest
from anthropic.types import Message, RawMessageStreamEvent, message_create_params
from anthropic.types.shared import ErrorResponse

from conduit import _json
from conduit.providers.anthropic import AnthropicChatModel
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
from tests.support.sdk_types import wire_keys as _wire_keys

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "anthropic"

_REQUEST_TYPES: dict[str, Any] = {
    "messages": message_create_params.MessageCreateParamsNonStreaming,
    "messages_stream": message_create_params.MessageCreateParamsStreaming,
}
_ADAPTERS: dict[str, pydantic.TypeAdapter[Any]] = {
    name: pydantic.TypeAdapter(tp) for name, tp in _REQUEST_TYPES.items()
}
# Documented in the Messages API reference, missing from the installed SDK's types.
_DOCUMENTED_SAMPLING: dict[str, tuple[type, float, float]] = {
    "temperature": (float, 0.0, 1.0),
    "top_p": (float, 0.0, 1.0),
    "top_k": (int, 0, float("inf")),
}


def _sampling_problems(payload: dict[str, Any], td: type) -> tuple[dict[str, Any], list[str]]:
    """Check (and take out) the documented sampling keys the SDK's types lack."""
    known = _wire_keys(td)
    rest = dict(payload)
    found = []
    for key, (kind, low, high) in _DOCUMENTED_SAMPLING.items():
        if key in known or key not in rest:
            continue
        value = rest.pop(key)
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        if not ok or not low <= value <= high:
            found.append(f"$.{key}: {value!r} is not a {kind.__name__} in [{low}, {high}]")
    return rest, found


def request_kind(payload: dict[str, Any]) -> str:
    return "messages_stream" if payload.get("stream") else "messages"


def assert_valid_anthropic_request(payload: dict[str, Any]) -> None:
    """Fail unless `payload` is a body the official SDK's request types accept exactly
    (plus the documented sampling parameters, see the module docstring)."""
    kind = request_kind(payload)
    td = _REQUEST_TYPES[kind]
    rest, problems = _sampling_problems(payload, td)
    try:
        _materialize(_ADAPTERS[kind].validate_python(rest))
    except pydantic.ValidationError as exc:
        pytest.fail(f"request does not validate against the anthropic SDK ({kind}):\n{exc}")
    problems += _problems(td, rest, "$")
    if problems:
        pytest.fail(
            f"request departs from the anthropic SDK types ({kind}):\n" + "\n".join(problems)
        )


# -------------------------------------------------------------------------- responses


_STREAM_EVENT = pydantic.TypeAdapter(RawMessageStreamEvent)


def assert_valid_anthropic_response(data: Any, kind: str) -> Any:
    """Parse `data` with the SDK's model for `kind` ("message", "event" — one stream
    event, `ping` and `error` included — or "error", an error body) and insist on no
    unknown fields."""
    parsed: Any
    if kind == "message":
        parsed = Message.model_validate(data)
    elif kind == "error" or (kind == "event" and data.get("type") == "error"):
        parsed = ErrorResponse.model_validate(data)
    elif kind == "event" and data.get("type") == "ping":
        # The SDK handles `ping` itself, outside its event union; its shape is fixed.
        assert data == {"type": "ping"}, data
        return data
    else:
        assert kind == "event", kind
        parsed = _STREAM_EVENT.validate_python(data)
    extras = list(_extras(parsed, "$"))
    assert not extras, f"fields unknown to the anthropic SDK's {type(parsed).__name__}: {extras}"
    return parsed


# --------------------------------------------------------------------------- fixtures


def load_fixture(name: str) -> Any:
    """A wire fixture from tests/fixtures/anthropic/ (`.json` added when missing)."""
    if not name.endswith(".json"):
        name += ".json"
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def sse_bytes(events: Sequence[dict[str, Any]]) -> bytes:
    """Events as Anthropic sends them: an `event:` line naming the type, then `data:`."""
    return b"".join(
        f"event: {event.get('type')}\ndata: ".encode() + _json.dumps(event) + b"\n\n"
        for event in events
    )


def validating_transport(handler: Handler, *, validate: bool = True) -> MockTransport:
    """A `MockTransport` that first checks each request body against the SDK's types."""

    async def checked(request: HTTPRequest) -> HTTPResponse:
        if validate:
            assert_valid_anthropic_request(request.json())
        result = handler(request)
        return await result if inspect.isawaitable(result) else result

    return MockTransport(checked)


# ----------------------------------------------------------------------- model helpers

TEST_KEY = "sk-ant-api03-test-0123456789abcdef"


def reply(name_or_data: str | Any, status: int = 200, **headers: str) -> Handler:
    """A handler answering every request with a JSON fixture (by name) or literal data."""
    data = load_fixture(name_or_data) if isinstance(name_or_data, str) else name_or_data
    return lambda request: json_response(data, status=status, headers=headers or None)


def stream_reply(name_or_events: str | list[Any], **kwargs: Any) -> Handler:
    """A handler answering with a stream fixture (by name) or literal events as SSE."""
    events = load_fixture(name_or_events) if isinstance(name_or_events, str) else name_or_events
    body = sse_bytes(events)
    return lambda request: sse_response(body, **kwargs)


def chat_model(
    handler: Handler,
    *,
    name: str = "claude-sonnet-4-5",
    validate: bool = True,
    **config: Any,
) -> tuple[AnthropicChatModel, MockTransport]:
    """An `AnthropicChatModel` on a validating mock transport (no retries unless asked)."""
    transport = validating_transport(handler, validate=validate)
    config.setdefault("api_key", TEST_KEY)
    config.setdefault("max_retries", 0)
    return AnthropicChatModel(name, transport=transport, **config), transport


def headers_of(request: HTTPRequest) -> dict[str, str]:
    """Request headers with lower-case names."""
    return {k.lower(): v for k, v in request.headers.items()}
