"""JSON Schema → Gemini's `Schema` subset. Every converted schema also validates as the
SDK's `Schema` in its exact wire spelling."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest
from google.genai import types as gt

from conduit.errors import ValidationError
from conduit.providers.gemini import to_gemini_schema, tool_to_wire
from conduit.providers.gemini.schema import RecursiveSchemaError
from conduit.schema import Tool
from tests.providers.gemini.conftest import assert_sdk_shape


def convert(schema: Any) -> dict[str, Any]:
    out = to_gemini_schema(schema)
    assert_sdk_shape(gt.Schema, out)
    return out


class Address(pydantic.BaseModel):
    street: str
    city: str


class Person(pydantic.BaseModel):
    """A person."""

    name: str
    age: int | None = None
    kind: str = pydantic.Field(default="human", description="What it is")
    home: Address
    previous: list[Address] = []
    tags: dict[str, str] = {}


def test_a_pydantic_model_schema() -> None:
    out = convert(Person.model_json_schema())
    assert out["type"] == "OBJECT"
    assert out["description"] == "A person."
    props = out["properties"]
    assert props["age"] == {"type": "INTEGER", "nullable": True, "title": "Age", "default": None}
    assert props["home"]["properties"]["city"] == {"type": "STRING", "title": "City"}
    assert props["previous"]["items"]["type"] == "OBJECT"
    assert props["tags"] == {"type": "OBJECT", "title": "Tags", "default": {}}
    assert out["required"] == ["name", "home"]


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": ["string", "null"]}, {"type": "STRING", "nullable": True}),
        (
            {"type": ["string", "integer"]},
            {"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]},
        ),
        (
            {"oneOf": [{"type": "string"}, {"type": "number"}]},
            {"anyOf": [{"type": "STRING"}, {"type": "NUMBER"}]},
        ),
        (
            {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}]},
            {"anyOf": [{"type": "STRING"}, {"type": "NUMBER"}], "nullable": True},
        ),
        ({"const": "fixed"}, {"type": "STRING", "enum": ["fixed"]}),
        (
            {"type": "integer", "enum": [1, 2, None]},
            {"type": "STRING", "enum": ["1", "2"], "nullable": True},
        ),
        ({"type": "string", "format": "email"}, {"type": "STRING"}),
        ({"type": "string", "format": "date-time"}, {"type": "STRING", "format": "date-time"}),
        ({"items": {"type": "boolean"}}, {"type": "ARRAY", "items": {"type": "BOOLEAN"}}),
        (
            {"type": "array", "prefixItems": [{"type": "string"}]},
            {"type": "ARRAY", "items": {"type": "STRING"}},
        ),
        (
            {"type": "array", "items": [{"type": "string"}]},
            {"type": "ARRAY", "items": {"type": "STRING"}},
        ),
        ({"properties": {}}, {"type": "OBJECT", "properties": {}}),
        ({}, {"type": "STRING"}),
        (
            {"type": "object", "properties": {"a": True}, "required": ["a", "ghost"]},
            {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}, "required": ["a"]},
        ),
        (
            {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "exclusiveMaximum": 1,
                "multipleOf": 0.5,
            },
            {"type": "NUMBER", "minimum": 0, "maximum": 1},
        ),
        (
            {
                "allOf": [{"type": "object", "properties": {"a": {"type": "string"}}}],
                "description": "d",
            },
            {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}, "description": "d"},
        ),
        (
            {"type": "string", "nullable": True, "examples": ["x"]},
            {"type": "STRING", "nullable": True},
        ),
    ],
)
def test_conversions(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    assert convert(schema) == expected


def test_refs_are_inlined_with_their_siblings() -> None:
    schema = {
        "definitions": {"Unit": {"type": "string", "enum": ["c", "f"]}},
        "type": "object",
        "properties": {
            "unit": {"$ref": "#/definitions/Unit", "description": "Which scale"},
            "both": {"allOf": [{"$ref": "#/definitions/Unit"}]},
        },
    }
    out = convert(schema)
    assert out["properties"]["unit"] == {
        "type": "STRING",
        "enum": ["c", "f"],
        "description": "Which scale",
    }
    assert out["properties"]["both"] == {"type": "STRING", "enum": ["c", "f"]}


def test_a_ref_used_twice_is_not_recursion() -> None:
    schema = {
        "$defs": {"P": {"type": "object", "properties": {"x": {"type": "number"}}}},
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/P"}, "b": {"$ref": "#/$defs/P"}},
    }
    out = convert(schema)
    assert out["properties"]["a"] == out["properties"]["b"]


def test_recursive_schema() -> None:
    schema = {
        "$defs": {"N": {"type": "object", "properties": {"next": {"$ref": "#/$defs/N"}}}},
        "$ref": "#/$defs/N",
    }
    with pytest.raises(RecursiveSchemaError):
        to_gemini_schema(schema)
    assert tool_to_wire(Tool(name="walk", parameters=schema)) == {
        "name": "walk",
        "parametersJsonSchema": schema,
    }


@pytest.mark.parametrize(
    ("schema", "match"),
    [
        ({"$ref": "https://example.com/schema.json"}, "cannot resolve"),
        ({"$defs": {"X": 3}, "$ref": "#/$defs/X"}, "does not point at a schema"),
        ({"type": "date"}, "no Gemini equivalent"),
    ],
)
def test_schemas_that_cannot_be_converted(schema: dict[str, Any], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        to_gemini_schema(schema)
