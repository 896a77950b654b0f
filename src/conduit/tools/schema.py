"""JSON Schema for tool parameters that every provider's strict mode accepts.

OpenAI's strict function calling (Structured Outputs, "Supported schemas") takes a
subset of JSON Schema: every object lists all its properties in `required` and sets
`additionalProperties: false`; an optional property is a union with `null`; keywords
such as `default`, `minLength`, `pattern`, `minimum` or `minItems` are refused. Anthropic
takes any JSON Schema, and Gemini's adapter rewrites schemas to Gemini's own subset
(`conduit.providers.gemini.schema`), so the strict form is the one shape that works
everywhere. Constraints taken out are not lost: they are written into the property's
description for the model to read, and the tool still validates the arguments against
its full Pydantic model.

Example:
    >>> strict_schema({"type": "object", "title": "Args",
    ...                "properties": {"n": {"type": "integer", "minimum": 1, "default": 2}}})
    {'type': 'object', 'properties': {'n': {'anyOf': [{'type': 'integer', 'description': \
'minimum: 1; default: 2'}, {'type': 'null'}]}}, 'required': ['n'], 'additionalProperties': False}
"""

from __future__ import annotations

import json
from typing import Any

from conduit.errors import ValidationError

__all__ = ["UNSUPPORTED_KEYWORDS", "can_be_strict", "strict_schema"]

# The keywords OpenAI's strict mode refuses ("Some type-specific keywords are not yet
# supported"), plus `default`, which it refuses too. They move into the description.
UNSUPPORTED_KEYWORDS = frozenset(
    {
        "default",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "patternProperties",
        "unevaluatedProperties",
        "propertyNames",
        "minProperties",
        "maxProperties",
        "unevaluatedItems",
        "contains",
        "minContains",
        "maxContains",
        "minItems",
        "maxItems",
        "uniqueItems",
    }
)
# Noise for the model (pydantic writes a title for every field); dropped.
_DROPPED = frozenset({"title", "examples", "$schema", "readOnly", "writeOnly", "deprecated"})
_REF_PREFIX = "#/$defs/"


def _is_nullable(node: dict[str, Any]) -> bool:
    if node.get("type") == "null" or (
        isinstance(node.get("type"), list) and "null" in node["type"]
    ):
        return True
    return any(isinstance(b, dict) and _is_nullable(b) for b in node.get("anyOf", ()))


class _Converter:
    def __init__(self, root: dict[str, Any]) -> None:
        self.defs: dict[str, Any] = dict(root.get("$defs") or root.get("definitions") or {})
        self.recursive: set[str] = set()
        self.converted_defs: dict[str, Any] = {}

    def ref(self, node: dict[str, Any], stack: tuple[str, ...]) -> dict[str, Any]:
        target = node["$ref"]
        name = target.rsplit("/", 1)[-1]
        if not (target.startswith((_REF_PREFIX, "#/definitions/")) and name in self.defs):
            raise ValidationError(f"tool schema: cannot resolve $ref {target!r}")
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if name in stack:
            # A recursive type stays a reference (OpenAI strict allows `$defs` + `$ref`,
            # without sibling keywords).
            self.recursive.add(name)
            if name not in self.converted_defs:
                self.converted_defs[name] = {}
                self.converted_defs[name] = self.convert(self.defs[name], (*stack, name))
            return {"$ref": _REF_PREFIX + name}
        inlined = self.convert(self.defs[name], (*stack, name))
        extra = self.convert(siblings, stack) if siblings else {}
        return {**inlined, **extra}

    def convert(self, node: Any, stack: tuple[str, ...] = ()) -> Any:
        if isinstance(node, list):
            return [self.convert(item, stack) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return self.ref(node, stack)
        if "allOf" in node and len(node["allOf"]) == 1:
            # pydantic wraps a described reference as allOf[$ref]; strict mode has no allOf.
            rest = {k: v for k, v in node.items() if k != "allOf"}
            return {**self.convert(node["allOf"][0], stack), **self.convert(rest, stack)}
        out: dict[str, Any] = {}
        notes: list[str] = []
        for key, value in node.items():
            if key in _DROPPED or key in ("$defs", "definitions"):
                continue
            if key in UNSUPPORTED_KEYWORDS:
                if key == "default" and value is None:
                    continue  # null already means "not given"
                notes.append(f"{key}: {json.dumps(value, default=str)}")
            elif key == "const":
                out["enum"] = [value]
            elif key == "oneOf":
                out["anyOf"] = self.convert(value, stack)
            elif key == "properties":
                out["properties"] = {k: self.convert(v, stack) for k, v in value.items()}
            elif key in ("items", "anyOf", "prefixItems", "not", "additionalProperties"):
                out[key] = self.convert(value, stack)
            else:
                out[key] = value
        if notes:
            note = "; ".join(notes)
            out["description"] = f"{out['description']} ({note})" if "description" in out else note
        if out.get("type") == "object" or "properties" in out:
            self.close_object(node, out)
        return out

    @staticmethod
    def close_object(original: dict[str, Any], out: dict[str, Any]) -> None:
        properties: dict[str, Any] = out.setdefault("properties", {})
        required = set(original.get("required", ()))
        for name, prop in properties.items():
            if name not in required and not _is_nullable(prop):
                # Optional → required but nullable; the tool treats null as "not given".
                description = prop.pop("description", None)
                properties[name] = {"anyOf": [prop, {"type": "null"}]}
                if description is not None:
                    properties[name]["anyOf"][0]["description"] = description
        out["required"] = list(properties)
        if not (
            isinstance(original.get("additionalProperties"), dict) and not properties
        ):  # a free-form map (dict[str, X]) cannot be strict; leave its value schema
            out["additionalProperties"] = False


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` rewritten for strict mode: references inlined (recursive ones kept under
    `$defs`), every object closed with all properties required, optional properties
    nullable, unsupported keywords moved into descriptions, titles dropped.

    The root must be an object schema (function parameters always are).

    Example:
        >>> strict_schema({"type": "object", "properties": {"q": {"type": "string"}},
        ...                "required": ["q"]})
        {'type': 'object', 'properties': {'q': {'type': 'string'}}, 'required': ['q'], \
'additionalProperties': False}
    """
    converter = _Converter(schema)
    # A recursive model's schema is a reference to itself under `$defs`.
    out: dict[str, Any] = converter.convert(schema)
    if out.get("type") != "object":
        raise ValidationError(f"tool parameters must be an object schema, not {out.get('type')!r}")
    if converter.recursive:
        out["$defs"] = {
            name: converter.converted_defs[name] for name in sorted(converter.recursive)
        }
    return out


def can_be_strict(schema: Any) -> bool:
    """Whether `schema` (as `strict_schema` wrote it) fits strict mode: it does unless some
    object is a free-form map (`dict[str, X]`), which strict mode cannot express.

    Example:
        >>> can_be_strict(strict_schema({"type": "object", "properties": {}}))
        True
        >>> can_be_strict({"type": "object", "additionalProperties": {"type": "integer"}})
        False
    """
    if isinstance(schema, list):
        return all(can_be_strict(item) for item in schema)
    if not isinstance(schema, dict):
        return True
    if isinstance(schema.get("additionalProperties"), dict | bool) and (
        schema.get("additionalProperties") is not False
    ):
        return False
    return all(can_be_strict(v) for k, v in schema.items() if k != "enum")
