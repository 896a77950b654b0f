"""Documents and metadata filters."""

from __future__ import annotations

from typing import Any

import pytest

from conduit.errors import ValidationError
from conduit.rag.documents import Document, matches, normalize_filter


def test_ids_are_stable_and_depend_on_source_and_offset() -> None:
    a = Document("same", {"source": "a.md", "start": 0})
    assert a.id == Document("same", {"source": "a.md", "start": 0}).id
    assert a.id != Document("same", {"source": "b.md", "start": 0}).id
    assert a.id != Document("same", {"source": "a.md", "start": 5}).id
    assert a.source == "a.md"
    assert Document("x").source is None


def test_text_must_be_a_string() -> None:
    with pytest.raises(ValidationError, match="string"):
        Document(b"bytes")  # type: ignore[arg-type]


def test_filters_match_like_json() -> None:
    rule = normalize_filter({"flag": True, "n": [1, 2]})
    assert matches({"flag": True, "n": 2}, rule)
    assert not matches({"flag": 1, "n": 2}, rule)
    assert not matches({"flag": True, "n": True}, rule)
    assert not matches({"n": 1}, rule)
    assert normalize_filter(None) == {}


@pytest.mark.parametrize("bad", [{"a b": 1}, {"": 1}, {"k": []}, {"k": [{"x": 1}]}, {"k": None}])
def test_bad_filters_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        normalize_filter(bad)
