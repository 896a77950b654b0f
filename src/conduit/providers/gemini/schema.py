"""JSON Schema → the OpenAPI subset Gemini's `Schema` object accepts.

A function declaration's `parameters` is a Gemini `Schema`
(https://ai.google.dev/api/caching#Schema): an OpenAPI 3.0 subset, with upper-case
types, `nullable` instead of `"null"` types, no `$ref`, and (in the Gemini Developer
API) no `additionalProperties`. Tools in Conduit carry plain JSON Schema (what pydantic's
`model_json_schema()` writes), so this module rewrites it:

- `$ref`s into `$defs`/`definitions` are inlined; a recursive schema cannot be inlined
  and raises `RecursiveSchemaError` (the adapter then sends it as `parametersJsonSchema`);
- `"type": ["string", "null"]` and `anyOf: [..., {"type": "null"}]` become `nullable`;
  `oneOf` becomes `anyOf`; a one-item `allOf` is merged in; `const` becomes a one-value
  `enum`; enum values become strings (Gemini's enums are string-only);
- types are upper-cased; a schema with no type gets `OBJECT` when it has `properties`,
  `ARRAY` when it has `items`, else `STRING`;
- a `format` Gemini does not know (it knows `enum`, `date-time`, `float`, `double`,
  `int32`, `int64`) is dropped, as is every key outside the `Schema` object
  (`additionalProperties`, `$schema`, `examples`, `exclusiveMinimum`, ...).

Example:
    >>> to_gemini_schema({"type": "object", "additionalProperties": False,
    ...                   "properties": {"city": {"type": ["string", "null"]}}})
    {'type': 'OBJECT', 'properties': {'city': {'type': 'STRING', 'nullable': True}}}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conduit.errors import ValidationError

__all__ = ["RecursiveSchemaError", "to_gemini_schema"]

# Every key of Gemini's `Schema` object (https://ai.google.dev/api/caching#Schema).
_KEEP = frozenset(
    {
        "format",
        "title",
        "description",
        "nullable",
        "maxItems",
        "minItems",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "propertyOrdering",
        "default",
        "minimum",
        "maximum",
    }
)
_FORMATS = frozenset({"enum", "date-time", "float", "double", "int32", "int64"})
_TYPES = frozenset({"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT"})


class RecursiveSchemaError(ValidationError):
    """The schema refers to itself, which Gemini's `Schema` cannot express."""


class _Converter:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.defs: dict[str, Any] = {}
        for key in ("$defs", "definitions"):
            found = root.get(key)
            if isinstance(found, Mapping):
                for name, value in found.items():
                    self.defs[f"#/{key}/{name}"] = value
        self.active: list[str] = []

    def resolve(self, ref: Any) -> Mapping[str, Any]:
        if not isinstance(ref, str) or ref not in self.defs:
            raise ValidationError(
                f"cannot resolve $ref {ref!r}: Gemini needs every reference inlined, "
                "and only local '#/$defs/...' references can be"
            )
        if ref in self.active:
            raise RecursiveSchemaError(f"the schema is recursive through {ref!r}")
        target = self.defs[ref]
        if not isinstance(target, Mapping):
            raise ValidationError(f"$ref {ref!r} does not point at a schema object")
        return target

    def convert(self, schema: Any) -> dict[str, Any]:
        if not isinstance(schema, Mapping):
            # `true` / `{}`-like schemas: anything goes; Gemini needs a type.
            return {"type": "STRING"}
        ref = schema.get("$ref")
        if ref is not None:
            target = self.resolve(ref)
            self.active.append(ref)
            try:
                # Siblings of $ref (a description, a default) refine the target.
                merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
                return self.convert(merged)
            finally:
                self.active.pop()
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and all_of:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in all_of:
                if isinstance(part, Mapping):
                    merged = {**part, **merged}
            return self.convert(merged)
        out: dict[str, Any] = {}
        nullable = bool(schema.get("nullable"))

        types = schema.get("type")
        type_list = types if isinstance(types, list) else [types] if types is not None else []
        if "null" in type_list:
            nullable = True
            type_list = [t for t in type_list if t != "null"]

        variants = schema.get("anyOf", schema.get("oneOf"))
        if isinstance(variants, list):
            kept = [v for v in variants if not (isinstance(v, Mapping) and v.get("type") == "null")]
            if len(kept) != len(variants):
                nullable = True
            if len(kept) == 1:
                rest = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
                inner = self.convert({**kept[0], **rest})
                if nullable:
                    inner["nullable"] = True
                return inner
            out["anyOf"] = [self.convert(v) for v in kept]
        elif len(type_list) > 1:
            out["anyOf"] = [self.convert({**schema, "type": t}) for t in type_list]
            type_list = []

        if len(type_list) == 1 and isinstance(type_list[0], str):
            kind = type_list[0].upper()
            if kind not in _TYPES:
                raise ValidationError(f"JSON Schema type {type_list[0]!r} has no Gemini equivalent")
            out["type"] = kind
        elif "anyOf" not in out:
            if "properties" in schema:
                out["type"] = "OBJECT"
            elif "items" in schema:
                out["type"] = "ARRAY"
            else:
                out["type"] = "STRING"

        if "const" in schema:
            out["enum"] = [str(schema["const"])]
        elif isinstance(schema.get("enum"), list):
            values = [v for v in schema["enum"] if v is not None]
            if len(values) != len(schema["enum"]):
                nullable = True
            out["enum"] = [v if isinstance(v, str) else str(v) for v in values]
        if "enum" in out and out.get("type") in ("INTEGER", "NUMBER", "BOOLEAN"):
            out["type"] = "STRING"  # Gemini's enums hold strings only

        for key, value in schema.items():
            if key in _KEEP and key not in out:
                if key == "format" and value not in _FORMATS:
                    continue
                out[key] = value
        properties = schema.get("properties")
        if isinstance(properties, Mapping):
            out["properties"] = {name: self.convert(sub) for name, sub in properties.items()}
            if "required" in out:
                out["required"] = [r for r in out["required"] if r in out["properties"]]
        items = schema.get("items")
        if items is not None and not isinstance(items, list):
            out["items"] = self.convert(items)
        elif out.get("type") == "ARRAY":
            out["items"] = {"type": "STRING"}
        if nullable:
            out["nullable"] = True
        return out


def to_gemini_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """`schema` (JSON Schema) rewritten for Gemini's `Schema` object (see the module doc).

    Raises `RecursiveSchemaError` for a schema that refers to itself, and
    `ValidationError` for a `$ref` it cannot resolve.

    Example:
        >>> to_gemini_schema({"$defs": {"U": {"enum": ["c", "f"]}},
        ...                   "type": "object", "properties": {"unit": {"$ref": "#/$defs/U"}}})
        {'type': 'OBJECT', 'properties': {'unit': {'type': 'STRING', 'enum': ['c', 'f']}}}
    """
    return _Converter(schema).convert(schema)
