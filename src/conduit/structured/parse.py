"""Finding JSON in a model's answer: whole, in a fenced block, or inside prose; and
reading an unfinished answer (while it streams) as far as it goes.

Example:
    >>> find_json('Sure! Here it is:\\n```json\\n{"name": "Ada"}\\n```')
    {'name': 'Ada'}
    >>> partial_json('{"name": "Ad')
    {'name': 'Ad'}
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import from_json

from conduit.errors import ValidationError

__all__ = ["construct_partial", "find_json", "partial_json"]

_SEQUENCES = (list, Sequence, tuple, set, frozenset)
_MAPPINGS = (dict, Mapping)

_FENCE = re.compile(r"```(?:json|JSON)?[ \t]*\n(.*?)```", re.S)
_DECODER = json.JSONDecoder()
_EXCERPT = 200


def _excerpt(text: str) -> str:
    return repr(text if len(text) <= _EXCERPT else text[:_EXCERPT] + "...")


def find_json(text: str) -> Any:
    """The JSON value in `text`: all of it, else the first fenced block that parses, else
    the first object or array inside the prose. `ValidationError` when there is none.

    Example:
        >>> find_json('The answer is [1, 2] as asked.')
        [1, 2]
        >>> find_json("no json here")
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: the answer holds no JSON: 'no json here'...
    """
    stripped = text.strip()
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    for block in _FENCE.findall(text):
        try:
            return json.loads(block)
        except ValueError:
            continue
    # The first `{` or `[` that starts a complete JSON value (raw_decode stops at its end).
    for match in re.finditer(r"[\[{]", text):
        try:
            value, _ = _DECODER.raw_decode(text, match.start())
        except ValueError:
            continue
        return value
    if stripped.startswith(("{", "[")):
        raise ValidationError(f"the answer is not valid JSON: {_excerpt(stripped)}")
    raise ValidationError(f"the answer holds no JSON: {_excerpt(stripped)}")


def partial_json(text: str) -> Any:
    """What an unfinished JSON answer says so far: unclosed objects, arrays and strings are
    closed where they stop, a half-written number or keyword is left out. Text before the
    first `{` or `[` is skipped; `None` when no JSON has started yet.

    Uses pydantic-core's partial JSON parser (`from_json(..., allow_partial=...)`).

    Example:
        >>> partial_json('Here: {"tags": ["a", "b')
        {'tags': ['a', 'b']}
        >>> partial_json("Thinking...") is None
        True
    """
    match = re.search(r"[\[{]", text)
    if match is None:
        return None
    try:
        return from_json(text[match.start() :], allow_partial="trailing-strings")
    except ValueError:
        # Not JSON after all (prose with a bracket in it), or text after a closed value.
        return None


def _unannotated(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def construct_partial(tp: Any, data: Any) -> Any:
    """Build a snapshot of type `tp` from partial data, without validation: models are
    made with `model_construct`, required fields not arrived yet are `None`, and values
    (a half-written string, an enum's raw text) are kept as they are.

    Example:
        >>> from pydantic import BaseModel
        >>> class Point(BaseModel):
        ...     x: int
        ...     y: int
        >>> construct_partial(list[Point], [{"x": 1, "y": 2}, {"x": 3}])
        [Point(x=1, y=2), Point(x=3, y=None)]
    """
    tp = _unannotated(tp)
    origin = get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if not isinstance(data, dict):
            return data
        values: dict[str, Any] = {}
        for name, field in tp.model_fields.items():
            key = field.alias or name
            if key in data:
                values[name] = construct_partial(field.annotation, data[key])
            elif field.is_required():
                values[name] = None
        return tp.model_construct(**values)
    args = get_args(tp)
    if origin in _SEQUENCES and isinstance(data, list):
        item = args[0] if args else Any
        return [construct_partial(item, value) for value in data]
    if origin in _MAPPINGS and isinstance(data, dict) and len(args) == 2:
        return {key: construct_partial(args[1], value) for key, value in data.items()}
    if origin in (Union, UnionType):
        for arg in args:
            inner = _unannotated(arg)
            is_model = isinstance(inner, type) and issubclass(inner, BaseModel)
            is_list = get_origin(inner) in _SEQUENCES
            if (is_model and isinstance(data, dict)) or (is_list and isinstance(data, list)):
                return construct_partial(inner, data)
    return data
