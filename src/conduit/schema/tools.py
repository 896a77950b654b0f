"""Tool definitions the model may call, and the calls it makes."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from pydantic import Field

from conduit.schema.base import SchemaModel

__all__ = ["FunctionCall", "Tool", "ToolCall"]


class Tool(SchemaModel):
    """A function the model may call, described by a JSON Schema for its arguments.

    Example:
        >>> Tool(name="get_weather", description="Weather for a city",
        ...      parameters={"type": "object", "properties": {"city": {"type": "string"}}}).name
        'get_weather'
    """

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None


class FunctionCall(SchemaModel):
    """The function part of a tool call: the name, parsed arguments and the raw string.

    Arguments that are not valid JSON (or not a JSON object) are kept in `raw_arguments`
    and flagged with `invalid_arguments=True`; `arguments` is then empty. Nothing is dropped.

    Example:
        >>> call = FunctionCall.from_raw("add", '{"a": 1, "b": 2}')
        >>> call.arguments, call.invalid_arguments
        ({'a': 1, 'b': 2}, False)
        >>> FunctionCall.from_raw("add", '{"a": 1').invalid_arguments
        True
    """

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    raw_arguments: str = "{}"
    invalid_arguments: bool = False

    @classmethod
    def from_raw(cls, name: str, raw: str | None) -> FunctionCall:
        """Parse a provider's argument string, keeping it raw (and flagged) when it is not JSON."""
        text = raw if raw is not None else ""
        if not text.strip():
            return cls(name=name, arguments={}, raw_arguments=text)
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            return cls(name=name, raw_arguments=text, invalid_arguments=True)
        if not isinstance(parsed, dict):
            return cls(name=name, raw_arguments=text, invalid_arguments=True)
        return cls(name=name, arguments=parsed, raw_arguments=text)

    @classmethod
    def from_arguments(cls, name: str, arguments: dict[str, Any]) -> FunctionCall:
        """Build from already-parsed arguments (the raw string is their JSON)."""
        return cls(name=name, arguments=arguments, raw_arguments=orjson.dumps(arguments).decode())


class ToolCall(SchemaModel):
    """A call the model asked for.

    Example:
        >>> call = ToolCall(id="call_1", function=FunctionCall.from_raw("add", '{"a": 1}'))
        >>> call.name, call.arguments
        ('add', {'a': 1})
    """

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall

    @property
    def name(self) -> str:
        """The function's name."""
        return self.function.name

    @property
    def arguments(self) -> dict[str, Any]:
        """The parsed arguments (empty when they were not valid JSON; see `function`)."""
        return self.function.arguments
