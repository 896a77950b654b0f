"""Checks a request body against an official SDK's request TypedDicts, strictly, and a
parsed SDK response for fields its models did not know: the independent check every
adapter's tests share.

Pydantic alone is not enough: a `TypeAdapter` over a TypedDict ignores unknown keys and
validates `Iterable[...]` fields lazily, and the SDKs' response models allow extra
fields. `materialize` forces the lazy validation, `problems` walks the TypedDicts and
rejects any key they do not define, `extras` lists fields a parsed model kept as extra.
"""

from __future__ import annotations

import collections.abc
import types
import typing
from collections.abc import Iterator
from typing import Any

import pydantic
import typing_extensions

__all__ = ["extras", "materialize", "problems", "wire_keys"]

_SEQUENCE_ORIGINS = (
    list,
    collections.abc.Iterable,
    collections.abc.Sequence,
    collections.abc.Collection,
)
_UNWRAP = (typing.Required, typing.NotRequired)


# --------------------------------------------------------------------------- requests


def _materialize(value: Any) -> Any:
    """Iterate pydantic's lazy validators so errors inside `Iterable[...]` surface."""
    if isinstance(value, dict):
        return {k: _materialize(v) for k, v in value.items()}
    if isinstance(value, str | bytes | int | float | bool | None):
        return value
    if isinstance(value, collections.abc.Iterable):
        return [_materialize(v) for v in value]
    return value


def _wire_keys(td: type) -> dict[str, Any]:
    """Wire key → annotation for a TypedDict (honouring the SDK's `PropertyInfo(alias=)`)."""
    hints = typing.get_type_hints(td, include_extras=True)
    keys: dict[str, Any] = {}
    for name, hint in hints.items():
        wire = name
        inner = hint
        while typing.get_origin(inner) in _UNWRAP:
            inner = typing.get_args(inner)[0]
        if typing.get_origin(inner) is typing.Annotated:
            for meta in inner.__metadata__:
                alias = getattr(meta, "alias", None)
                if isinstance(alias, str):
                    wire = alias
        keys[wire] = hint
    return keys


def _leaf_problem(tp: Any, value: Any, path: str) -> list[str]:
    try:
        pydantic.TypeAdapter(tp).validate_python(value, strict=True)
    except pydantic.ValidationError as exc:
        return [f"{path}: {exc.errors(include_url=False)[0]['msg']} (got {value!r})"]
    except pydantic.PydanticSchemaGenerationError:
        return [] if isinstance(value, str) else [f"{path}: unexpected {value!r}"]
    return []


def _problems(tp: Any, value: Any, path: str) -> list[str]:
    """Every way `value` departs from the SDK type `tp` (empty: it fits exactly)."""
    if tp is Any or tp is object:
        return []
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in _UNWRAP or origin is typing.Annotated:
        return _problems(args[0], value, path)
    if typing_extensions.is_typeddict(tp):
        if not isinstance(value, dict):
            return [f"{path}: expected an object for {tp.__name__}, got {value!r}"]
        known = _wire_keys(tp)
        found: list[str] = []
        for key, item in value.items():
            if key not in known:
                found.append(f"{path}.{key}: not a field of {tp.__name__}")
            else:
                found.extend(_problems(known[key], item, f"{path}.{key}"))
        found.extend(
            f"{path}.{key}: required by {tp.__name__} but missing"
            for key in tp.__required_keys__
            if key not in value
        )
        return found
    if origin is typing.Union or origin is types.UnionType:
        results = [_problems(arg, value, path) for arg in args]
        if any(not r for r in results):
            return []
        return min(results, key=len)
    if origin is typing.Literal:
        return [] if value in args else [f"{path}: {value!r} is not one of {args!r}"]
    if origin in _SEQUENCE_ORIGINS:
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {value!r}"]
        return [p for i, item in enumerate(value) for p in _problems(args[0], item, f"{path}[{i}]")]
    if origin in (dict, collections.abc.Mapping):
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {value!r}"]
        return [p for k, item in value.items() for p in _problems(args[1], item, f"{path}.{k}")]
    return _leaf_problem(tp, value, path)


def extras(obj: Any, path: str) -> Iterator[str]:
    """Fields a parsed SDK model (or a list of them) kept as extras: ones it did not know."""
    if isinstance(obj, pydantic.BaseModel):
        for key in obj.model_extra or {}:
            yield f"{path}.{key} ({type(obj).__name__})"
        for name in type(obj).model_fields:
            yield from extras(getattr(obj, name), f"{path}.{name}")
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            yield from extras(item, f"{path}[{i}]")


materialize = _materialize
wire_keys = _wire_keys
problems = _problems
