"""Typed answers from any chat model: `with_structured_output`, `extract`, `classify`.

Each call asks through the best mechanism the model has (`mode="auto"`):

- `native`: `response_format` with the strict JSON Schema; each adapter maps it to its
  provider's own mechanism (OpenAI `json_schema` strict, Anthropic a forced tool,
  Gemini `responseJsonSchema`, Ollama `format`, the local model a llama.cpp grammar);
- `json`: JSON mode (`response_format` `json_object`) plus the schema in the instructions;
- `prompt`: the schema in the instructions only; the JSON is found inside the prose.

An answer that does not validate is sent back to the model with the error, up to
`max_retries` times; the last failure is a `StructuredOutputError` (a `ValidationError`)
carrying every attempt.

Example:
    >>> import asyncio
    >>> from pydantic import BaseModel
    >>> from conduit.providers.fake import FunctionModel
    >>> class City(BaseModel):
    ...     name: str
    ...     population: int
    >>> model = FunctionModel(lambda messages, options: '{"name": "Oslo", "population": 709000}')
    >>> asyncio.run(extract(model, "Oslo has 709,000 people.", City))
    City(name='Oslo', population=709000)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, Literal, TypeVar, overload

from pydantic import create_model

from conduit.core.protocols import ChatModel, make_options
from conduit.core.sync import iterate_sync, run_sync
from conduit.errors import ValidationError
from conduit.schema import (
    ChatOptions,
    Message,
    MessagesInput,
    Response,
    ResponseFormat,
    normalize_messages,
    system,
    user,
)
from conduit.structured.parser import Attempt, Parser, StructuredOutputError, as_parser

__all__ = [
    "Mode",
    "StructuredModel",
    "classify",
    "extract",
    "with_structured_output",
]

T = TypeVar("T")
E = TypeVar("E", bound=Enum)

Mode = Literal["auto", "native", "json", "prompt"]
"""How the schema is asked for; see the module docs."""

_MODES = ("auto", "native", "json", "prompt")

EXTRACT_INSTRUCTIONS = (
    "Extract the requested information from the user's text. Use only what the text says; "
    "use null for anything it does not say."
)


def _feedback(error: str) -> Message:
    return user(
        f"That answer did not match the required schema: {error}\n"
        "Answer again with only the corrected JSON."
    )


def _with_system(messages: list[Message], text: str) -> list[Message]:
    """`text` added to the conversation's system prompt: appended to a leading text
    system message (some chat templates take only one), else a new one placed first."""
    if messages and messages[0].role == "system" and isinstance(messages[0].content, str):
        return [system(f"{messages[0].content}\n\n{text}"), *messages[1:]]
    return [system(text), *messages]


@dataclass(eq=False)
class StructuredModel(Generic[T]):
    """A chat model whose answers are objects of one type: `run()` returns one,
    `stream()` yields partial snapshots and then the validated object.

    Build it with `with_structured_output(model, Schema)`.

    Example:
        >>> import asyncio
        >>> from conduit.providers.fake import MockModel
        >>> people = with_structured_output(MockModel(['{"items": ["Ada", "Alan"]}']), list[str])
        >>> asyncio.run(people.run("Name two pioneers."))
        ['Ada', 'Alan']
    """

    model: ChatModel
    parser: Parser[T]
    max_retries: int = 2
    mode: Mode = "auto"
    instructions: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in _MODES:
            raise ValidationError(f"mode must be one of {', '.join(_MODES)}, not {self.mode!r}")
        if not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ValidationError(
                f"max_retries must be a whole number >= 0, not {self.max_retries!r}"
            )

    @property
    def resolved_mode(self) -> Literal["native", "json", "prompt"]:
        """The mode used: `auto` picks `native` when the model takes a JSON Schema, `json`
        when it has JSON mode, else `prompt`.

        Example:
            >>> from conduit.providers.fake import MockModel
            >>> with_structured_output(MockModel(), int).resolved_mode
            'native'
        """
        if self.mode != "auto":
            return self.mode
        caps = self.model.model_info.capabilities
        return "native" if caps.json_schema else "json" if caps.json_mode else "prompt"

    def request(
        self, messages: MessagesInput, options: ChatOptions | None, kwargs: dict[str, Any]
    ) -> tuple[list[Message], ChatOptions]:
        """The messages and options actually sent: instructions added, `response_format`
        set for the mode.

        Example:
            >>> from conduit.providers.fake import MockModel
            >>> s = with_structured_output(MockModel(), list[int], mode="json")
            >>> messages, options = s.request("Primes below 10?", None, {})
            >>> [m.role for m in messages], options.response_format.type
            (['system', 'user'], 'json_object')
        """
        normalized = normalize_messages(messages)
        opts = make_options(options, kwargs)
        mode = self.resolved_mode
        notes = [self.instructions] if self.instructions else []
        if mode != "native":
            notes.append(self.parser.instructions)
        if notes:
            normalized = _with_system(normalized, "\n\n".join(notes))
        fmt: ResponseFormat | None = None
        if mode == "native":
            fmt = self.parser.response_format
        elif mode == "json":
            fmt = ResponseFormat(type="json_object")
        if fmt is not None:
            opts = opts.merged(response_format=fmt)
        return normalized, opts

    def _failed(self, attempts: list[Attempt]) -> StructuredOutputError:
        return StructuredOutputError(
            f"{self.parser.name}: no valid answer in {len(attempts)} attempt(s); "
            f"last error: {attempts[-1].error}",
            attempts=attempts,
            provider=self.model.model_info.provider,
        )

    def _check(
        self, response: Response, messages: list[Message], attempts: list[Attempt]
    ) -> tuple[bool, T | None, list[Message]]:
        """(done, value, next messages): validate one answer, or queue the retry."""
        try:
            return True, self.parser.parse(response), messages
        except ValidationError as exc:
            attempts.append(Attempt(response.text, exc.message, response))
            return False, None, [*messages, response.to_message(), _feedback(exc.message)]

    async def run(
        self, messages: MessagesInput, options: ChatOptions | None = None, **kwargs: Any
    ) -> T:
        """Ask, validate, retry with the error on failure; return the object.

        Example:
            >>> import asyncio
            >>> from conduit.providers.fake import MockModel
            >>> model = MockModel(["not json", "[3, 5, 7]"])
            >>> asyncio.run(with_structured_output(model, list[int]).run("Primes?"))
            [3, 5, 7]
        """
        current, opts = self.request(messages, options, kwargs)
        attempts: list[Attempt] = []
        for _ in range(self.max_retries + 1):
            response = await self.model.chat(current, opts)
            done, value, current = self._check(response, current, attempts)
            if done:
                return value  # type: ignore[return-value]  # a parsed T
        raise self._failed(attempts)

    def run_sync(
        self, messages: MessagesInput, options: ChatOptions | None = None, **kwargs: Any
    ) -> T:
        """`run` for synchronous code."""
        return run_sync(self.run(messages, options, **kwargs))

    def stream(
        self, messages: MessagesInput, options: ChatOptions | None = None, **kwargs: Any
    ) -> AsyncIterator[T]:
        """Snapshots while the answer streams (fields filled as they arrive, the rest
        `None`, nothing validated), then the validated object last. A retry after an
        invalid answer starts the snapshots again.

        Example:
            >>> import asyncio
            >>> from conduit.providers.fake import MockModel
            >>> model = MockModel(['{"items": ["a", "b"]}'])
            >>> async def main():
            ...     return [x async for x in with_structured_output(model, list[str]).stream("?")]
            >>> asyncio.run(main())[-1]
            ['a', 'b']
        """
        from conduit.structured.stream import stream_objects

        current, opts = self.request(messages, options, kwargs)
        return stream_objects(self, current, opts)

    def stream_sync(
        self, messages: MessagesInput, options: ChatOptions | None = None, **kwargs: Any
    ) -> Iterator[T]:
        """`stream` for synchronous code."""
        return iterate_sync(self.stream(messages, options, **kwargs))


def with_structured_output(
    model: ChatModel,
    schema: type[T] | Parser[T],
    *,
    max_retries: int = 2,
    mode: Mode = "auto",
    instructions: str | None = None,
) -> StructuredModel[T]:
    """`model`, answering with objects of type `schema` (a Pydantic model, a list of them,
    or any type pydantic validates).

    Example:
        >>> from conduit.providers.fake import MockModel
        >>> with_structured_output(MockModel(['{"value": 4}']), int).run_sync("2+2?")
        4
    """
    return StructuredModel(
        model, as_parser(schema), max_retries=max_retries, mode=mode, instructions=instructions
    )


async def extract(
    model: ChatModel,
    text: str,
    schema: type[T] | Parser[T],
    *,
    instructions: str | None = None,
    max_retries: int = 2,
    mode: Mode = "auto",
    options: ChatOptions | None = None,
    **kwargs: Any,
) -> T:
    """The information in `text`, as an object of type `schema` (`list[Schema]` for many).

    Example:
        >>> import asyncio
        >>> from conduit.providers.fake import MockModel
        >>> model = MockModel(['{"items": ["Ada Lovelace", "Alan Turing"]}'])
        >>> asyncio.run(extract(model, "Ada Lovelace met... Alan Turing wrote...", list[str]))
        ['Ada Lovelace', 'Alan Turing']
    """
    note = EXTRACT_INSTRUCTIONS + (f"\n{instructions}" if instructions else "")
    structured = with_structured_output(
        model, schema, max_retries=max_retries, mode=mode, instructions=note
    )
    return await structured.run(text, options, **kwargs)


def _label_values(labels: Sequence[str] | type[Enum]) -> tuple[list[str], dict[str, Any]]:
    if isinstance(labels, type) and issubclass(labels, Enum):
        members = {(m.value if isinstance(m.value, str) else m.name): m for m in labels}
        return list(members), members
    if isinstance(labels, str) or not all(isinstance(label, str) for label in labels):
        raise ValidationError("labels must be a list of strings or an Enum class")
    values = list(dict.fromkeys(labels))
    return values, {value: value for value in values}


@overload
async def classify(
    model: ChatModel,
    text: str,
    labels: type[E],
    *,
    multi_label: Literal[False] = False,
    instructions: str | None = None,
    max_retries: int = 2,
    mode: Mode = "auto",
    options: ChatOptions | None = None,
    **kwargs: Any,
) -> E: ...
@overload
async def classify(
    model: ChatModel,
    text: str,
    labels: type[E],
    *,
    multi_label: Literal[True],
    instructions: str | None = None,
    max_retries: int = 2,
    mode: Mode = "auto",
    options: ChatOptions | None = None,
    **kwargs: Any,
) -> list[E]: ...
@overload
async def classify(
    model: ChatModel,
    text: str,
    labels: Sequence[str],
    *,
    multi_label: Literal[False] = False,
    instructions: str | None = None,
    max_retries: int = 2,
    mode: Mode = "auto",
    options: ChatOptions | None = None,
    **kwargs: Any,
) -> str: ...
@overload
async def classify(
    model: ChatModel,
    text: str,
    labels: Sequence[str],
    *,
    multi_label: Literal[True],
    instructions: str | None = None,
    max_retries: int = 2,
    mode: Mode = "auto",
    options: ChatOptions | None = None,
    **kwargs: Any,
) -> list[str]: ...
async def classify(
    model: ChatModel,
    text: str,
    labels: Sequence[str] | type[Enum],
    *,
    multi_label: bool = False,
    instructions: str | None = None,
    max_retries: int = 2,
    mode: Mode = "auto",
    options: ChatOptions | None = None,
    **kwargs: Any,
) -> Any:
    """The label (one of `labels`, or a member of an Enum class) that fits `text`; with
    `multi_label=True`, every label that fits, in the order of `labels`.

    Example:
        >>> import asyncio
        >>> from conduit.providers.fake import MockModel
        >>> model = MockModel(['{"label": "negative"}'])
        >>> asyncio.run(classify(model, "Awful service.", ["positive", "negative"]))
        'negative'
    """
    values, by_value = _label_values(labels)
    if not values:
        raise ValidationError("classify() needs at least one label")
    choice: Any = Literal.__getitem__(tuple(values))
    if multi_label:
        field: Any = (list[choice], ...)
        task = "Classify the user's text: give every label that applies, from: "
    else:
        field = (choice, ...)
        task = "Classify the user's text with exactly one label, from: "
    key = "labels" if multi_label else "label"
    fields: dict[str, Any] = {key: field}
    target: Any = create_model("Classification", **fields)
    note = task + ", ".join(values) + "." + (f"\n{instructions}" if instructions else "")
    structured = with_structured_output(
        model, target, max_retries=max_retries, mode=mode, instructions=note
    )
    result = getattr(await structured.run(text, options, **kwargs), key)
    if multi_label:
        chosen = set(result)
        return [by_value[value] for value in values if value in chosen]
    return by_value[result]
