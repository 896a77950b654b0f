"""`Document`: a piece of text with an id and metadata, the unit RAG stores and returns.

Example:
    >>> doc = Document("Paris is in France.", metadata={"source": "geo.md"})
    >>> doc.id == Document("Paris is in France.", metadata={"source": "geo.md"}).id
    True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conduit.errors import ValidationError

__all__ = ["Document", "MetadataFilter", "Scalar", "matches", "normalize_filter"]

Scalar = str | int | float | bool
"""A metadata value that filters can match (stores keep any JSON value)."""

MetadataFilter = Mapping[str, Scalar | list[Scalar] | tuple[Scalar, ...]]
"""`{key: value}` keeps documents whose metadata equals `value` at `key`;
`{key: [a, b]}` keeps those whose value is one of them. Keys combine with AND."""


def _default_id(text: str, metadata: Mapping[str, Any]) -> str:
    blob = json.dumps(
        [text, metadata.get("source"), metadata.get("start")], sort_keys=True, default=str
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Document:
    """Text plus metadata (`source`, `start`/`end` offsets, headers, page, ...).

    The id defaults to a hash of the text, source and start offset, so indexing the same
    file twice replaces its chunks instead of duplicating them.

    Example:
        >>> Document("hi", id="a1").id
        'a1'
    """

    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    id: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise ValidationError(f"Document.text must be a string, not {type(self.text).__name__}")
        if not self.id:
            object.__setattr__(self, "id", _default_id(self.text, self.metadata))

    @property
    def source(self) -> str | None:
        """Where the text came from (`metadata["source"]`), if known."""
        value = self.metadata.get("source")
        return None if value is None else str(value)


def _check_key(key: str) -> str:
    if not key or not all(ch.isalnum() or ch in "_-." for ch in key):
        raise ValidationError(
            f"metadata filter key {key!r} must be letters, digits, '_', '-' or '.'"
        )
    return key


def normalize_filter(where: MetadataFilter | None) -> dict[str, list[Scalar]]:
    """A filter as `{key: [allowed values]}`, keys checked (stores use it to build queries).

    Example:
        >>> normalize_filter({"lang": "en", "year": [2024, 2025]})
        {'lang': ['en'], 'year': [2024, 2025]}
    """
    if not where:
        return {}
    out: dict[str, list[Scalar]] = {}
    for key, value in where.items():
        values = list(value) if isinstance(value, list | tuple) else [value]
        if not values:
            raise ValidationError(f"metadata filter {key!r} lists no values")
        for item in values:
            if not isinstance(item, str | int | float | bool):
                raise ValidationError(
                    f"metadata filter {key!r} takes strings, numbers or booleans, "
                    f"not {type(item).__name__}"
                )
        out[_check_key(key)] = values
    return out


def _same(a: Any, b: Scalar) -> bool:
    # JSON-like equality: True is not 1 (stores keep JSON, where they differ).
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def matches(metadata: Mapping[str, Any], where: Mapping[str, list[Scalar]]) -> bool:
    """Whether `metadata` passes a normalized filter.

    Example:
        >>> matches({"lang": "en"}, normalize_filter({"lang": ["en", "fr"]}))
        True
    """
    return all(
        any(_same(metadata.get(key), value) for value in values) for key, values in where.items()
    )
