"""`Parser(Schema)`: everything needed to ask for, and read back, one typed answer.

A parser is small and standalone, so anything that sends requests (the batch pipeline,
`Model.query(..., response_model=Schema)`, your own loop) can plug it in: send
`parser.response_format` (native structured output) or `parser.instructions` (JSON mode or
plain prompting), then `parser.parse(response)`.

Example:
    >>> from pydantic import BaseModel
    >>> class Person(BaseModel):
    ...     name: str
    ...     born: int
    >>> parser = Parser(Person)
    >>> parser.response_format.name, parser.response_format.strict
    ('Person', True)
    >>> parser.parse('{"name": "Ada", "born": 1815}')
    Person(name='Ada', born=1815)
    >>> Parser(list[Person]).parse('{"items": [{"name": "Ada", "born": 1815}]}')
    [Person(name='Ada', born=1815)]
"""

from __future__ import annotations

import json
import re
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import pydantic
from pydantic import TypeAdapter

from conduit.errors import ValidationError
from conduit.schema import Response, ResponseFormat
from conduit.schema.base import describe_validation_error
from conduit.schema.responses import RESPONSE_MODELS, register_response_model
from conduit.structured.parse import construct_partial, find_json, partial_json
from conduit.structured.schema import (
    is_strict_compatible,
    json_schema_of,
    prune_nulls,
    strict_schema,
)

__all__ = ["Attempt", "Parser", "StructuredOutputError", "as_parser"]

T = TypeVar("T")

_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


@dataclass(frozen=True, slots=True)
class Attempt:
    """One answer that did not validate: its text, what was wrong, the whole response.

    Example:
        >>> Attempt(text="{}", error="Person.name: Field required").error
        'Person.name: Field required'
    """

    text: str
    error: str
    response: Response | None = None


class StructuredOutputError(ValidationError):
    """The model never gave an answer that matched the schema; `attempts` holds every try,
    in order. Also a `ValidationError` (and a `ValueError`).

    Example:
        >>> err = StructuredOutputError("no valid answer", attempts=[Attempt("hi", "no JSON")])
        >>> len(err.attempts), isinstance(err, ValidationError)
        (1, True)
    """

    hint = "The model's answers did not match the schema; see .attempts."

    def __init__(self, message: str, *, attempts: list[Attempt] | None = None, **fields: Any):
        self.attempts: list[Attempt] = list(attempts or [])
        super().__init__(message, **fields)

    def __reduce__(self) -> tuple[Any, ...]:
        rebuild, (cls, message, fields) = super().__reduce__()[:2]
        return (rebuild, (cls, message, {**fields, "attempts": self.attempts}))


def _type_name(tp: Any) -> str:
    name = getattr(tp, "__name__", None)
    if isinstance(tp, type) and isinstance(name, str):
        return name
    args = getattr(tp, "__args__", ())
    if getattr(tp, "__origin__", None) is list and args and hasattr(args[0], "__name__"):
        return f"{args[0].__name__}_list"
    return "output"


@dataclass(eq=False)
class Parser(Generic[T]):
    """Asks for, and reads back, answers of type `schema`: a Pydantic model, a list of
    them, or any type pydantic validates (an enum, a `Literal`, `list[str]`, ...).

    A schema whose JSON root is not an object (a list, an enum) is wrapped in an object
    under `key` (`"items"` for lists, `"value"` otherwise), since some providers need an
    object root; `parse` unwraps it.

    Example:
        >>> Parser(list[int]).json_schema["required"]
        ['items']
        >>> Parser(list[int]).parse("Here you go: [1, 2, 3]")
        [1, 2, 3]
    """

    schema: type[T]
    name: str = ""
    key: str | None = field(init=False, default=None)
    json_schema: dict[str, Any] = field(init=False, repr=False)
    strict: bool = field(init=False, default=True)

    _response_models: ClassVar[list[type[pydantic.BaseModel]]] = RESPONSE_MODELS
    """Every Pydantic model a parser was made for (the framework's registry, by class
    name: `Response.from_cache_dict` turns cached answers back into these classes)."""

    def __init__(
        self,
        schema: type[T] | None = None,
        name: str = "",
        *,
        pydantic_model: type[T] | None = None,
    ) -> None:
        # `pydantic_model=` is the framework's name for the schema.
        if (schema is None) == (pydantic_model is None):
            raise ValidationError(
                "Parser takes one schema: Parser(Model) or Parser(pydantic_model=Model)"
            )
        self.schema = schema if schema is not None else pydantic_model  # type: ignore[assignment]
        self.name = name
        self.key = None
        self.strict = True
        self.__post_init__()

    def __post_init__(self) -> None:
        for model in _models_in(self.schema):
            register_response_model(model)
        self._adapter: TypeAdapter[T] = TypeAdapter(self.schema)
        self.name = _NAME_UNSAFE.sub("_", self.name or _type_name(self.schema))[:64]
        self._original = json_schema_of(self.schema)
        converted = strict_schema(self.schema)
        if converted.get("type") != "object" or "properties" not in converted:
            self.key = "items" if converted.get("type") == "array" else "value"
            inner = {k: v for k, v in converted.items() if k != "$defs"}
            wrapper: dict[str, Any] = {
                "type": "object",
                "properties": {self.key: inner},
                "required": [self.key],
                "additionalProperties": False,
            }
            if "$defs" in converted:  # `$ref`s point at the root: definitions stay there
                wrapper["$defs"] = converted["$defs"]
            converted = wrapper
        self.json_schema = converted
        self.strict = is_strict_compatible(converted)

    @property
    def response_format(self) -> ResponseFormat:
        """The native structured-output request: a `json_schema` format (strict when the
        schema allows it). Each adapter maps it to its provider's own mechanism."""
        return ResponseFormat.from_schema(self.name, self.json_schema, strict=self.strict)

    @property
    def instructions(self) -> str:
        """What to tell a model that has no native structured output (or only JSON mode).

        Example:
            >>> Parser(list[int]).instructions.splitlines()[0]
            'Answer with only a JSON object, no other text. It must match this JSON Schema:'
        """
        return (
            "Answer with only a JSON object, no other text. It must match this JSON Schema:\n"
            + json.dumps(self.json_schema, ensure_ascii=False)
        )

    def _unwrap(self, data: Any) -> Any:
        if self.key is not None and isinstance(data, dict) and self.key in data:
            return data[self.key]
        return data

    def validate(self, data: Any) -> T:
        """Validate already-decoded JSON (wrapped or not) into the schema's type.

        Example:
            >>> Parser(list[int]).validate({"items": ["1", 2]})
            [1, 2]
        """
        value = prune_nulls(self._unwrap(data), self._original)
        try:
            return self._adapter.validate_python(value)
        except pydantic.ValidationError as exc:
            raise ValidationError(describe_validation_error(self.name, exc)) from None

    def parse(self, response_or_text: Response | str) -> T:
        """Read the answer (a `Response` or its text) into the schema's type. The JSON may
        stand alone, sit in a fenced block, or be inside prose. `ValidationError` says what
        is wrong.

        Example:
            >>> Parser(list[int]).parse("sorry")
            Traceback (most recent call last):
            ...
            conduit.errors.ValidationError: the answer holds no JSON: 'sorry'...
        """
        text = response_or_text.text if isinstance(response_or_text, Response) else response_or_text
        if not text.strip():
            raise ValidationError("the answer is empty; expected JSON")
        return self.validate(find_json(text))

    def parse_partial(self, text: str) -> T | None:
        """A snapshot of an unfinished answer: the fields that have arrived are filled,
        the others are `None`; nothing is validated. `None` before any JSON has started.

        Example:
            >>> from pydantic import BaseModel
            >>> class Pet(BaseModel):
            ...     name: str
            ...     kind: str
            >>> Parser(Pet).parse_partial('{"name": "Rex", "ki')
            Pet(name='Rex', kind=None)
        """
        data = partial_json(text)
        if data is None:
            return None
        snapshot: T = construct_partial(self.schema, self._unwrap(data))
        return snapshot

    @property
    def pydantic_model(self) -> type[T]:
        """The schema (the framework's name for it)."""
        return self.schema

    @staticmethod
    def as_string(pydantic_model: Any) -> str:
        """The model's JSON Schema as one canonical string (sorted keys, no spaces): what
        a cache key needs to tell response models apart.

        Example:
            >>> from pydantic import BaseModel
            >>> class Pet(BaseModel):
            ...     name: str
            >>> Parser.as_string(Pet)
            '{"properties":{"name":{"title":"Name","type":"string"}},"required":["name"],"title":"Pet","type":"object"}'
        """
        schema = pydantic_model.schema if isinstance(pydantic_model, Parser) else pydantic_model
        return json.dumps(json_schema_of(schema), sort_keys=True, separators=(",", ":"))

    @staticmethod
    def to_perplexity(pydantic_model: Any) -> Any:
        """The type to ask Perplexity for: a wrapper model whose one field is a list
        (`class Answers(BaseModel): items: list[Answer]`) becomes that list type
        (`list[Answer]`); anything else is returned as it is.

        Example:
            >>> from pydantic import BaseModel
            >>> class Cities(BaseModel):
            ...     names: list[str]
            >>> class City(BaseModel):
            ...     name: str
            >>> Parser.to_perplexity(Cities) == list[str], Parser.to_perplexity(City) is City
            (True, True)
        """
        if isinstance(pydantic_model, type) and issubclass(pydantic_model, pydantic.BaseModel):
            fields = pydantic_model.model_fields
            if len(fields) == 1:
                annotation = next(iter(fields.values())).annotation
                if typing.get_origin(annotation) is list:
                    return annotation
        return pydantic_model


def _models_in(schema: Any) -> list[type[pydantic.BaseModel]]:
    """The Pydantic model classes a schema is or holds at its top (`Model`, `list[Model]`)."""
    if isinstance(schema, type) and issubclass(schema, pydantic.BaseModel):
        return [schema]
    return [
        a
        for a in typing.get_args(schema)
        if isinstance(a, type) and issubclass(a, pydantic.BaseModel)
    ]


def as_parser(schema: type[T] | Parser[T]) -> Parser[T]:
    """`schema` as a `Parser` (a parser is returned as it is).

    Example:
        >>> p = Parser(list[int])
        >>> as_parser(p) is p, as_parser(int).name
        (True, 'int')
    """
    return schema if isinstance(schema, Parser) else Parser(schema)
