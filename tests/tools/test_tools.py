"""Tools from Pydantic models and typed functions; strict JSON Schema; tool execution."""

from __future__ import annotations

import asyncio
import threading
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field

from conduit.errors import ValidationError
from conduit.schema import FunctionCall, ToolCall
from conduit.tools import (
    FunctionTool,
    can_be_strict,
    execute_tool_calls,
    format_result,
    iter_tool_calls,
    parse_docstring,
    strict_schema,
    tool,
    tool_map,
)


def call(name: str, arguments: dict[str, Any] | str, id: str = "c1") -> ToolCall:
    function = (
        FunctionCall.from_raw(name, arguments)
        if isinstance(arguments, str)
        else FunctionCall.from_arguments(name, arguments)
    )
    return ToolCall(id=id, function=function)


def assert_strict(schema: Any) -> None:
    """OpenAI strict mode's rules, checked everywhere in the schema."""
    if isinstance(schema, list):
        for item in schema:
            assert_strict(item)
        return
    if not isinstance(schema, dict):
        return
    assert not (set(schema) & {"default", "title", "minimum", "maxLength", "allOf", "oneOf"})
    if schema.get("type") == "object":
        assert schema["additionalProperties"] is False
        assert schema["required"] == list(schema["properties"])
    for key, value in schema.items():
        if key != "enum":
            assert_strict(value)


class Address(BaseModel):
    street: str
    zip: str | None = None


class Shape(BaseModel):
    """Draw a shape."""

    kind: Literal["circle", "square"]
    size: int = Field(default=1, ge=1, le=10, description="side or radius")
    tags: list[str] = Field(default_factory=list, max_length=3)
    where: Address
    fallback: Address | None = None
    fixed: Literal["x"] = "x"


class Tree(BaseModel):
    value: int
    children: list[Tree] = []


# ------------------------------------------------------------------------------ schema


def test_strict_schema_from_pydantic() -> None:
    schema = strict_schema(Shape.model_json_schema())
    assert_strict(schema)
    props = schema["properties"]
    assert props["kind"] == {"type": "string", "enum": ["circle", "square"]}
    size = props["size"]["anyOf"][0]
    assert size["description"].startswith("side or radius (")
    assert "minimum: 1" in size["description"]
    assert "default: 1" in size["description"]
    assert props["where"]["properties"]["street"] == {"type": "string"}  # $ref inlined
    assert "$defs" not in schema
    assert props["fixed"]["anyOf"][0]["enum"] == ["x"]


def test_strict_schema_keeps_recursion_as_refs() -> None:
    schema = strict_schema(Tree.model_json_schema())
    assert_strict(schema)
    assert schema["$defs"]["Tree"]["properties"]["value"] == {"type": "integer"}
    items = schema["properties"]["children"]["anyOf"][0]["items"]
    assert items == {"$ref": "#/$defs/Tree"}


def test_strict_schema_edge_cases() -> None:
    with pytest.raises(ValidationError, match="object schema"):
        strict_schema({"type": "string"})
    with pytest.raises(ValidationError, match="cannot resolve"):
        strict_schema({"type": "object", "properties": {"a": {"$ref": "#/$defs/Nope"}}})
    one_of = strict_schema(
        {"type": "object", "properties": {"a": {"oneOf": [{"type": "string"}]}}, "required": ["a"]}
    )
    assert one_of["properties"]["a"] == {"anyOf": [{"type": "string"}]}
    described = strict_schema(
        {
            "type": "object",
            "$defs": {"U": {"type": "string", "enum": ["c", "f"]}},
            "properties": {"u": {"$ref": "#/$defs/U", "description": "unit"}},
            "required": ["u"],
        }
    )
    assert described["properties"]["u"] == {
        "type": "string",
        "enum": ["c", "f"],
        "description": "unit",
    }
    wrapped = strict_schema(
        {
            "type": "object",
            "$defs": {"U": {"type": "string"}},
            "properties": {"u": {"allOf": [{"$ref": "#/$defs/U"}], "description": "d"}},
            "required": ["u"],
        }
    )
    assert wrapped["properties"]["u"] == {"type": "string", "description": "d"}
    mapping = strict_schema(
        {
            "type": "object",
            "properties": {"m": {"type": "object", "additionalProperties": {"type": "integer"}}},
            "required": ["m"],
        }
    )
    assert not can_be_strict(mapping)
    assert can_be_strict(strict_schema(Shape.model_json_schema()))


# --------------------------------------------------------------------------- FunctionTool


async def test_function_tool_from_model() -> None:
    seen: list[Shape] = []

    def draw(shape: Shape) -> str:
        seen.append(shape)
        return "ok"

    drawn = FunctionTool(draw, Shape)
    assert drawn.name == "draw"
    assert drawn.definition.description == "Draw a shape."
    assert drawn.definition.strict is True
    args = {
        "kind": "circle",
        "size": None,
        "tags": None,
        "where": {"street": "a", "zip": None},
        "fallback": None,
        "fixed": None,
    }
    validated: Any = drawn.validate(args)
    assert validated.size == 1
    assert validated.tags == []
    assert validated.fixed == "x"
    assert await drawn.invoke(validated) == "ok"
    with pytest.raises(ValidationError, match=r"draw.size: Input should be less than or equal"):
        drawn.validate({**args, "size": 11})
    assert repr(drawn) == "FunctionTool('draw')"


async def test_function_tool_options() -> None:
    async def area(shape: Shape) -> int:
        return shape.size**2

    t = FunctionTool(area, Shape, name="area", description="Area.", strict=False, timeout=2)
    assert t.definition.strict is False
    assert t.timeout == 2
    assert "default" in t.definition.parameters["properties"]["size"]  # the model's own schema
    assert await t.invoke(t.validate({"kind": "circle", "size": 3, "where": {"street": "s"}})) == 9
    with pytest.raises(ValidationError):
        FunctionTool(area, dict)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        FunctionTool("nope", Shape)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="timeout"):
        FunctionTool(area, Shape, timeout=0)


# ------------------------------------------------------------------------------- @tool


def test_tool_decorator_google_docstring() -> None:
    @tool
    def weather(city: str, unit: Literal["c", "f"] = "c", days: int | None = None) -> str:
        """Weather forecast.

        More detail here.

        Args:
            city: The city,
                spelled out.
            unit (str): Temperature unit.
            days: How many days.

        Returns:
            The forecast.
        """
        return f"{city} {unit} {days}"

    d = weather.definition
    assert d.description == "Weather forecast.\n\nMore detail here."
    props = d.parameters["properties"]
    assert props["city"]["description"] == "The city, spelled out."
    assert props["unit"]["anyOf"][0]["description"].startswith("Temperature unit.")
    assert props["days"]["description"] == "How many days."
    assert_strict(d.parameters)
    assert weather("Rome") == "Rome c None"
    assert weather.validate({"city": "x", "unit": None, "days": None}).unit == "c"  # type: ignore[attr-defined]


def test_parse_docstring_styles() -> None:
    numpy = """Sum.

    Parameters
    ----------
    a : int
        The first
        number.
    b : int
    """
    assert parse_docstring(numpy) == ("Sum.", {"a": "The first number.", "b": ""})
    rest = """Sum.

    :param int a: first
        continued
    :param b: second
    :returns: the sum
    """
    assert parse_docstring(rest) == ("Sum.", {"a": "first continued", "b": "second"})
    assert parse_docstring(None) == ("", {})


async def test_tool_decorator_variants() -> None:
    @tool(name="find", description="Find things.", timeout=3, requires_approval=True, thread=False)
    async def search(
        query: Annotated[str, Field(description="what")],
        limit: Annotated[int, "how many"] = 5,
    ) -> list[str]:
        """Ignored summary.

        Args:
            query: docstring loses to Field
        """
        return [query] * limit

    assert search.name == "find"
    assert search.definition.description == "Find things."
    assert search.requires_approval
    assert search.timeout == 3
    props = search.definition.parameters["properties"]
    assert props["query"]["description"] == "what"
    assert props["limit"]["anyOf"][0]["description"].startswith("how many")
    assert await search.invoke(search.validate({"query": "q", "limit": 2})) == ["q", "q"]
    assert tool(search) is search


def test_tool_decorator_refuses() -> None:
    def star(*args: int) -> None: ...

    def untyped(x) -> None:  # type: ignore[no-untyped-def]
        ...

    def positional(x: int, /) -> None: ...

    def bad_type(x: threading.Event) -> None: ...

    def forward(x: Missing) -> None: ...  # type: ignore[name-defined]  # noqa: F821

    for fn, match in [
        (star, r"\*args"),
        (untyped, "annotation"),
        (positional, "positional-only"),
        (forward, "type hints"),
    ]:
        with pytest.raises(ValidationError, match=match):
            tool(fn)  # type: ignore[call-overload]
    with pytest.raises(ValidationError, match="lambda"):
        tool(lambda x: x)
    with pytest.raises(ValidationError, match="needs a function"):
        tool(3)  # type: ignore[call-overload]
    with pytest.raises(ValidationError, match="bad_type"):
        tool(bad_type)


# ------------------------------------------------------------------------------ execute


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
async def slow(seconds: float) -> str:
    """Sleep."""
    await asyncio.sleep(seconds)
    return "slept"


@tool
def boom() -> str:
    """Always fails."""
    raise KeyError("missing")


@tool(requires_approval=True)
def delete(path: str) -> str:
    """Delete a file."""
    return f"deleted {path}"


@tool(timeout=0.05)
def blocking(seconds: float) -> str:
    """Block a thread."""
    threading.Event().wait(seconds)
    return "done"


TOOLS = [add, slow, boom, delete, blocking]
TOOL_TIMEOUT = 2.0


async def test_every_failure_becomes_a_result() -> None:
    outcomes = await execute_tool_calls(
        [
            call("add", {"a": 1, "b": 2}, "1"),
            call("add", '{"a": 1', "2"),
            call("add", {"a": "x", "b": 1}, "3"),
            call("boom", {}, "4"),
            call("slow", {"seconds": 3600}, "5"),
            call("nope", {}, "6"),
            call("delete", {"path": "/etc"}, "7"),
            call("blocking", {"seconds": 0.5}, "8"),
        ],
        TOOLS,
        # Above any pause of a busy machine: the quick tools always finish within it.
        tool_timeout=TOOL_TIMEOUT,
    )
    assert [o.status for o in outcomes] == [
        "ok",
        "invalid_arguments",
        "invalid_arguments",
        "error",
        "timeout",
        "unknown_tool",
        "not_approved",
        "timeout",
    ]
    assert [o.message.tool_call_id for o in outcomes] == [str(i) for i in range(1, 9)]
    assert outcomes[0].value == 3
    assert outcomes[0].ok
    assert outcomes[0].content == "3"
    assert "not a JSON object" in outcomes[1].content
    assert "add.a: Input should be a valid integer" in outcomes[2].content
    assert outcomes[3].content == "Error: boom raised KeyError: 'missing'"
    assert isinstance(outcomes[3].error, KeyError)
    assert f"within {TOOL_TIMEOUT:g} s" in outcomes[4].content
    assert (
        "no tool named 'nope'. Available tools: add, slow, boom, delete, blocking"
        in outcomes[5].content
    )
    assert "did not approve" in outcomes[6].content
    assert "within 0.05 s" in outcomes[7].content  # the tool's own timeout wins
    assert all(o.message.role == "tool" and o.content.startswith("Error") for o in outcomes[1:])


async def test_calls_run_concurrently() -> None:
    # Overlap, not speed: each call waits until all five are running, so only calls that
    # run at the same time can finish (one after another, the first would time out).
    inside = 0
    all_in = asyncio.Event()

    @tool
    async def meet() -> str:
        """Wait for the others."""
        nonlocal inside
        inside += 1
        if inside == 5:
            all_in.set()
        await all_in.wait()
        return "met"

    outcomes = await execute_tool_calls(
        [call("meet", {}, str(i)) for i in range(5)], [meet], tool_timeout=60
    )
    assert [o.status for o in outcomes] == ["ok"] * 5


async def test_approval_and_callbacks() -> None:
    asked: list[str] = []
    seen: list[str] = []

    async def approve(c: ToolCall) -> bool:
        asked.append(c.arguments["path"])
        return bool(c.arguments["path"] == "/tmp/x")

    async def on_result(outcome: Any) -> None:
        seen.append(outcome.status)

    outcomes = await execute_tool_calls(
        [call("delete", {"path": "/tmp/x"}, "1"), call("delete", {"path": "/"}, "2")],
        {t.name: t for t in TOOLS},
        approve=approve,
        on_tool_call=lambda c: seen.append(c.id),
        on_tool_result=on_result,
    )
    assert [o.status for o in outcomes] == ["ok", "not_approved"]
    assert sorted(asked) == ["/", "/tmp/x"]
    assert sorted(seen) == ["1", "2", "not_approved", "ok"]
    sync = await execute_tool_calls([call("delete", {"path": "a"})], TOOLS, approve=lambda c: True)
    assert sync[0].content == "deleted a"


async def test_iter_tool_calls_yields_as_they_finish() -> None:
    # "late" finishes only once "early" has been yielded: an iterator that waited for
    # the calls in order would never yield (the guard turns that into a failure).
    early_seen = asyncio.Event()

    @tool
    async def after_early() -> str:
        """Finish after the early call was yielded."""
        await early_seen.wait()
        return "late"

    calls = [call("after_early", {}, "late"), call("add", {"a": 1, "b": 1}, "early")]
    order: list[str] = []

    async def collect() -> None:
        async for outcome in iter_tool_calls(calls, [*TOOLS, after_early]):
            order.append(outcome.call.id)
            early_seen.set()

    await asyncio.wait_for(collect(), 60)
    assert order == ["early", "late"]
    single = [o.value async for o in iter_tool_calls([call("add", {"a": 1, "b": 2})], TOOLS)]
    assert single == [3]
    # Closing early cancels the rest.
    stream = iter_tool_calls(
        [call("slow", {"seconds": 5}, "a"), call("add", {"a": 1, "b": 1}, "b")], TOOLS
    )
    first = await anext(stream)
    assert first.call.id == "b"
    await stream.aclose()


def test_tool_map() -> None:
    def plain(x: int) -> int:
        """Identity."""
        return x

    assert list(tool_map([add, plain])) == ["add", "plain"]
    with pytest.raises(ValidationError, match="two tools"):
        tool_map([add, add])


def test_format_result() -> None:
    assert format_result(Address(street="s")) == '{"street":"s","zip":null}'
    assert format_result([Address(street="s")]) == '[{"street":"s","zip":null}]'
    assert format_result({"a": (1, 2)}) == '{"a":[1,2]}'
    assert format_result({1, 2}) in ("[1,2]", "[2,1]")
    assert format_result(object()).startswith("<object object")
    assert format_result(3.5) == "3.5"
