"""`ModelAsync` (and what `Model` shares with it): one object per model with
`query_async()`, as the framework's users call it; `Model` (in `conduit.framework.model`)
adds the synchronous `query()`.

A thin layer over the core: `query` is `chat` (or, with `response_model=`, structured
output; with `output_type="image"`/`"audio"`, media generation) through the model's chain
of interceptors: `RecordUsage` outermost (every call in the one usage ledger, what
`conduit usage` shows; `ledger=False` turns it off), then the odometer count, then the
response cache (on by default for `query`, off for `query_async`, as the framework has
it). Errors are values at this edge: `query` returns a `ConduitError` (with its
`info` and `detail`: stack trace, the request's parameters with keys redacted) instead of
raising.

Every answer is counted in `Model._odometer_registry` (an `OdometerRegistry`: the
session's odometer, bounded); `Model.stats()` on the class shows the session's usage,
`model.stats()` this model's.

Example:
    >>> import asyncio
    >>> from conduit.providers.fake import FunctionModel
    >>> model = ModelAsync(FunctionModel(lambda messages, info: "4"), ledger=False)
    >>> response = asyncio.run(model.query_async("What is 2+2?"))
    >>> response.content, response.prompt
    ('4', 'What is 2+2?')
    >>> asyncio.run(model.query_async("hi", temperature=-1)).info.category
    'fix_input'
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self, overload

from conduit.batch import Verbosity, progress_display, show_exchange
from conduit.core.protocols import ChatModel
from conduit.errors import ConduitError, ValidationError
from conduit.framework.answers import (
    Answers,
    collecting,
    error_value,
    framework_response,
    request_params,
)
from conduit.framework.env import load_env_once
from conduit.odometer import Odometer, OdometerRegistry, UsageReport
from conduit.odometer.ledger import LedgerInput, check_ledger, usage_recorder
from conduit.schema import Message, MessagesInput, Response, StreamEvent, normalize_messages
from conduit.storage.events import EventStore
from conduit.storage.recorder import UsageRecorder

if TYPE_CHECKING:
    from conduit.framework.request import Request
    from conduit.interceptors.cache import Cache

__all__ = ["ModelAsync", "OutputKind", "VerbosityInput", "label_of", "session_odometer"]

VerbosityInput = Verbosity | bool | int | str | None
OutputKind = Literal["text", "image", "audio"]


def session_odometer() -> Odometer:
    """The process's odometer (`Model._odometer_registry.session_odometer`): every
    `Model` counts its answers there by default. Bounded: the latest 10,000 events
    (`total()` stays exact).

    Example:
        >>> session_odometer() is ModelAsync._odometer_registry.session_odometer
        True
    """
    return ModelAsync._odometer_registry.session_odometer


def label_of(arguments: dict[str, Any]) -> str:
    """The progress line's name for a query: the model's `provider/name`."""
    owner = arguments.get("self")
    return str(getattr(owner, "ref", "query"))


class _Stats:
    """`Model.stats()` on the class: the session's usage, shown; `model.stats()` on an
    object: this model's usage, returned."""

    def __get__(
        self, obj: ModelAsync | None, owner: type[ModelAsync]
    ) -> Callable[..., UsageReport]:
        if obj is None:
            return functools.partial(_session_stats, owner)
        return functools.partial(_model_stats, obj)


def _session_stats(
    owner: type[ModelAsync], *, by: tuple[str, ...] = ("provider", "model"), display: bool = True
) -> UsageReport:
    report = owner._odometer_registry.session_odometer.report(by)
    if display:
        _print(owner.default_console(), str(report))
    return report


def _model_stats(
    model: ModelAsync, *, by: tuple[str, ...] = ("provider", "model"), display: bool = False
) -> UsageReport:
    from conduit.odometer import EventFilter, stats_sync

    provider, name = model.ref.split("/", 1)
    report = stats_sync(model.odometer, by=by, filters=EventFilter(provider=provider, model=name))
    if display:
        _print(model.console, str(report))
    return report


def _print(console: Any, text: str) -> None:
    if console is not None and hasattr(console, "print"):
        console.print(text)
    else:
        sys.stdout.write(text + "\n")


class ModelAsync:
    """A model by name (`"openai/gpt-4o-mini"`, a bare catalog name, `"local/default"`) or
    any `ChatModel`, with `query_async()`.

    - `console`: a Rich console for this model's output (see the `console` property).
    - `cache`: a `conduit.interceptors.Cache` shared by this object's queries (default: an
      in-memory one); `cache=False` on a query bypasses it.
    - `ledger`: where every call is recorded (`RecordUsage`): by default the one usage
      ledger that `conduit usage` reads; a ledger URL or path, an `EventStore` or a
      `UsageRecorder`; False records nothing. A ledger this object opened is closed by
      `aclose()`/`close()` (a PostgreSQL ledger stays with the event loop that first
      wrote to it: use either `query` or `query_async` on one object).
    - `odometer`: where answers are counted (default: the registry's session odometer).
    - `verbosity`: the default for a query's `verbose=` when it passes None.

    A `.env` file (the nearest in the current folder or above) is read once per
    process when the first model is made: variables already set are kept.

    Example:
        >>> import asyncio
        >>> from conduit.providers.fake import MockModel
        >>> asyncio.run(ModelAsync(MockModel(["hi"]), ledger=False).query_async("hello")).content
        'hi'
    """

    _console: ClassVar[Any] = None
    """A console for every model that has none of its own (`Model._console = Console()`)."""
    _odometer_registry: ClassVar[OdometerRegistry] = OdometerRegistry()
    """The framework's odometers: every model's answers are counted here."""

    stats = _Stats()

    def __init__(
        self,
        model: str | ChatModel = "local/default",
        console: Any = None,
        *,
        cache: Cache | None = None,
        odometer: Odometer | None = None,
        ledger: LedgerInput = None,
        verbosity: VerbosityInput = None,
    ) -> None:
        load_env_once()
        self._ledger = check_ledger(ledger)
        self._model: ChatModel | None = None
        if isinstance(model, str):
            from conduit.api import resolve_ref

            self._ref = resolve_ref(model)
        else:
            self._model, self._ref = model, model.model_info.ref
        self._own_console = console
        self._cache = cache
        self._odometer = odometer
        self.verbosity = verbosity
        self._recorder: UsageRecorder | None = None
        self._owned_store: EventStore | None = None
        self._chain: ChatModel | None = None

    # -- what it is ------------------------------------------------------------------

    @property
    def model(self) -> ChatModel:
        """The `ChatModel` queried (built on first use, so a missing key shows up then)."""
        if self._model is None:
            from conduit.api import model as build

            self._model = build(self._ref)
        return self._model

    @property
    def ref(self) -> str:
        """`provider/name` of the model."""
        return self._ref

    @property
    def odometer(self) -> Odometer:
        """Where this model's answers are counted (by default the session odometer)."""
        if self._odometer is not None:
            return self._odometer
        return self._odometer_registry.session_odometer

    @classmethod
    def default_console(cls) -> Any:
        """The console of models without their own: `Model._console`, else
        `SyncConduit.console`, else None (plain output)."""
        if cls._console is not None:
            return cls._console
        from conduit.framework.conduits import SyncConduit

        return SyncConduit.console

    @property
    def console(self) -> Any:
        """The effective Rich console: this model's, else the class's (`Model._console`),
        else the conduits' (`SyncConduit.console`), else None.

        Example:
            >>> ModelAsync("fake/echo", ledger=False).console is None
            True
        """
        if self._own_console is not None:
            return self._own_console
        return self.default_console()

    @console.setter
    def console(self, value: Any) -> None:
        self._own_console = value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.ref!r})"

    # -- the chain -------------------------------------------------------------------

    def _chain_model(self) -> ChatModel:
        """The model every query goes through: the ledger outermost, then the count,
        then the cache (so a cache hit is recorded, at cost 0)."""
        if self._chain is None:
            from conduit.interceptors import Cache, RecordUsage, with_interceptors

            if self._cache is None:
                self._cache = Cache()
            if self._recorder is None:
                self._recorder, self._owned_store = usage_recorder(self._ledger)
            recorder = self._recorder
            chain: list[object] = [] if recorder is None else [RecordUsage(recorder)]
            self._chain = with_interceptors(self.model, [*chain, Answers(self._count), self._cache])
        return self._chain

    def _count(self, response: Response) -> None:
        """Count an answer under this object's `provider/name` (a provider may answer
        with a dated snapshot name; stats group by the name asked for)."""
        from conduit.storage.events import event_from_response

        provider, name = self._ref.split("/", 1)
        event = event_from_response(response, provider=provider, model=name)
        if self._odometer is not None:
            self._odometer.record(event)
        else:
            self._odometer_registry.count(event)

    @staticmethod
    def _options(
        temperature: float | None, max_tokens: int | None, cache: bool, extra: dict[str, Any]
    ) -> dict[str, Any]:
        options = dict(extra)
        if temperature is not None:
            options["temperature"] = temperature
        if max_tokens is not None:
            options["max_tokens"] = max_tokens
        if not cache:
            options["extra"] = {**options.get("extra", {}), "cache": False}
        return options

    # -- asking ----------------------------------------------------------------------

    async def _ask(
        self, messages: list[Message], response_model: Any, options: dict[str, Any]
    ) -> Response:
        """One answer, raising on failure."""
        started = time.perf_counter()
        chat_model = self._chain_model()
        with collecting() as calls:
            if response_model is not None:
                from conduit.structured import with_structured_output

                parsed = await with_structured_output(chat_model, response_model).run(
                    messages, **options
                )
                last = calls[-1] if calls else Response()
                return framework_response(
                    last,
                    messages,
                    parsed=parsed,
                    calls=calls,
                    duration=time.perf_counter() - started,
                )
            response = await chat_model.chat(messages, **options)
        return framework_response(response, messages)

    async def _media(
        self,
        messages: list[Message],
        output_type: Literal["image", "audio"],
        options: dict[str, Any],
    ) -> Response:
        """An image or speech for the last user message (`conduit.media`)."""
        from conduit.media import generate_media
        from conduit.schema import Usage

        prompt = next((m.text for m in reversed(messages) if m.role == "user"), "")
        if not prompt:
            raise ValidationError(f"output_type={output_type!r} needs a text prompt")
        started = time.perf_counter()
        extra = {
            k: v for k, v in options.items() if k not in ("extra", "temperature", "max_tokens")
        }
        media = await generate_media(self.ref, prompt, output_type=output_type, **extra)
        return Response(
            model=media.model,
            provider=media.provider,
            content=[media.to_block()],
            usage=media.usage or Usage(),
            duration=media.duration or time.perf_counter() - started,
            request_messages=messages,
        )

    async def _query(
        self,
        query_input: MessagesInput | None,
        response_model: Any,
        cache: bool,
        temperature: float | None,
        verbose: VerbosityInput,
        max_tokens: int | None,
        output_type: str,
        request: Request | None,
        options: dict[str, Any],
    ) -> Response | ConduitError:
        messages: list[Message] | None = None
        opts: dict[str, Any] = {}
        try:
            if request is not None:
                query_input = request.messages
                response_model = response_model or request.response_model
                temperature = temperature if temperature is not None else request.temperature
                max_tokens = max_tokens if max_tokens is not None else request.max_tokens
                output_type = request.output_type
                options = {**(request.client_params or {}), **options}
            if query_input is None:
                raise ValidationError("query needs query_input (a string or messages) or request=")
            messages = normalize_messages(query_input)
            opts = self._options(temperature, max_tokens, cache, options)
            level = Verbosity.from_input(self.verbosity if verbose is None else verbose)
            if output_type == "text":
                response = await self._ask(messages, response_model, opts)
            elif output_type in ("image", "audio"):
                response = await self._media(messages, output_type, opts)  # type: ignore[arg-type]
            else:
                raise ValidationError(
                    f"output_type must be 'text', 'image' or 'audio', not {output_type!r}"
                )
        except Exception as exc:
            # The request's parameters, built only for an error (keys redacted).
            shown = {k: v for k, v in opts.items() if k != "extra"}
            extra = {k: v for k, v in opts.get("extra", {}).items() if k != "cache"}
            if extra:
                shown["extra"] = extra
            params = request_params(self.ref, messages, shown, response_model=response_model)
            return error_value(exc, params)
        if level >= Verbosity.SUMMARY:
            console = self.console
            show_exchange(
                level, messages, response, options=opts, stream=getattr(console, "file", None)
            )
        return response

    @overload
    async def query_async(
        self,
        query_input: MessagesInput | None = None,
        verbose: VerbosityInput = Verbosity.PROGRESS,
        response_model: Any = None,
        cache: bool = False,
        *,
        temperature: float | None = None,
        stream: Literal[False] = False,
        max_tokens: int | None = None,
        output_type: OutputKind = "text",
        index: int = 0,
        total: int = 0,
        request: Request | None = None,
        **options: Any,
    ) -> Response | ConduitError: ...

    @overload
    async def query_async(
        self,
        query_input: MessagesInput | None = None,
        verbose: VerbosityInput = Verbosity.PROGRESS,
        response_model: Any = None,
        cache: bool = False,
        *,
        temperature: float | None = None,
        stream: Literal[True],
        max_tokens: int | None = None,
        output_type: OutputKind = "text",
        index: int = 0,
        total: int = 0,
        request: Request | None = None,
        **options: Any,
    ) -> AsyncIterator[StreamEvent]: ...

    @progress_display(label=label_of, plain_lines=False)
    async def query_async(
        self,
        query_input: MessagesInput | None = None,
        verbose: VerbosityInput = Verbosity.PROGRESS,
        response_model: Any = None,
        cache: bool = False,
        *,
        temperature: float | None = None,
        stream: bool = False,
        max_tokens: int | None = None,
        output_type: OutputKind = "text",
        index: int = 0,
        total: int = 0,
        request: Request | None = None,
        **options: Any,
    ) -> Response | ConduitError | AsyncIterator[StreamEvent]:
        """Ask once: a `Response` (its `content` the text, or with `response_model` the
        parsed object), or a `ConduitError` value when it failed. `stream=True` gives an
        async iterator of stream events instead (errors raise there). `cache` defaults
        to False here (True for `Model.query`), as the framework has it.

        Example:
            >>> import asyncio
            >>> from conduit.providers.fake import MockModel
            >>> model = ModelAsync(MockModel(["4"]), ledger=False)
            >>> asyncio.run(model.query_async("What is 2+2?")).content
            '4'
        """
        if stream:
            return self.stream(
                query_input if query_input is not None else "",
                cache=cache,
                temperature=temperature,
                max_tokens=max_tokens,
                **options,
            )
        return await self._query(
            query_input,
            response_model,
            cache,
            temperature,
            verbose,
            max_tokens,
            output_type,
            request,
            options,
        )

    async def stream(
        self,
        input: MessagesInput,
        *,
        cache: bool = True,
        temperature: float | None = None,
        max_tokens: int | None = None,
        **options: Any,
    ) -> AsyncIterator[StreamEvent]:
        """The answer as stream events (`TextDelta`…, then `Done`); it is recorded and
        counted once the stream ends (a stream closed early is recorded with what it
        delivered). Errors raise here.

        Example:
            >>> import asyncio
            >>> from conduit.providers.fake import MockModel
            >>> async def main():
            ...     model = ModelAsync(MockModel(["one two"]), ledger=False)
            ...     return [event.type async for event in model.stream("hi")]
            >>> asyncio.run(main())[-1]
            'done'
        """
        opts = self._options(temperature, max_tokens, cache, options)
        async for event in self._chain_model().stream(input, **opts):
            yield event

    # -- closing ---------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the model's connections (when it was built) and the ledger this object
        opened (written up to the last query).

        Example:
            >>> import asyncio
            >>> asyncio.run(ModelAsync("fake/echo").aclose())
        """
        close = getattr(self._model, "aclose", None)
        if close is not None:
            await close()
        recorder, store = self._recorder, self._owned_store
        if store is not None and recorder is not None:
            self._recorder = self._owned_store = None
            self._chain = None
            await recorder.aclose()
            await store.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- the class's helpers ---------------------------------------------------------

    @staticmethod
    def models(provider: str | None = None, kind: str | None = None) -> dict[str, list[str]]:
        """The catalog's models by provider: `{provider: [name, ...]}` (optionally one
        provider's, or one kind's: `chat`, `embedding`, `image`, `speech`).

        Example:
            >>> ModelAsync.models("local")
            {'local': ['all-minilm-l6-v2', 'smollm2-135m-instruct']}
        """
        from conduit.catalog import models

        found: dict[str, list[str]] = {}
        for entry in models(provider, kind):
            found.setdefault(entry.provider, []).append(entry.name)
        return found

    @staticmethod
    def validate_model(model: str) -> bool:
        """True when `model` is a model Conduit can call: a known provider and a name its
        catalog does not rule out, or a bare catalog name (raises nothing).

        Example:
            >>> check = ModelAsync.validate_model
            >>> check("openai/gpt-4o"), check("openai/gpt-0")
            (True, False)
            >>> check("gpt-4o-mini"), check("nobody/nothing")
            (True, False)
        """
        from conduit.api import validate_model

        try:
            validate_model(model)
        except ConduitError:
            return False
        return True

    def tokenize(self, text: str) -> int:
        """How many tokens `text` is for this model: exact for OpenAI and local models,
        an estimate otherwise (`conduit.count_tokens`).

        Example:
            >>> ModelAsync("openai/gpt-4o", ledger=False).tokenize("hello world")
            2
        """
        from conduit.api import count_tokens

        return count_tokens(self._model if self._model is not None else self._ref, text)

    @classmethod
    def from_server(
        cls,
        model: str,
        *,
        url: str | None = None,
        api_key: str | None = None,
        ledger: LedgerInput = None,
        **settings: Any,
    ) -> Self:
        """A model served by a Conduit gateway (or any OpenAI-compatible server): `model`
        is the gateway's model name, `url` its root (default `$CONDUIT_SERVER_URL`, else
        `http://127.0.0.1:4000`; `/v1` is added when missing), `api_key` a virtual key
        (default `$CONDUIT_API_KEY`). `ledger` and `settings` (`console`, `cache`,
        `odometer`, `verbosity`) as for the constructor; a gateway records its own
        usage, so a client sharing its ledger may pass `ledger=False`.

        Example:
            >>> ModelAsync.from_server("local", url="http://127.0.0.1:4000", api_key="sk-cnd-x").ref
            'openai/local'
        """
        import os

        from conduit.providers.gateway import from_server

        root = url or os.environ.get("CONDUIT_SERVER_URL") or "http://127.0.0.1:4000"
        return cls(from_server(model, url=root, api_key=api_key), ledger=ledger, **settings)
