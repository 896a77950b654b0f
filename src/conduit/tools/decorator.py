"""`@tool`: a typed Python function becomes a `FunctionTool`.

The parameters' type hints become the JSON Schema; the docstring's summary becomes the
description and its argument section (Google `Args:`, NumPy `Parameters`, or reST
`:param x:`) the parameters' descriptions. `Annotated[int, Field(description=...)]` works
too and wins over the docstring.

Example:
    >>> @tool
    ... def get_weather(city: str, unit: str = "celsius") -> str:
    ...     '''Current weather for a city.
    ...
    ...     Args:
    ...         city: The city, e.g. Paris.
    ...         unit: "celsius" or "fahrenheit".
    ...     '''
    ...     return f"18 degrees {unit} in {city}"
    >>> get_weather.definition.description
    'Current weather for a city.'
    >>> get_weather.definition.parameters["properties"]["city"]
    {'description': 'The city, e.g. Paris.', 'type': 'string'}
    >>> get_weather("Paris")
    '18 degrees celsius in Paris'
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable
from typing import Any, overload

import pydantic
from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo

from conduit.errors import ValidationError
from conduit.tools.function import FunctionTool

__all__ = ["parse_docstring", "tool"]

_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Params|Returns|Return|Yields|Raises|Examples?|Notes?)"
    r"\s*:?\s*$"
)
_GOOGLE_ARG = re.compile(r"^\s*\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_REST_PARAM = re.compile(r"^\s*:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")
_REST_OTHER = re.compile(r"^\s*:(returns?|raises?|rtype|type)\b")
_NUMPY_ARG = re.compile(r"^(\w+)\s*(?::.*)?$")
_ARG_SECTIONS = {"Args", "Arguments", "Parameters", "Params"}


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """A docstring's description (the text before any section) and its per-argument
    descriptions, from Google (`Args:`), NumPy (`Parameters` + dashes) or reST
    (`:param x:`) style.

    Example:
        >>> parse_docstring('''Add numbers.
        ...
        ...     :param a: the first
        ...     :param b: the second
        ...     ''')
        ('Add numbers.', {'a': 'the first', 'b': 'the second'})
    """
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    params: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    base_indent: int | None = None
    numpy_style = False
    i = 0
    while i < len(lines):
        line = lines[i]
        rest = _REST_PARAM.match(line)
        if rest:
            section, current = "rest", rest.group(1)
            params[current] = rest.group(2).strip()
            i += 1
            continue
        if _REST_OTHER.match(line):
            section, current = "rest-other", None
            i += 1
            continue
        heading = _SECTION.match(line)
        if heading and not line.startswith((" ", "\t")):
            section, current, base_indent = heading.group(1), None, None
            # NumPy style underlines the heading with dashes.
            numpy_style = i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}
            if numpy_style:
                i += 1
            i += 1
            continue
        if section is None:
            summary.append(line)
        elif section in _ARG_SECTIONS and line.strip():
            indent = len(line) - len(line.lstrip())
            if base_indent is None:
                base_indent = indent
            at_base = indent == base_indent
            match = _GOOGLE_ARG.match(line) if at_base and not numpy_style else None
            numpy = _NUMPY_ARG.match(line.strip()) if at_base and numpy_style else None
            if match:
                current = match.group(1)
                params[current] = match.group(2).strip()
            elif numpy:
                current = numpy.group(1)
                params[current] = ""
            elif current is not None:
                params[current] = f"{params[current]} {line.strip()}".strip()
        elif section == "rest" and current is not None and line.strip():
            params[current] = f"{params[current]} {line.strip()}".strip()
        i += 1
    return "\n".join(summary).strip(), params


def _model_for(function: Callable[..., Any], name: str) -> type[BaseModel]:
    description, docs = parse_docstring(function.__doc__)
    del description
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception as exc:  # unresolvable forward references and the like
        raise ValidationError(f"tool {name!r}: cannot read its type hints ({exc})") from None
    fields: dict[str, Any] = {}
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise ValidationError(
                f"tool {name!r}: *{parameter.name} cannot be described to a model; "
                "name every parameter"
            )
        if parameter.kind is parameter.POSITIONAL_ONLY:
            raise ValidationError(
                f"tool {name!r}: positional-only parameter {parameter.name!r} is not supported"
            )
        if parameter.name not in hints:
            raise ValidationError(
                f"tool {name!r}: parameter {parameter.name!r} needs a type annotation "
                "(it becomes the JSON Schema the model sees)"
            )
        annotation = hints[parameter.name]
        default = ... if parameter.default is parameter.empty else parameter.default
        field = Field(default=default, description=docs.get(parameter.name) or None)
        if typing.get_origin(annotation) is typing.Annotated:
            # An explicit Field(description=...) in the annotation wins over the docstring.
            metadata = typing.get_args(annotation)[1:]
            if any(isinstance(m, FieldInfo) and m.description for m in metadata):
                field = Field(default=default)
            elif any(isinstance(m, str) for m in metadata):
                text = next(m for m in metadata if isinstance(m, str))
                field = Field(default=default, description=text)
        fields[parameter.name] = (annotation, field)
    model_name = "".join(part.capitalize() for part in name.split("_")) or "Arguments"
    try:
        model: type[BaseModel] = pydantic.create_model(
            model_name, __config__=ConfigDict(extra="forbid"), **fields
        )
        model.model_json_schema()
    except (pydantic.PydanticSchemaGenerationError, pydantic.PydanticUserError) as exc:
        raise ValidationError(f"tool {name!r}: {exc}") from None
    return model


@overload
def tool(function: Callable[..., Any], /) -> FunctionTool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool | None = None,
    timeout: float | None = None,
    requires_approval: bool = False,
    thread: bool = True,
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool | None = None,
    timeout: float | None = None,
    requires_approval: bool = False,
    thread: bool = True,
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Make a `FunctionTool` from a typed function (sync or async): `@tool` or
    `@tool(timeout=5, requires_approval=True)`, or `tool(fn)`.

    Example:
        >>> @tool(requires_approval=True)
        ... async def delete_file(path: str) -> str:
        ...     '''Delete a file.'''
        ...     return f"deleted {path}"
        >>> delete_file.requires_approval, delete_file.definition.parameters["required"]
        (True, ['path'])
    """

    def build(fn: Callable[..., Any]) -> FunctionTool:
        if isinstance(fn, FunctionTool):
            return fn
        if not callable(fn):
            raise ValidationError(f"@tool needs a function, not {type(fn).__name__}")
        tool_name = name or getattr(fn, "__name__", "")
        if not tool_name or tool_name == "<lambda>":
            raise ValidationError("a tool from a lambda needs name=")
        summary, _ = parse_docstring(fn.__doc__)
        return FunctionTool(
            fn,
            _model_for(fn, tool_name),
            name=tool_name,
            description=summary if description is None else description,
            strict=strict,
            timeout=timeout,
            requires_approval=requires_approval,
            thread=thread,
            unpack=True,
        )

    if function is not None:
        return build(function)
    return build
