"""Tools and tool calls: `FunctionCall.from_raw` keeps what it cannot parse."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings

from conduit.schema import FunctionCall, Tool, ToolCall
from tests.schema import strategies as s


def test_valid_json_object() -> None:
    call = FunctionCall.from_raw("add", '{"a": 1, "b": [2, 3]}')
    assert call.name == "add"
    assert call.arguments == {"a": 1, "b": [2, 3]}
    assert call.raw_arguments == '{"a": 1, "b": [2, 3]}'
    assert call.invalid_arguments is False


@pytest.mark.parametrize("raw", ['{"a": 1', "not json", "{'a': 1}", '{"a": NaN'])
def test_invalid_json_is_kept_raw_and_flagged(raw: str) -> None:
    call = FunctionCall.from_raw("add", raw)
    assert call.arguments == {}
    assert call.raw_arguments == raw
    assert call.invalid_arguments is True


@pytest.mark.parametrize("raw", ["[1, 2]", '"text"', "42", "null", "true"])
def test_json_that_is_not_an_object_is_flagged(raw: str) -> None:
    call = FunctionCall.from_raw("add", raw)
    assert call.arguments == {}
    assert call.raw_arguments == raw
    assert call.invalid_arguments is True


@pytest.mark.parametrize("raw", ["", "   ", None])
def test_empty_arguments_mean_no_arguments(raw: str | None) -> None:
    call = FunctionCall.from_raw("ping", raw)
    assert call.arguments == {}
    assert call.invalid_arguments is False
    assert call.raw_arguments == (raw or "")


def test_from_arguments_writes_the_raw_json() -> None:
    call = FunctionCall.from_arguments("add", {"a": 1, "s": "é"})
    assert json.loads(call.raw_arguments) == {"a": 1, "s": "é"}
    assert call.invalid_arguments is False


@settings(max_examples=200, deadline=None)
@given(s.text)
def test_from_raw_never_raises_and_never_drops_text(raw: str) -> None:
    call = FunctionCall.from_raw("f", raw)
    assert call.raw_arguments == raw
    if call.invalid_arguments:
        assert call.arguments == {}


@settings(max_examples=200, deadline=None)
@given(s.json_objects)
def test_from_raw_parses_what_json_dumps_wrote(arguments: dict[str, Any]) -> None:
    call = FunctionCall.from_raw("f", json.dumps(arguments))
    assert call.invalid_arguments is False
    assert call.arguments == arguments


def test_tool_call_properties() -> None:
    call = ToolCall(id="call_1", function=FunctionCall.from_raw("add", '{"a": 1}'))
    assert call.type == "function"
    assert call.name == "add"
    assert call.arguments == {"a": 1}


def test_tool_defaults_to_an_empty_object_schema() -> None:
    tool = Tool(name="now")
    assert tool.parameters == {"type": "object", "properties": {}}
    assert tool.description == ""
    assert tool.strict is None
    # each tool gets its own dict (no shared mutable default)
    tool.parameters["properties"]["x"] = {}
    assert Tool(name="other").parameters == {"type": "object", "properties": {}}


@pytest.mark.parametrize("name", ["get_weather", "a.b-c", "X" * 64])
def test_tool_names_accepted(name: str) -> None:
    assert Tool(name=name).name == name
