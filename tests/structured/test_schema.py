"""strict_schema: the one converter every provider's request uses."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from conduit.structured import Parser, is_strict_compatible, prune_nulls, strict_schema
from tests.structured.models import Address, Employee, Person, Tree


def _objects(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        if "properties" in node:
            found.append(node)
        for value in node.values():
            found.extend(_objects(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_objects(value))
    return found


def test_every_object_is_closed_and_requires_every_property() -> None:
    schema = strict_schema(Employee)
    objects = _objects(schema)
    assert len(objects) >= 2  # Employee and the inlined Address
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert obj["required"] == list(obj["properties"])
    assert is_strict_compatible(schema)


def test_optional_fields_become_nullable_and_lose_defaults() -> None:
    props = strict_schema(Employee)["properties"]
    assert props["nickname"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert props["level"]["anyOf"][1] == {"type": "null"}
    assert props["level"]["anyOf"][0]["enum"] == ["junior", "senior"]
    # already nullable: not wrapped twice
    assert sum(1 for s in props["favourite"]["anyOf"] if s == {"type": "null"}) == 1
    assert "default" not in str(strict_schema(Employee))
    # a required field stays as it is
    assert props["name"]["type"] == "string"


def test_described_refs_are_inlined_and_plain_refs_stay() -> None:
    schema = strict_schema(Employee)
    address = schema["properties"]["address"]
    assert "$ref" not in address
    assert address["description"] == "where they live"
    assert address["properties"]["city"] == {"title": "City", "type": "string"}


def test_recursive_models_keep_their_defs() -> None:
    schema = strict_schema(Tree)
    # the root `$ref` is inlined (an object root, as OpenAI needs); `$defs` stay for recursion
    assert schema["type"] == "object"
    assert "$ref" not in schema
    assert schema["properties"]["children"]["anyOf"][0]["items"] == {"$ref": "#/$defs/Tree"}
    tree = schema["$defs"]["Tree"]
    assert tree["additionalProperties"] is False
    assert tree["required"] == ["label", "children"]


def test_dict_fields_are_not_strict_compatible() -> None:
    assert not is_strict_compatible(strict_schema(dict[str, int]))
    assert Parser(dict[str, int]).strict is False
    assert Parser(Person).strict is True


def test_older_allof_wrapped_refs_are_flattened() -> None:
    from conduit.structured.schema import _strict

    root = {
        "type": "object",
        "properties": {"a": {"allOf": [{"$ref": "#/$defs/A"}], "description": "x"}},
        "required": ["a"],
        "$defs": {"A": {"type": "object", "properties": {"b": {"type": "integer"}}}},
    }
    out = _strict(root, root)
    assert out["properties"]["a"]["description"] == "x"
    assert out["properties"]["a"]["type"] == "object"
    assert out["properties"]["a"]["properties"]["b"]["anyOf"][0] == {"type": "integer"}


def test_prune_nulls_restores_defaults_only_where_null_is_not_allowed() -> None:
    original = Employee.model_json_schema()
    data = {
        "name": "A",
        "address": {"city": "Oslo", "zip": None},
        "skills": None,
        "level": None,
        "favourite": None,
        "nickname": None,
    }
    pruned = prune_nulls(data, original)
    assert pruned == {"name": "A", "address": {"city": "Oslo", "zip": None}, "favourite": None}
    assert Employee.model_validate(pruned).level == "junior"
    # lists, dicts and unknown keys
    assert prune_nulls([{"zip": None, "x": 1}], Parser(list[Address])._original) == [
        {"zip": None, "x": 1}
    ]
    assert prune_nulls({"k": {"city": "A"}}, strict_schema(dict[str, Address])) == {
        "k": {"city": "A"}
    }
    assert prune_nulls("plain", {"type": "string"}) == "plain"


@given(st.integers(), st.text())
def test_strict_schema_is_pure(a: int, b: str) -> None:
    # the converter never changes pydantic's own (cached) schema
    before = Person.model_json_schema()
    strict_schema(Person)
    assert Person.model_json_schema() == before
    assert Parser(Person).validate({"name": b, "born": a}) == Person(name=b, born=a)


def test_boolean_schemas_and_null_constants() -> None:
    from conduit.structured.schema import _strict

    root = {
        "type": "object",
        "properties": {"any": True, "nothing": {"const": None}, "e": {"enum": ["a", None]}},
        "required": ["any"],
    }
    out = _strict(root, root)
    assert out["properties"]["any"] is True
    assert out["properties"]["nothing"] == {"const": None}  # already nullable
    assert out["properties"]["e"] == {"enum": ["a", None]}
