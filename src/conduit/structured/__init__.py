"""Structured output: typed Pydantic objects (and lists of them) from any chat model.

`extract()` pulls an object out of text, `classify()` picks labels,
`with_structured_output()` turns a model into one that answers with objects (and streams
partial ones). `Parser` is the standalone piece: the request to send and the reader of
the answer. `strict_schema()` is the one JSON Schema converter behind all of them.

Example:
    >>> import asyncio
    >>> from pydantic import BaseModel
    >>> from conduit.providers.fake import MockModel
    >>> class Person(BaseModel):
    ...     name: str
    ...     born: int
    >>> model = MockModel(['{"name": "Ada Lovelace", "born": 1815}'])
    >>> asyncio.run(extract(model, "Ada Lovelace (born 1815) wrote...", Person))
    Person(name='Ada Lovelace', born=1815)
"""

from conduit.structured.extract import (
    Mode,
    StructuredModel,
    classify,
    extract,
    with_structured_output,
)
from conduit.structured.parse import construct_partial, find_json, partial_json
from conduit.structured.parser import Attempt, Parser, StructuredOutputError, as_parser
from conduit.structured.schema import is_strict_compatible, prune_nulls, strict_schema
from conduit.structured.stream import stream_objects

__all__ = [
    "Attempt",
    "Mode",
    "Parser",
    "StructuredModel",
    "StructuredOutputError",
    "as_parser",
    "classify",
    "construct_partial",
    "extract",
    "find_json",
    "is_strict_compatible",
    "partial_json",
    "prune_nulls",
    "stream_objects",
    "strict_schema",
    "with_structured_output",
]
