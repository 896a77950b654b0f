"""`conduit ask --schema ...`: a JSON Schema from the command line.

Three spellings: inline JSON (`'{"type": "object", ...}'`), a file holding JSON, or the
compact form `name str, age int, bio` — comma-separated fields, each a name, an
optional type (`str`, the default; `int`, `float`, `bool`) and an optional
description after `:` (`age int: age in years`). Fields may also be separated by
newlines.

Example:
    >>> schema = parse_schema("name, age int: in years")
    >>> schema["properties"]["age"]
    {'type': 'integer', 'description': 'in years'}
    >>> schema["required"]
    ['name', 'age']
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from conduit.errors import ValidationError

__all__ = ["compact_schema", "parse_schema", "schema_format"]

_TYPES = {
    "str": "string",
    "string": "string",
    "int": "integer",
    "integer": "integer",
    "float": "number",
    "number": "number",
    "bool": "boolean",
    "boolean": "boolean",
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def compact_schema(text: str) -> dict[str, Any]:
    """The object schema for `name str, age int, bio` (every field required).

    Example:
        >>> compact_schema("ok bool")["properties"]
        {'ok': {'type': 'boolean'}}
        >>> compact_schema("age years")
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: --schema: unknown type 'years' for field 'age'...
    """
    separator = "\n" if "\n" in text else ","
    properties: dict[str, Any] = {}
    for raw in text.split(separator):
        field, _, description = raw.partition(":")
        words = field.split()
        if not words:
            continue
        if len(words) > 2 or not _NAME.match(words[0]):
            raise ValidationError(
                f"--schema: cannot read the field {raw.strip()!r} — write it as "
                "'name type: description', e.g. 'age int: age in years'"
            )
        kind = words[1].lower() if len(words) == 2 else "str"
        if kind not in _TYPES:
            raise ValidationError(
                f"--schema: unknown type {words[1]!r} for field {words[0]!r} — "
                "use str, int, float or bool"
            )
        entry: dict[str, Any] = {"type": _TYPES[kind]}
        if description.strip():
            entry["description"] = description.strip()
        properties[words[0]] = entry
    if not properties:
        raise ValidationError("--schema is empty — e.g. --schema 'name str, age int'")
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def parse_schema(value: str) -> dict[str, Any]:
    """A JSON Schema from inline JSON, a JSON file's path, or the compact form.

    Example:
        >>> parse_schema('{"type": "object", "properties": {"a": {"type": "string"}}}')["type"]
        'object'
    """
    text = value.strip()
    if not text.startswith("{"):
        path = Path(text)
        if (text and "," not in text and path.suffix == ".json") or _is_file(path):
            try:
                text = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ValidationError(
                    f"--schema: cannot read {value!r} ({exc.strerror}) — give a JSON file, "
                    "inline JSON or 'name str, age int'"
                ) from None
    if text.startswith("{"):
        try:
            schema = json.loads(text)
        except ValueError as exc:
            raise ValidationError(
                f"--schema is not valid JSON ({exc}) — check the quotes"
            ) from None
        if not isinstance(schema, dict):
            raise ValidationError("--schema must be a JSON object")
        return schema
    return compact_schema(text)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def schema_format(schema: dict[str, Any]) -> Any:
    """The `ResponseFormat` asking for JSON matching `schema` (strict when it can be).

    Example:
        >>> schema_format(compact_schema("name")).type
        'json_schema'
    """
    from conduit.schema import ResponseFormat
    from conduit.structured import is_strict_compatible

    name = str(schema.get("title") or "output")
    name = re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:64] or "output"
    return ResponseFormat.from_schema(name, schema, strict=is_strict_compatible(schema))
