"""`Conduit`: a prompt template, a model and (optionally) a parser, run once or over a
batch of inputs.

`run(variables)` renders the prompt, asks the model and returns its `Response` (or, with
a parser, the parsed object). `run_batch(list_of_variables, concurrency=N)` does the same
for many inputs at once and returns a `BatchResult`: each item's answer or its
`BatchItemError`, in input order. With a history store, `include_history=True` sends the
conversation so far and `save=True` appends the exchange to it.

Example:
    >>> from conduit.providers.fake import FunctionModel
    >>> echo = FunctionModel(lambda messages, info: messages[-1].text.upper())
    >>> pipe = Conduit("Name a {{ animal }}.", echo)
    >>> pipe.run({"animal": "owl"}).text
    'NAME A OWL.'
    >>> [r.text for r in pipe.run_batch([{"animal": "cat"}, {"animal": "dog"}])]
    ['NAME A CAT.', 'NAME A DOG.']
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from conduit.batch.panels import show_exchange
from conduit.batch.progress import make_progress
from conduit.batch.results import BatchResult
from conduit.batch.runner import BatchRun
from conduit.batch.verbosity import Verbosity
from conduit.core.protocols import ChatModel
from conduit.core.sync import run_sync
from conduit.errors import ValidationError
from conduit.schema import Message, Response, system, user

if TYPE_CHECKING:
    from conduit.memory import MessageStore
    from conduit.prompts import Prompt
    from conduit.structured import Parser

__all__ = ["Conduit"]

T = TypeVar("T")
Variables = Mapping[str, Any]


def _prompt(template: Prompt | str) -> Prompt:
    from conduit.prompts import Prompt

    return template if isinstance(template, Prompt) else Prompt(template)


def _model(model: ChatModel | str) -> ChatModel:
    if isinstance(model, str):
        from conduit.api import model as build

        return build(model)
    return model


class Conduit(Generic[T]):
    """Prompt + model (+ parser): `run`, `run_batch` and their async twins.

    - `prompt`: a `Prompt` or template text (Jinja syntax, sandboxed).
    - `model`: a `ChatModel` or a `"provider/model"` string.
    - `parser`: a type or `Parser` to turn answers into objects (`with_structured_output`).
    - `system`: a system prompt sent first.
    - `history`, `conversation_id`: a `MessageStore` and the conversation to read and
      extend (one is created on the first `save` when no id is given).
    - `options`: chat options for every call (`temperature=0`, `max_tokens=…`).
    """

    @overload
    def __init__(
        self: Conduit[Response],
        prompt: Prompt | str,
        model: ChatModel | str,
        parser: None = None,
        *,
        system: str | None = None,
        history: MessageStore | None = None,
        conversation_id: str | None = None,
        **options: Any,
    ) -> None: ...

    @overload
    def __init__(
        self: Conduit[T],
        prompt: Prompt | str,
        model: ChatModel | str,
        parser: type[T] | Parser[T],
        *,
        system: str | None = None,
        history: MessageStore | None = None,
        conversation_id: str | None = None,
        **options: Any,
    ) -> None: ...

    def __init__(
        self,
        prompt: Prompt | str,
        model: ChatModel | str,
        parser: Any = None,
        *,
        system: str | None = None,
        history: MessageStore | None = None,
        conversation_id: str | None = None,
        **options: Any,
    ) -> None:
        self.prompt = _prompt(prompt)
        self.model = _model(model)
        self.parser = parser
        self.system = system
        self.history = history
        self.conversation_id = conversation_id
        self.options = options

    def __repr__(self) -> str:
        return f"Conduit({self.prompt!r}, {self.model.model_info.ref!r})"

    async def _messages(self, variables: Variables | None, include_history: bool) -> list[Message]:
        messages: list[Message] = [system(self.system)] if self.system else []
        if include_history:
            if self.history is None:
                raise ValidationError(
                    "include_history=True needs a history store: Conduit(…, history=store)"
                )
            if self.conversation_id is not None:
                earlier = await self.history.messages(self.conversation_id)
                messages += [m for m in earlier if m.role != "system" or not self.system]
        messages.append(user(self.prompt.render(dict(variables or {}))))
        return messages

    async def _ask(self, model: ChatModel, messages: list[Message]) -> Any:
        if self.parser is None:
            return await model.chat(messages, **self.options)
        from conduit.structured import with_structured_output

        return await with_structured_output(model, self.parser).run(messages, **self.options)

    async def _save(self, messages: list[Message], answer: Any) -> None:
        assert self.history is not None
        if self.conversation_id is None:
            self.conversation_id = (await self.history.create(messages[-1].text[:60])).id
        reply: Message | Response = answer if isinstance(answer, Response) else _as_message(answer)
        await self.history.append(self.conversation_id, messages[-1], reply)

    async def run_async(
        self,
        input_variables: Variables | None = None,
        *,
        include_history: bool = False,
        save: bool = False,
        verbosity: Verbosity | bool | int | str | None = None,
    ) -> T:
        """Render, ask, (parse,) and return the answer.

        Example:
            >>> import asyncio
            >>> from conduit.providers.fake import MockModel
            >>> pipe = Conduit("Hi {{ name }}", MockModel(["hello"]))
            >>> asyncio.run(pipe.run_async({"name": "Ada"})).text
            'hello'
        """
        if save and self.history is None:
            raise ValidationError("save=True needs a history store: Conduit(…, history=store)")
        messages = await self._messages(input_variables, include_history)
        answer = await self._ask(self.model, messages)
        if isinstance(answer, Response):
            show_exchange(verbosity, messages, answer, options=self.options)
        if save:
            await self._save(messages, answer)
        result: T = answer
        return result

    def run(
        self,
        input_variables: Variables | None = None,
        *,
        include_history: bool = False,
        save: bool = False,
        verbosity: Verbosity | bool | int | str | None = None,
    ) -> T:
        """`run_async` from synchronous code."""
        return run_sync(
            self.run_async(
                input_variables, include_history=include_history, save=save, verbosity=verbosity
            )
        )

    def _batch(
        self,
        inputs: Sequence[Variables],
        concurrency: int,
        retries: int,
        verbosity: Verbosity | bool | int | str | None,
        results_file: str | os.PathLike[str] | None,
        resume: bool,
    ) -> BatchRun[Variables, T]:
        from conduit.interceptors import Cost, with_interceptors

        progress = make_progress(verbosity, len(inputs))
        metered: ChatModel = self.model
        if self.parser is not None:
            # Parsed answers carry no usage of their own: count it on the way out.
            metered = with_interceptors(
                self.model,
                [
                    Cost(
                        on_cost=lambda r: progress.add_usage(
                            r.usage.input_tokens, r.usage.output_tokens, r.cost_usd or 0.0
                        )
                    )
                ],
            )

        async def one(variables: Variables) -> T:
            answer: T = await self._ask(metered, await self._messages(variables, False))
            return answer

        ref = self.model.model_info.ref
        return BatchRun(
            one,
            inputs,
            concurrency=concurrency,
            retries=retries,
            progress=progress,
            results_file=results_file,
            resume=resume,
            decode=self._decode,
            request_of=lambda variables: {
                "model": ref,
                "variables": dict(variables),
                "options": dict(self.options),
            },
        )

    def _decode(self, value: Any) -> Any:
        if self.parser is None:
            return Response.model_validate(value)
        from conduit.structured import as_parser

        return as_parser(self.parser).validate(value)

    async def run_batch_async(
        self,
        inputs: Sequence[Variables],
        *,
        concurrency: int = 8,
        retries: int = 2,
        verbosity: Verbosity | bool | int | str | None = Verbosity.SILENT,
        results_file: str | os.PathLike[str] | None = None,
        resume: bool = False,
    ) -> BatchResult[T]:
        """Run every input (at most `concurrency` at once); results in input order, each
        an answer or a `BatchItemError`. Retryable failures (rate limits, timeouts,
        server errors) are tried `retries` more times. With `results_file`, each finished
        item is journaled there at once; `resume=True` skips those already answered."""
        return await self._batch(
            inputs, concurrency, retries, verbosity, results_file, resume
        ).run()

    def run_batch(
        self,
        inputs: Sequence[Variables],
        *,
        concurrency: int = 8,
        retries: int = 2,
        verbosity: Verbosity | bool | int | str | None = Verbosity.SILENT,
        results_file: str | os.PathLike[str] | None = None,
        resume: bool = False,
    ) -> BatchResult[T]:
        """`run_batch_async` from synchronous code; Ctrl-C stops it and returns what
        finished (the rest are `cancelled` errors)."""
        return self._batch(inputs, concurrency, retries, verbosity, results_file, resume).run_sync()


def _as_message(answer: Any) -> Message:
    from pydantic import BaseModel

    from conduit import _json
    from conduit.schema import assistant

    if isinstance(answer, BaseModel):
        return assistant(answer.model_dump_json())
    try:
        return assistant(_json.dumps(answer).decode())
    except TypeError:
        return assistant(str(answer))
