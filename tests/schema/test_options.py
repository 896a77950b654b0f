"""`ChatOptions` and `ResponseFormat`."""

from __future__ import annotations

import pytest

from conduit.errors import ValidationError
from conduit.schema import ChatOptions, ResponseFormat, Tool


def test_defaults_mean_provider_defaults() -> None:
    o = ChatOptions()
    assert o.temperature is None
    assert o.max_tokens is None
    assert o.stop is None
    assert o.tools is None
    assert o.extra == {}


def test_stop_string_becomes_a_list() -> None:
    assert ChatOptions(stop="END").stop == ["END"]
    assert ChatOptions(stop=["a", "b"]).stop == ["a", "b"]
    assert ChatOptions.model_validate({"stop": "END"}).stop == ["END"]
    assert ChatOptions().merged(stop="X").stop == ["X"]


def test_boundaries_are_inclusive() -> None:
    assert ChatOptions(temperature=0).temperature == 0
    assert ChatOptions(temperature=2).temperature == 2
    assert ChatOptions(top_p=1).top_p == 1


def test_merged_replaces_fields_and_keeps_the_rest() -> None:
    base = ChatOptions(temperature=0.5, max_tokens=100, extra={"logprobs": True})
    merged = base.merged(max_tokens=10, seed=3)
    assert merged.temperature == 0.5
    assert merged.max_tokens == 10
    assert merged.seed == 3
    assert merged.extra == {"logprobs": True}
    # the original is unchanged
    assert base.max_tokens == 100
    assert base.seed is None


def test_merged_without_overrides_is_the_same_object() -> None:
    base = ChatOptions(temperature=1)
    assert base.merged() is base


def test_merged_can_reset_to_provider_default() -> None:
    assert ChatOptions(temperature=1).merged(temperature=None).temperature is None


def test_merged_keeps_nested_models() -> None:
    fmt = ResponseFormat.from_schema("person", {"type": "object"})
    base = ChatOptions(tools=[Tool(name="t")], response_format=fmt)
    merged = base.merged(temperature=0)
    assert merged.tools == [Tool(name="t")]
    assert merged.response_format == fmt


def test_merged_validates() -> None:
    with pytest.raises(ValidationError, match=r"ChatOptions\.temperature"):
        ChatOptions().merged(temperature=5)
    with pytest.raises(ValidationError, match=r"ChatOptions\.max_token"):
        ChatOptions().merged(max_token=5)


def test_tools_from_dicts() -> None:
    o = ChatOptions(tools=[{"name": "add", "parameters": {"type": "object"}}], tool_choice="add")
    assert o.tools is not None
    assert o.tools[0].name == "add"
    assert o.tool_choice == "add"


class TestResponseFormat:
    def test_default_is_json_object(self) -> None:
        assert ResponseFormat().type == "json_object"

    def test_from_schema(self) -> None:
        schema = {"type": "object", "properties": {"name": {"type": "string"}}}
        f = ResponseFormat.from_schema("person", schema)
        assert f.type == "json_schema"
        assert f.name == "person"
        assert f.json_schema == schema
        assert f.strict is True
        assert ResponseFormat.from_schema("p", schema, strict=None).strict is None

    def test_schema_alias(self) -> None:
        # `schema` is the wire name (OpenAI's response_format.json_schema.schema)
        f = ResponseFormat(type="json_schema", name="p", schema={"type": "object"})  # type: ignore[call-arg]
        assert f.json_schema == {"type": "object"}
        assert f.model_dump(by_alias=True)["schema"] == {"type": "object"}

    def test_json_schema_needs_a_schema(self) -> None:
        with pytest.raises(ValidationError, match="needs schema="):
            ResponseFormat(type="json_schema")

    def test_unknown_fields_rejected(self) -> None:
        with pytest.raises(ValidationError, match=r"ResponseFormat\.schema_"):
            ResponseFormat(schema_={})  # type: ignore[call-arg]
