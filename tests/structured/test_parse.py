"""Finding JSON in answers, partial JSON, snapshots, and the Parser."""

from __future__ import annotations

import json
import pickle
from typing import Annotated, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from conduit.errors import ValidationError
from conduit.schema import Response, TextBlock
from conduit.structured import (
    Attempt,
    Parser,
    StructuredOutputError,
    as_parser,
    construct_partial,
    find_json,
    partial_json,
)
from tests.structured.models import Address, Color, Employee, Person


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ("  [1, 2]  ", [1, 2]),
        ('```json\n{"a": 1}\n```', {"a": 1}),
        ('Here:\n```\n{"a": 2}\n```\nDone.', {"a": 2}),
        ('```json\n{bad}\n```\nthen {"a": 3}', {"a": 3}),
        ('I think {not json} but {"a": 4} is.', {"a": 4}),
        ('"just a string"', "just a string"),
    ],
)
def test_find_json(text: str, expected: Any) -> None:
    assert find_json(text) == expected


def test_find_json_errors() -> None:
    with pytest.raises(ValidationError, match="not valid JSON"):
        find_json('{"a": ')
    with pytest.raises(ValidationError, match="holds no JSON"):
        find_json("x" * 500)


def test_partial_json() -> None:
    assert partial_json('{"a": "b') == {"a": "b"}
    assert partial_json('{"a": [1, 2') == {"a": [1, 2]}
    assert partial_json("nothing") is None
    assert partial_json("[oops") is None


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)


@given(st.dictionaries(st.text(max_size=4), _json_values, max_size=4))
def test_every_prefix_parses_and_the_whole_is_exact(value: dict[str, Any]) -> None:
    text = json.dumps(value)
    for end in range(len(text)):
        partial_json(text[:end])  # never raises
    assert partial_json(text) == value


class Pair(BaseModel):
    left: Address | None = None
    right: Annotated[list[Address], Field(max_length=3)] = []
    extra: dict[str, Address] = {}
    either: int | Address = 0
    alias_field: str = Field(default="", alias="aliasField")


def test_construct_partial_walks_models_lists_dicts_and_unions() -> None:
    snap = construct_partial(
        Pair,
        {
            "left": {"city": "Os"},
            "right": [{"city": "A"}, {}],
            "extra": {"k": {"zip": "1"}},
            "either": {"city": "B"},
            "aliasField": "x",
        },
    )
    assert isinstance(snap.left, Address)
    assert snap.left.city == "Os"
    assert snap.right[1].city is None
    assert snap.extra["k"].zip == "1"
    assert isinstance(snap.either, Address)
    assert snap.alias_field == "x"
    assert construct_partial(Pair, "oops") == "oops"
    assert construct_partial(Pair, {"either": 5}).either == 5
    assert construct_partial(list, [1]) == [1]
    assert construct_partial(Annotated[list[Address], "meta"], [{}])[0].city is None


def test_parser_names_wrapping_and_formats() -> None:
    assert Parser(Person).key is None
    assert Parser(list[Person]).name == "Person_list"
    assert Parser(list[Person]).key == "items"
    assert Parser(Color).key == "value"
    assert Parser(Color).name == "Color"
    assert Parser(int | str).name == "output"  # type: ignore[arg-type]
    assert Parser(Person, name="my person!").name == "my_person_"
    fmt = Parser(list[Person]).response_format
    assert fmt.type == "json_schema"
    assert fmt.json_schema is not None
    assert fmt.json_schema["properties"]["items"]["type"] == "array"
    assert "$defs" in fmt.json_schema  # refs in the wrapped list point at the root
    assert "Person" in Parser(Person).instructions
    assert as_parser(Person).schema is Person


def test_parser_parses_responses_text_bare_and_wrapped_lists() -> None:
    parser = Parser(list[Person])
    wrapped = '{"items": [{"name": "Ada", "born": 1815}]}'
    response = Response(content=[TextBlock(text=wrapped)])
    assert parser.parse(response) == [Person(name="Ada", born=1815)]
    assert parser.parse('[{"name": "Ada", "born": 1815}]') == [Person(name="Ada", born=1815)]
    assert Parser(Color).parse('{"value": "red"}') is Color.RED


def test_parser_errors_are_readable() -> None:
    parser = Parser(Person)
    with pytest.raises(ValidationError, match="empty"):
        parser.parse(Response())
    with pytest.raises(ValidationError, match=r"Person\.born: .*integer"):
        parser.parse('{"name": "Ada", "born": "long ago"}')
    with pytest.raises(ValidationError, match=r"Person\.born: Field required"):
        parser.parse('{"name": "Ada"}')


def test_parser_nested_optional_enum() -> None:
    parser = Parser(Employee)
    value = parser.parse(
        json.dumps(
            {
                "name": "Bo",
                "address": {"city": "Oslo", "zip": None},
                "skills": ["x"],
                "level": None,
                "favourite": "green",
                "nickname": None,
            }
        )
    )
    assert value.level == "junior"
    assert value.nickname == "none"
    assert value.favourite is Color.GREEN
    assert value.address.zip is None


def test_parse_partial() -> None:
    parser = Parser(list[Person])
    assert parser.parse_partial("") is None
    (snapshot,) = parser.parse_partial('{"items": [{"name": "A') or []
    assert snapshot.name == "A"
    assert snapshot.born is None  # not arrived yet


def test_structured_output_error_pickles_with_attempts() -> None:
    err = StructuredOutputError("x", attempts=[Attempt("t", "e")], provider="fake")
    back = pickle.loads(pickle.dumps(err))
    assert back.attempts == [Attempt("t", "e")]
    assert back.provider == "fake"
    assert "see .attempts" in str(back)
