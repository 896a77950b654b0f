"""`SyncConduit` and `AsyncConduit`: prompt + model + parser, as the framework's users
chain them.

They translate onto the core's own runners: `SyncConduit.run` renders and asks through
a `conduit.batch.Pipeline` over the model's chain (ledger, count, cache), with the
conversation so far from the class's `message_store`; `AsyncConduit.run` runs many
inputs through the batch runner (`conduit.batch.run_batch`), at most the semaphore's
count at once, and returns the answers in input order with a `ConduitError` in place of
each failure. Errors are values here, as in `Model.query`.

Example:
    >>> from conduit import Model, Prompt
    >>> from conduit.providers.fake import FunctionModel
    >>> shout = Model(FunctionModel(lambda messages, info: messages[-1].text.upper()), ledger=False)
    >>> SyncConduit(model=shout, prompt=Prompt("say {{ word }}")).run(input_variables={"word": "hi"}).content
    'SAY HI'
"""  # noqa: E501 - doctest lines

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from conduit.batch import (
    BatchItemError,
    Pipeline,
    Verbosity,
    progress_display,
    run_batch,
    show_exchange,
)
from conduit.core.checks import check_count
from conduit.core.sync import run_sync
from conduit.errors import ConduitError, ValidationError
from conduit.framework.answers import collecting, error_value, framework_response, request_params
from conduit.framework.model import Model, ModelAsync
from conduit.framework.model_async import VerbosityInput
from conduit.schema import Message, Response, normalize_messages, user

if TYPE_CHECKING:
    from conduit.framework.store import MessageStore
    from conduit.prompts import Prompt
    from conduit.structured import Parser

__all__ = ["AsyncConduit", "SyncConduit"]

_MAX_WORKERS = 1024


def _prompt(prompt: Prompt | str | None) -> Prompt | None:
    if prompt is None or not isinstance(prompt, str):
        return prompt
    from conduit.prompts import Prompt

    return Prompt(prompt)


def _label(arguments: dict[str, Any]) -> str:
    owner = arguments.get("self")
    return str(getattr(getattr(owner, "model", None), "ref", "run"))


def _schema(parser: Any) -> Any:
    """A `Parser`'s schema (the pipeline and structured output take either)."""
    from conduit.structured import Parser

    return parser.schema if isinstance(parser, Parser) else parser


class SyncConduit:
    """A prompt, a model and (optionally) a parser, run one input at a time.

    Class attributes, shared by every conduit: `message_store` (a `MessageStore`: the
    conversation so far is sent first, and each exchange is added to it) and `console`
    (a Rich console; models without their own use it).

    Example:
        >>> from conduit.providers.fake import MockModel
        >>> conduit = SyncConduit(model=Model(MockModel(["ok"]), ledger=False))
        >>> conduit.run(messages=[user("Ready?")]).content
        'ok'
    """

    message_store: ClassVar[MessageStore | None] = None
    console: ClassVar[Any] = None

    def __init__(
        self, model: Model, prompt: Prompt | str | None = None, parser: Parser[Any] | Any = None
    ) -> None:
        if not isinstance(model, ModelAsync):
            raise ValidationError(
                f"SyncConduit takes a Model (conduit.Model('provider/name')), not "
                f"{type(model).__name__}"
            )
        self.model = model
        self.prompt = _prompt(prompt)
        self.parser = parser

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model!r}, prompt={self.prompt!r})"

    def _pipeline(self, parser: Any) -> Pipeline[Any]:
        # The model's own chain records and counts each call: the pipeline adds no ledger.
        assert self.prompt is not None
        return Pipeline(self.prompt, self.model._chain_model(), _schema(parser), ledger=False)

    def _before(self, messages: Any, include_history: bool) -> list[Message]:
        store = type(self).message_store
        history = list(store) if include_history and store is not None else []
        given = normalize_messages(messages) if messages else []
        return [*history, *given]

    def _sent(self, before: list[Message], input_variables: dict[str, Any] | None) -> list[Message]:
        """What is sent: the conversation so far, then the rendered prompt."""
        if self.prompt is None:
            if not before:
                raise ValidationError("run needs input_variables (with a prompt) or messages")
            return before
        return [*before, user(self.prompt.render(dict(input_variables or {})))]

    async def _run(
        self,
        input_variables: dict[str, Any] | None,
        before: list[Message],
        sent: list[Message],
        parser: Any,
        verbose: VerbosityInput,
        stream: bool,
        cache: bool,
    ) -> Response:
        options: dict[str, Any] = {} if cache else {"extra": {"cache": False}}
        started = time.perf_counter()
        if stream:
            if parser is not None:
                raise ValidationError("stream=True gives text; drop parser= to stream")
            return await self._stream(sent, options, verbose)
        if self.prompt is None:
            return await self.model._ask(sent, _schema(parser), options)
        with collecting() as calls:
            answer = await self._pipeline(parser).run(
                input_variables, messages=before, options=options, verbosity=Verbosity.SILENT
            )
        if isinstance(answer, Response):
            return framework_response(answer, sent)
        last = calls[-1] if calls else Response()
        took = time.perf_counter() - started
        return framework_response(last, sent, parsed=answer, calls=calls, duration=took)

    async def _stream(
        self, sent: list[Message], options: dict[str, Any], verbose: VerbosityInput
    ) -> Response:
        """Write the answer to the console as it arrives; return it whole."""
        from conduit.schema import Done, TextDelta

        console = self.model.console
        out = getattr(console, "file", None) or sys.stdout
        done: Response | None = None
        async for event in self.model._chain_model().stream(sent, **options):
            if isinstance(event, TextDelta):
                if Verbosity.from_input(verbose) >= Verbosity.PROGRESS:
                    out.write(event.text)
                    out.flush()
            elif isinstance(event, Done):
                done = event.response
        if Verbosity.from_input(verbose) >= Verbosity.PROGRESS:
            out.write("\n")
        if done is None:  # pragma: no cover - every stream ends with Done
            raise ValidationError("the stream ended without an answer")
        return framework_response(done, sent)

    @progress_display(label=_label, plain_lines=False)
    def run(
        self,
        input_variables: dict[str, Any] | None = None,
        messages: Any = None,
        parser: Parser[Any] | Any = None,
        verbose: VerbosityInput = Verbosity.PROGRESS,
        stream: bool = False,
        cache: bool = True,
        index: int = 0,
        total: int = 0,
        include_history: bool = True,
        save: bool = True,
    ) -> Response | ConduitError:
        """Render the prompt with `input_variables`, send it after the conversation so
        far (`message_store`, with `include_history`) and `messages`, and return the
        `Response` (its `content` parsed by `parser`, or by the conduit's) or a
        `ConduitError` value. With `save`, the exchange is added to `message_store`.
        `stream=True` writes the answer as it arrives and returns it whole. `index` and
        `total` number this run in the progress line.

        Example:
            >>> from conduit.providers.fake import MockModel
            >>> conduit = SyncConduit(Model(MockModel(["4"]), ledger=False), "{{ q }}")
            >>> conduit.run({"q": "2+2?"}).messages[0].text
            '2+2?'
        """
        chosen = parser if parser is not None else self.parser
        level = self.model.verbosity if verbose is None else verbose
        sent: list[Message] | None = None
        try:
            before = self._before(messages, include_history)
            sent = self._sent(before, input_variables)
            response = run_sync(
                self._run(input_variables, before, sent, chosen, level, stream, cache)
            )
        except Exception as exc:
            # Nothing of a failed exchange is saved: the store is as it was.
            params = request_params(
                self.model.ref,
                sent,
                {"input_variables": input_variables},
                response_model=_schema(chosen),
            )
            return error_value(exc, params)
        if Verbosity.from_input(level) >= Verbosity.SUMMARY and not stream:
            show_exchange(level, sent, response, stream=getattr(self.model.console, "file", None))
        store = type(self).message_store
        if save and store is not None:
            store.add_response(response)
        return response


class AsyncConduit:
    """A prompt, a model (`ModelAsync`) and (optionally) a parser, run over many inputs
    at once.

    Example:
        >>> from conduit.providers.fake import FunctionModel
        >>> echo = ModelAsync(FunctionModel(lambda m, i: m[-1].text), ledger=False)
        >>> batch = AsyncConduit(model=echo, prompt="say {{ n }}")
        >>> [r.content for r in batch.run(input_variables_list=[{"n": 1}, {"n": 2}])]
        ['say 1', 'say 2']
    """

    def __init__(
        self,
        model: ModelAsync,
        prompt: Prompt | str | None = None,
        parser: Parser[Any] | Any = None,
    ) -> None:
        if not isinstance(model, ModelAsync):
            raise ValidationError(
                f"AsyncConduit takes a ModelAsync (conduit.ModelAsync('provider/name')), not "
                f"{type(model).__name__}"
            )
        self.model = model
        self.prompt = _prompt(prompt)
        self.parser = parser

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model!r}, prompt={self.prompt!r})"

    def _inputs(
        self,
        input_variables_list: Sequence[dict[str, Any]] | None,
        prompt_strings: Sequence[str] | None,
    ) -> list[str]:
        if (input_variables_list is None) == (prompt_strings is None):
            raise ValidationError("give input_variables_list (with a prompt) or prompt_strings")
        if prompt_strings is not None:
            return [str(p) for p in prompt_strings]
        if self.prompt is None:
            raise ValidationError(
                "input_variables_list needs a prompt: AsyncConduit(model, prompt)"
            )
        prompt = self.prompt
        return [prompt.render(dict(v)) for v in input_variables_list or []]

    async def _batch(
        self,
        texts: list[str],
        semaphore: asyncio.Semaphore | int | None,
        cache: bool,
        verbose: VerbosityInput,
        print_response: bool,
    ) -> list[Response | ConduitError]:
        gate = semaphore if isinstance(semaphore, asyncio.Semaphore) else None
        concurrency = 8
        if gate is not None:
            # The caller's semaphore bounds the calls (it may be shared with other work);
            # the runner's workers only need to be at least as many.
            concurrency = min(max(len(texts), 1), _MAX_WORKERS)
        elif semaphore is not None:
            concurrency = check_count(semaphore, "semaphore") or 1
        options: dict[str, Any] = {} if cache else {"extra": {"cache": False}}
        schema = _schema(self.parser)
        model = self.model

        async def one(text: str) -> Response:
            sent = [user(text)]
            if gate is None:
                return await model._ask(sent, schema, options)
            async with gate:
                return await model._ask(sent, schema, options)

        result = await run_batch(one, texts, concurrency=concurrency, verbosity=verbose)
        out: list[Response | ConduitError] = []
        for text, item in zip(texts, result, strict=True):
            if isinstance(item, BatchItemError):
                params = request_params(model.ref, [user(text)], {}, response_model=schema)
                cause = item.cause
                value = error_value(cause, params) if cause is not None else item
                out.append(value)
            else:
                out.append(item)
                if print_response:
                    console = model.console
                    target = getattr(console, "file", None) or sys.stdout
                    target.write(str(item.content) + "\n")
        return out

    def run(
        self,
        input_variables_list: Sequence[dict[str, Any]] | None = None,
        prompt_strings: Sequence[str] | None = None,
        semaphore: asyncio.Semaphore | int | None = None,
        cache: bool = True,
        verbose: VerbosityInput = Verbosity.PROGRESS,
        print_response: bool = False,
    ) -> list[Response | ConduitError]:
        """Render the prompt for each of `input_variables_list` (or send each of
        `prompt_strings`), ask at most `semaphore` at once (an `asyncio.Semaphore`, or a
        number; default 8), and return the answers in input order, a `ConduitError` in
        place of each failure. `print_response` writes each answer as the run ends.

        Example:
            >>> from conduit.providers.fake import FunctionModel
            >>> echo = ModelAsync(FunctionModel(lambda m, i: m[-1].text), ledger=False)
            >>> [r.content for r in AsyncConduit(echo).run(prompt_strings=["a", "b"])]
            ['a', 'b']
        """
        return run_sync(
            self.run_async(
                input_variables_list, prompt_strings, semaphore, cache, verbose, print_response
            )
        )

    async def run_async(
        self,
        input_variables_list: Sequence[dict[str, Any]] | None = None,
        prompt_strings: Sequence[str] | None = None,
        semaphore: asyncio.Semaphore | int | None = None,
        cache: bool = True,
        verbose: VerbosityInput = Verbosity.PROGRESS,
        print_response: bool = False,
    ) -> list[Response | ConduitError]:
        """`run` from async code (with a semaphore made on the caller's event loop).

        Example:
            >>> from conduit.providers.fake import FunctionModel
            >>> echo = ModelAsync(FunctionModel(lambda m, i: m[-1].text), ledger=False)
            >>> async def main():
            ...     return await AsyncConduit(echo).run_async(prompt_strings=["x"],
            ...                                               semaphore=asyncio.Semaphore(2))
            >>> asyncio.run(main())[0].content
            'x'
        """
        texts = self._inputs(input_variables_list, prompt_strings)
        return await self._batch(texts, semaphore, cache, verbose, print_response)
