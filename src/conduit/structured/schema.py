"""One JSON Schema converter for every provider: `strict_schema(Model)`.

OpenAI's strict mode (https://platform.openai.com/docs/guides/structured-outputs,
"Supported schemas") is the narrowest of the native mechanisms, and a schema it takes is
also taken by Anthropic's tool input, Gemini's `responseJsonSchema`, Ollama's `format` and
llama.cpp's grammar converter. So one converter writes it for all of them:

- every object lists every property in `required` and sets `additionalProperties: false`;
- a property that may be left out becomes nullable (`anyOf [..., {"type": "null"}]`),
  and `prune_nulls` turns the model's `null` back into "left out" so its default applies;
- `default` keywords go (strict mode refuses them); a `$ref` with sibling keywords (a
  described nested model) is inlined, since strict mode wants `$ref` alone; `$defs` stay
  at the root, so recursive models keep working.

Example:
    >>> from pydantic import BaseModel
    >>> class City(BaseModel):
    ...     name: str
    ...     country: str | None = None
    >>> schema = strict_schema(City)
    >>> schema["required"], schema["additionalProperties"]
    (['name', 'country'], False)
    >>> prune_nulls({"name": "Oslo", "country": None}, City.model_json_schema())
    {'name': 'Oslo', 'country': None}
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter

__all__ = ["is_strict_compatible", "json_schema_of", "prune_nulls", "strict_schema"]

_NULL: dict[str, Any] = {"type": "null"}
# Keywords whose value is one schema or a list/dict of schemas: walked recursively.
_ONE = ("items", "not", "contains", "additionalProperties")
_MANY = ("anyOf", "oneOf", "allOf", "prefixItems")


def json_schema_of(tp: Any) -> dict[str, Any]:
    """Pydantic's JSON Schema (validation mode) of a model class or any type.

    Example:
        >>> json_schema_of(list[int])
        {'items': {'type': 'integer'}, 'type': 'array'}
    """
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp.model_json_schema()
    schema: dict[str, Any] = TypeAdapter(tp).json_schema()
    return schema


def _resolve(ref: str, root: dict[str, Any]) -> dict[str, Any]:
    # Pydantic only writes local references: "#/$defs/Name".
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    resolved: dict[str, Any] = node
    return resolved


def _allows_null(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    if schema.get("const", 0) is None or None in schema.get("enum", ()):
        return True
    return any(_allows_null(s) for s in schema.get("anyOf", ()) if isinstance(s, dict))


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if _allows_null(schema):
        return schema
    # Titles and descriptions stay outside, where a reader (or the model) looks first.
    outer: dict[str, Any] = {k: schema[k] for k in ("title", "description") if k in schema}
    inner = {k: v for k, v in schema.items() if k not in outer}
    return {**outer, "anyOf": [inner, dict(_NULL)]}


def _strict(node: Any, root: dict[str, Any]) -> Any:
    if not isinstance(node, dict):  # a boolean schema (`true`) stays as it is
        return node
    if "$ref" in node and len(node) > 1:
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        node = {**_resolve(node["$ref"], root), **siblings}
    if "allOf" in node and len(node["allOf"]) == 1:
        # Older pydantic wraps a described `$ref` in a one-item allOf.
        only = node["allOf"][0]
        node = {**{k: v for k, v in node.items() if k != "allOf"}, **only}
        return _strict(node, root)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "default":
            continue
        if (key == "properties" and isinstance(value, dict)) or (
            key == "$defs" and isinstance(value, dict)
        ):
            out[key] = {name: _strict(sub, root) for name, sub in value.items()}
        elif key in _ONE and isinstance(value, dict):
            out[key] = _strict(value, root)
        elif key in _MANY and isinstance(value, list):
            out[key] = [_strict(sub, root) for sub in value]
        else:
            out[key] = value
    if isinstance(out.get("properties"), dict):
        required = set(node.get("required", ()))
        out["properties"] = {
            name: sub if name in required else _nullable(sub)
            for name, sub in out["properties"].items()
        }
        out["required"] = list(out["properties"])
        out.setdefault("additionalProperties", False)
    return out


def strict_schema(tp: Any) -> dict[str, Any]:
    """The strict-mode JSON Schema of a Pydantic model class (or any type pydantic can
    describe): every property required, optional ones nullable, no extra properties.

    Example:
        >>> from pydantic import BaseModel
        >>> class Review(BaseModel):
        ...     stars: int
        ...     mood: str = "good"
        >>> strict_schema(Review)["properties"]["mood"]
        {'title': 'Mood', 'anyOf': [{'type': 'string'}, {'type': 'null'}]}
    """
    raw = json_schema_of(tp)
    converted: dict[str, Any] = _strict(raw, raw)
    return converted


def is_strict_compatible(schema: dict[str, Any]) -> bool:
    """Whether OpenAI's strict mode takes `schema`: no object may allow extra keys (a
    `dict[str, X]` field does, so such a schema is sent with `strict` off).

    Example:
        >>> is_strict_compatible(strict_schema(dict[str, int]))
        False
    """

    def walk(node: Any) -> bool:
        if isinstance(node, list):
            return all(walk(item) for item in node)
        if not isinstance(node, dict):
            return True
        if node.get("type") == "object" and node.get("additionalProperties", True) is not False:
            return False
        return all(walk(value) for key, value in node.items() if key not in ("enum", "const"))

    return walk(schema)


def prune_nulls(data: Any, schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """Drop the `null`s a strict schema allowed where the original type does not take
    them (an optional, non-nullable field), so the field's default applies instead.

    `schema` is the original (non-strict) JSON Schema that `data` should match.

    Example:
        >>> from pydantic import BaseModel
        >>> class Page(BaseModel):
        ...     size: int = 10
        >>> prune_nulls({"size": None}, Page.model_json_schema())
        {}
    """
    root = schema if root is None else root
    if "$ref" in schema:
        schema = {**_resolve(schema["$ref"], root), **schema}
        del schema["$ref"]
    branches = [s for s in schema.get("anyOf", ()) if isinstance(s, dict) and s != _NULL]
    if len(branches) == 1:
        return prune_nulls(data, branches[0], root)
    if isinstance(data, dict) and isinstance(schema.get("properties"), dict):
        properties: dict[str, Any] = schema["properties"]
        required = set(schema.get("required", ()))
        out = {}
        for key, value in data.items():
            sub = properties.get(key)
            if sub is None:
                out[key] = value
            elif value is None and key not in required and not _allows_null(sub):
                continue
            else:
                out[key] = prune_nulls(value, sub, root)
        return out
    if isinstance(data, dict) and isinstance(schema.get("additionalProperties"), dict):
        values = schema["additionalProperties"]
        return {key: prune_nulls(value, values, root) for key, value in data.items()}
    if isinstance(data, list) and isinstance(schema.get("items"), dict):
        return [prune_nulls(item, schema["items"], root) for item in data]
    return data
