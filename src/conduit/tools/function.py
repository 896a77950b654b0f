"""Executable tools: a function plus the schema of its arguments.

`conduit.schema.Tool` is data (a name, a description, a JSON Schema) sent to the model.
An executable tool also knows how to check arguments and run: `FunctionTool` wraps a
Python function (sync or async) whose arguments are a Pydantic model; `@tool`
(`conduit.tools.decorator`) builds one from a typed function; MCP servers' tools
(`conduit.tools.mcp`) follow the same `ExecutableTool` protocol.

Example:
    >>> import asyncio
    >>> from pydantic import BaseModel
    >>> class AddArgs(BaseModel):
    ...     a: int
    ...     b: int
    >>> add = FunctionTool(lambda args: args.a + args.b, AddArgs, name="add",
    ...                    description="Add two numbers")
    >>> add.definition.parameters["required"]
    ['a', 'b']
    >>> asyncio.run(add.invoke(add.validate({"a": 1, "b": 2})))
    3
"""

from __future__ import annotations

import asyncio
import inspect
import types
import typing
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

import orjson
import pydantic
from pydantic import BaseModel

from conduit.errors import ValidationError
from conduit.schema import Tool
from conduit.schema.base import describe_validation_error
from conduit.tools.schema import can_be_strict, strict_schema

__all__ = ["ExecutableTool", "FunctionTool", "format_result"]


@runtime_checkable
class ExecutableTool(Protocol):
    """What an agent can run: a definition for the model, argument checking, execution.

    `validate` raises `conduit.errors.ValidationError` for bad arguments (its message is
    shown to the model so it can correct itself); `invoke` runs with what `validate`
    returned. `timeout` (seconds, None: the caller's default) and `requires_approval`
    are read by `execute_tool_calls`.
    """

    @property
    def name(self) -> str:
        """The name the model calls the tool by."""
        ...

    @property
    def definition(self) -> Tool:
        """The tool as data, for `ChatOptions.tools`."""
        ...

    @property
    def timeout(self) -> float | None:
        """Seconds a call may take (None: the caller's default)."""
        ...

    @property
    def requires_approval(self) -> bool:
        """Whether a person must approve each call first."""
        ...

    def validate(self, arguments: dict[str, Any]) -> Any:
        """Checked arguments, or `ValidationError` saying what is wrong."""
        ...

    async def invoke(self, validated: Any) -> Any:
        """Run with checked arguments; the return value goes back to the model."""
        ...


def _nullable(annotation: Any) -> bool:
    if annotation is None or annotation is type(None) or annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _nullable(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return any(_nullable(arg) for arg in typing.get_args(annotation))
    return False


def _null_means_default(model: type[BaseModel]) -> frozenset[str]:
    """Optional fields that do not take None: in the strict schema they are nullable
    (strict mode makes every field required), and null there means "use the default"."""
    return frozenset(
        name
        for name, field in model.model_fields.items()
        if not field.is_required() and not _nullable(field.annotation)
    )


class FunctionTool:
    """A Python function as a tool; its arguments are the fields of a Pydantic model.

    `function` takes one argument, the validated model instance (or, with
    `unpack=True`, the model's fields as keyword arguments: what `@tool` builds). It may
    be sync or async; a sync function runs in a worker thread (`thread=False` runs it on
    the event loop: for quick, non-blocking functions). The name defaults to the
    function's, the description to the model's or the function's docstring.

    `strict` (default: whenever the schema allows it) sends the strict JSON Schema and
    asks the provider to hold the model to it. `timeout` is seconds per call;
    `requires_approval=True` asks the agent's `approve` callback before each call.

    The tool stays callable as the plain function: `add(args)`.

    Example:
        >>> from pydantic import BaseModel, Field
        >>> class Search(BaseModel):
        ...     '''Search the web.'''
        ...     query: str = Field(description="what to look for")
        ...     limit: int = 5
        >>> search = FunctionTool(lambda a: f"{a.limit} results for {a.query}", Search)
        >>> search.definition.description, search.definition.strict
        ('Search the web.', True)
        >>> search.validate({"query": "otters", "limit": None}).limit
        5
    """

    def __init__(
        self,
        function: Callable[..., Any],
        parameters: type[BaseModel],
        *,
        name: str | None = None,
        description: str | None = None,
        strict: bool | None = None,
        timeout: float | None = None,
        requires_approval: bool = False,
        thread: bool = True,
        unpack: bool = False,
    ) -> None:
        if not (isinstance(parameters, type) and issubclass(parameters, BaseModel)):
            raise ValidationError(f"parameters must be a Pydantic model class, not {parameters!r}")
        if not callable(function):
            raise ValidationError(f"a tool needs a callable, not {type(function).__name__}")
        if timeout is not None and timeout <= 0:
            raise ValidationError(f"timeout must be positive seconds, not {timeout!r}")
        self.function = function
        self.parameters = parameters
        self._timeout = timeout
        self._requires_approval = requires_approval
        self.thread = thread
        self.unpack = unpack
        self.is_async = inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
            getattr(function, "__call__", None)  # noqa: B004 - async callable objects
        )
        tool_name = name or getattr(function, "__name__", "") or parameters.__name__
        if tool_name == "<lambda>":
            tool_name = parameters.__name__
        doc = description
        if doc is None:
            own_doc = parameters.__doc__ if parameters.__doc__ != BaseModel.__doc__ else None
            doc = inspect.cleandoc(own_doc or getattr(function, "__doc__", None) or "")
        schema = strict_schema(parameters.model_json_schema())
        if strict is None:
            strict = can_be_strict(schema)
        elif not strict:
            # Not strict: the model's own schema, with optional fields left optional.
            schema = parameters.model_json_schema()
        self._definition = Tool(name=tool_name, description=doc, parameters=schema, strict=strict)
        self._null_default = _null_means_default(parameters)
        self.__doc__ = doc
        self.__name__ = tool_name

    @property
    def name(self) -> str:
        """The name the model calls the tool by."""
        return self._definition.name

    @property
    def definition(self) -> Tool:
        """The tool as data (name, description, JSON Schema), for `ChatOptions.tools`."""
        return self._definition

    @property
    def timeout(self) -> float | None:
        """Seconds a call may take (None: the caller's default)."""
        return self._timeout

    @property
    def requires_approval(self) -> bool:
        """Whether a person must approve each call first."""
        return self._requires_approval

    def validate(self, arguments: dict[str, Any]) -> BaseModel:
        """The arguments as the parameter model; `ValidationError` naming each problem.

        A null for an optional field that does not take None means "use the default"
        (strict mode sends every field)."""
        if self._null_default:
            arguments = {
                k: v for k, v in arguments.items() if v is not None or k not in self._null_default
            }
        try:
            return self.parameters.model_validate(arguments)
        except pydantic.ValidationError as exc:
            raise ValidationError(describe_validation_error(self.name, exc)) from None

    async def invoke(self, validated: Any) -> Any:
        """Run the function with validated arguments (awaited, or in a worker thread)."""
        if self.unpack:
            kwargs = {name: getattr(validated, name) for name in self.parameters.model_fields}
            call: Callable[[], Any] = lambda: self.function(**kwargs)  # noqa: E731
        else:
            call = lambda: self.function(validated)  # noqa: E731
        if self.is_async:
            result = call()
            return await typing.cast(Awaitable[Any], result)
        if self.thread:
            result = await asyncio.to_thread(call)
        else:
            result = call()
        if inspect.isawaitable(result):  # a sync function that returned a coroutine
            return await result
        return result

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"FunctionTool({self.name!r})"


def format_result(value: Any) -> str:
    """A tool's return value as the text the model reads: strings as they are, Pydantic
    models and JSON-able values as JSON, anything else through `str()`.

    Example:
        >>> format_result({"temp": 21}), format_result("sunny"), format_result(None)
        ('{"temp":21}', 'sunny', 'null')
    """
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    try:
        return orjson.dumps(value, default=_fallback).decode()
    except TypeError:
        return str(value)


def _fallback(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError
