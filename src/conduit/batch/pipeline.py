"""`Pipeline`: a prompt template, a model and (optionally) a parser, run once or over a
batch of inputs.

`await run(variables)` renders the prompt, asks the model and returns its `Response`
(or, with a parser, the parsed object). `await run_batch(list_of_variables,
concurrency=N)` does the same for many inputs at once and returns a `BatchResult`: each
item's answer or its `BatchItemError`, in input order. `run_sync` and `run_batch_sync`
are the synchronous twins. With a history store, `include_history=True` sends the
conversation so far and `save=True` appends the exchange to it.

Every call to the model is recorded in the one usage ledger by default (what `conduit
usage` shows; `ledger=False` turns it off), and `timeout=` (seconds or a
`conduit.Timeout`) bounds each call.

Example:
    >>> from conduit.providers.fake import FunctionModel
    >>> echo = FunctionModel(lambda messages, info: messages[-1].text.upper())
    >>> pipe = Pipeline("Name a {{ animal }}.", echo, ledger=False)
    >>> pipe.run_sync({"animal": "owl"}).text
    'NAME A OWL.'
    >>> [r.text for r in pipe.run_batch_sync([{"animal": "cat"}, {"animal": "dog"}])]
    ['NAME A CAT.', 'NAME A DOG.']
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, overload

from conduit.batch.panels import show_exchange
from conduit.batch.progress import make_progress
from conduit.batch.results import BatchResult
from conduit.batch.runner import BatchRun
from conduit.batch.verbosity import Verbosity
from conduit.core.policy import RetryPolicy, Timeout
from conduit.core.protocols import ChatModel
from conduit.core.sync import run_sync
from conduit.errors import ValidationError
from conduit.odometer.ledger import LedgerInput, check_ledger, usage_recorder
from conduit.schema import Message, Response, system, user

if TYPE_CHECKING:
    from conduit.memory import MessageStore
    from conduit.prompts import Prompt
    from conduit.storage.events import EventStore
    from conduit.storage.recorder import UsageRecorder
    from conduit.structured import Parser

__all__ = ["Pipeline"]

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


class Pipeline(Generic[T]):
    """Prompt + model (+ parser): `run`, `run_batch` (async) and their `_sync` twins.

    - `prompt`: a `Prompt` or template text (Jinja syntax, sandboxed).
    - `model`: a `ChatModel` or a `"provider/model"` string (`conduit.model`).
    - `parser`: a type or `Parser` to turn answers into objects (`with_structured_output`).
    - `system`: a system prompt sent first.
    - `history`, `conversation_id`: a `MessageStore` and the conversation to read and
      extend (one is created on the first `save` when no id is given).
    - `timeout`: seconds (or a `conduit.Timeout`) each call to the model may take.
    - `ledger`: where each call is recorded (`RecordUsage`): by default the one usage
      ledger; a ledger URL or path, an `EventStore`, a `UsageRecorder`, or False. A
      ledger the pipeline opened is closed by `aclose()`/`close()`.
    - `options`: chat options for every call (`temperature=0`, `max_tokens=…`).

    Example:
        >>> from conduit.providers.fake import MockModel
        >>> Pipeline("Hi {{ name }}", MockModel(["hello"]), timeout=30, ledger=False)
        Pipeline(Prompt(name='inline', variables=['name']), 'fake/mock')
    """

    @overload
    def __init__(
        self: Pipeline[Response],
        prompt: Prompt | str,
        model: ChatModel | str,
        parser: None = None,
        *,
        system: str | None = None,
        history: MessageStore | None = None,
        conversation_id: str | None = None,
        timeout: float | Timeout | None = None,
        ledger: LedgerInput = None,
        **options: Any,
    ) -> None: ...

    @overload
    def __init__(
        self: Pipeline[T],
        prompt: Prompt | str,
        model: ChatModel | str,
        parser: type[T] | Parser[T],
        *,
        system: str | None = None,
        history: MessageStore | None = None,
        conversation_id: str | None = None,
        timeout: float | Timeout | None = None,
        ledger: LedgerInput = None,
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
        timeout: float | Timeout | None = None,
        ledger: LedgerInput = None,
        **options: Any,
    ) -> None:
        self.timeout = Timeout.of(timeout)
        self._ledger = check_ledger(ledger)
        self.prompt = _prompt(prompt)
        self.model = _model(model)
        self.parser = parser
        self.system = system
        self.history = history
        self.conversation_id = conversation_id
        self.options = options
        self._recorder: UsageRecorder | None = None
        self._opened: EventStore | None = None
        self._chain: ChatModel | None = None

    def __repr__(self) -> str:
        return f"Pipeline({self.prompt!r}, {self.model.model_info.ref!r})"

    def _usage_recorder(self) -> UsageRecorder | None:
        """The recorder `ledger=` names (the ledger opened on first use), or None."""
        if self._recorder is None and self._ledger is not False:
            self._recorder, self._opened = usage_recorder(self._ledger)
        return self._recorder

    def _wrapped(self, recorder: UsageRecorder | None) -> ChatModel:
        """The model as each call goes through it: recorded in the ledger, then timed."""
        from conduit.interceptors import RecordUsage, with_interceptors

        chain: list[object] = [] if recorder is None else [RecordUsage(recorder)]
        if self.timeout is not None:
            chain.append(self.timeout)
        return with_interceptors(self.model, chain) if chain else self.model

    def _called_model(self) -> ChatModel:
        if self._chain is None:
            self._chain = self._wrapped(self._usage_recorder())
        return self._chain

    async def aclose(self) -> None:
        """Close the ledger the pipeline opened (the model stays open: it may be shared).

        Example:
            >>> import asyncio
            >>> asyncio.run(Pipeline("{{ q }}", "fake/echo").aclose())
        """
        recorder, opened = self._recorder, self._opened
        self._recorder = self._opened = self._chain = None
        if recorder is not None and opened is not None:
            await recorder.aclose()
            await opened.aclose()

    def close(self) -> None:
        """`aclose` from synchronous code.

        Example:
            >>> Pipeline("{{ q }}", "fake/echo").close()
        """
        run_sync(self.aclose())

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _messages(
        self,
        variables: Variables | None,
        include_history: bool,
        before: Sequence[Message] = (),
    ) -> list[Message]:
        messages: list[Message] = [system(self.system)] if self.system else []
        if include_history:
            if self.history is None:
                raise ValidationError(
                    "include_history=True needs a history store: Pipeline(…, history=store)"
                )
            if self.conversation_id is not None:
                earlier = await self.history.messages(self.conversation_id)
                messages += [m for m in earlier if m.role != "system" or not self.system]
        messages += [m for m in before if m.role != "system" or not messages]
        messages.append(user(self.prompt.render(dict(variables or {}))))
        return messages

    async def _ask(
        self, model: ChatModel, messages: list[Message], options: Mapping[str, Any] | None = None
    ) -> Any:
        chosen = {**self.options, **(options or {})}
        if self.parser is None:
            return await model.chat(messages, **chosen)
        from conduit.structured import with_structured_output

        return await with_structured_output(model, self.parser).run(messages, **chosen)

    async def _save(self, messages: list[Message], answer: Any) -> None:
        assert self.history is not None
        if self.conversation_id is None:
            self.conversation_id = (await self.history.create(messages[-1].text[:60])).id
        reply: Message | Response = answer if isinstance(answer, Response) else _as_message(answer)
        await self.history.append(self.conversation_id, messages[-1], reply)

    async def run(
        self,
        input_variables: Variables | None = None,
        *,
        include_history: bool = False,
        save: bool = False,
        verbosity: Verbosity | bool | int | str | None = None,
        messages: Sequence[Message] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> T:
        """Render, ask, (parse,) and return the answer. `messages` are sent before the
        rendered prompt (after the system prompt and the history); `options` are chat
        options for this call only (over the pipeline's own).

        Example:
            >>> import asyncio
            >>> from conduit.providers.fake import MockModel
            >>> pipe = Pipeline("Hi {{ name }}", MockModel(["hello"]), ledger=False)
            >>> asyncio.run(pipe.run({"name": "Ada"})).text
            'hello'
        """
        if save and self.history is None:
            raise ValidationError("save=True needs a history store: Pipeline(…, history=store)")
        sent = await self._messages(input_variables, include_history, messages or ())
        answer = await self._ask(self._called_model(), sent, options)
        if isinstance(answer, Response):
            show_exchange(verbosity, sent, answer, options={**self.options, **(options or {})})
        if save:
            await self._save(sent, answer)
        result: T = answer
        return result

    def run_sync(
        self,
        input_variables: Variables | None = None,
        *,
        include_history: bool = False,
        save: bool = False,
        verbosity: Verbosity | bool | int | str | None = None,
        messages: Sequence[Message] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> T:
        """`run` from synchronous code.

        Example:
            >>> from conduit.providers.fake import MockModel
            >>> pipe = Pipeline("Hi {{ name }}", MockModel(["hello"]), ledger=False)
            >>> pipe.run_sync({"name": "Ada"}).text
            'hello'
        """
        return run_sync(
            self.run(
                input_variables,
                include_history=include_history,
                save=save,
                verbosity=verbosity,
                messages=messages,
                options=options,
            )
        )

    def _batch(
        self,
        inputs: Sequence[Variables],
        concurrency: int,
        max_retries: int | RetryPolicy,
        verbosity: Verbosity | bool | int | str | None,
        results_file: str | os.PathLike[str] | None,
        resume: bool,
    ) -> BatchRun[Variables, T]:
        from conduit.interceptors import Cost, with_interceptors

        progress = make_progress(verbosity, len(inputs))
        metered = self._called_model()
        if self.parser is not None:
            # Parsed answers carry no usage of their own: count it on the way out.
            metered = with_interceptors(
                metered,
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
            max_retries=max_retries,
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

    async def run_batch(
        self,
        inputs: Sequence[Variables],
        *,
        concurrency: int = 8,
        max_retries: int | RetryPolicy = 2,
        verbosity: Verbosity | bool | int | str | None = Verbosity.SILENT,
        results_file: str | os.PathLike[str] | None = None,
        resume: bool = False,
    ) -> BatchResult[T]:
        """Run every input (at most `concurrency` at once); results in input order, each
        an answer or a `BatchItemError`. Failures whose error says it is `retryable`
        (rate limits, timeouts, server errors) are tried `max_retries` more times (a
        number or a `RetryPolicy`). With `results_file`, each finished item is journaled
        there at once; `resume=True` skips those already answered.

        Example:
            >>> import asyncio
            >>> pipe = Pipeline("{{ word }}", "fake/echo", ledger=False)
            >>> result = asyncio.run(pipe.run_batch([{"word": "a"}, {"word": "b"}]))
            >>> [answer.text for answer in result]
            ['a', 'b']
        """
        return await self._batch(
            inputs, concurrency, max_retries, verbosity, results_file, resume
        ).run()

    def run_batch_sync(
        self,
        inputs: Sequence[Variables],
        *,
        concurrency: int = 8,
        max_retries: int | RetryPolicy = 2,
        verbosity: Verbosity | bool | int | str | None = Verbosity.SILENT,
        results_file: str | os.PathLike[str] | None = None,
        resume: bool = False,
    ) -> BatchResult[T]:
        """`run_batch` from synchronous code; Ctrl-C stops it and returns what finished
        (the rest are `cancelled` errors).

        Example:
            >>> pipe = Pipeline("{{ word }}", "fake/echo", ledger=False)
            >>> pipe.run_batch_sync([{"word": "a"}]).succeeded[0].text
            'a'
        """
        return self._batch(
            inputs, concurrency, max_retries, verbosity, results_file, resume
        ).run_sync()


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
