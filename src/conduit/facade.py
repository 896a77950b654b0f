"""`Model` and `ModelAsync`: one object per model with `query()` for the common case.

A thin layer over the core: `query` is `chat`/`stream` plus, when asked, structured
output (`response_model=`), a response cache (`cache=True`, on by default), the usage
ledger and the session odometer. Input may be a string, a message or a list of messages.

Every query is recorded in the one usage ledger by default (the `RecordUsage`
interceptor over `conduit.storage.ledger.open_ledger()`, outermost, with the cache inside
it, so a cache hit is recorded at cost 0), which is what `conduit usage` shows;
`ledger=False` turns that off. The session odometer (bounded: the latest 10,000 events)
answers `stats()`.

Names follow the framework's documented API: `query` (sync, on `Model`) and
`query_async`; otherwise plain names are async and `_sync` is the twin
(`ModelAsync.stream`, `Model.stream_sync`).

Example:
    >>> from conduit.providers.fake import FunctionModel
    >>> model = Model(FunctionModel(lambda messages, info: "4"))
    >>> model.query("What is 2+2?").text
    '4'
    >>> model.stats().total().events
    1
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, Self, TypeVar, overload

from conduit.batch.panels import show_exchange
from conduit.batch.verbosity import Verbosity
from conduit.core.protocols import ChatModel
from conduit.core.sync import iterate_sync, run_sync
from conduit.odometer.ledger import LedgerInput, check_ledger, usage_recorder
from conduit.schema import MessagesInput, Response, StreamEvent
from conduit.storage.events import EventStore
from conduit.storage.recorder import UsageRecorder

if TYPE_CHECKING:
    from conduit.interceptors.cache import Cache
    from conduit.interceptors.chain import Context
    from conduit.odometer import Odometer, UsageReport

__all__ = ["Model", "ModelAsync", "session_odometer"]

T = TypeVar("T")
VerbosityInput = Verbosity | bool | int | str | None

_session: Odometer | None = None


def session_odometer() -> Odometer:
    """The process's odometer: every `Model` counts its answers here by default. It is
    bounded (the latest 10,000 events; `total()` stays exact).

    Example:
        >>> session_odometer() is session_odometer(), session_odometer().max_events
        (True, 10000)
    """
    global _session
    if _session is None:
        from conduit.odometer import Odometer

        _session = Odometer()
    return _session


class ModelAsync:
    """A model by name (`"openai/gpt-4o-mini"`, `"local/default"`) or any `ChatModel`,
    with `query_async()`.

    - `cache`: a `conduit.interceptors.Cache` shared by this object's queries (default: an
      in-memory one); `query(..., cache=False)` bypasses it.
    - `ledger`: where every query is recorded (`RecordUsage`): by default the one usage
      ledger that `conduit usage` reads; a ledger URL or path, an `EventStore` or a
      `UsageRecorder`; False records nothing. A ledger this object opened is closed by
      `aclose()`/`close()` (a PostgreSQL ledger stays with the event loop that first
      wrote to it: use either `query` or `query_async` on one object).
    - `odometer`: where answers are counted for `stats()` (default: the process's
      bounded session odometer).
    - `verbosity`: the default for `query`'s `verbose=`.

    Example:
        >>> import asyncio
        >>> from conduit.providers.fake import MockModel
        >>> asyncio.run(ModelAsync(MockModel(["hi"])).query_async("hello")).text
        'hi'
    """

    def __init__(
        self,
        model: str | ChatModel = "local/default",
        *,
        cache: Cache | None = None,
        odometer: Odometer | None = None,
        ledger: LedgerInput = None,
        verbosity: VerbosityInput = None,
    ) -> None:
        self._ledger = check_ledger(ledger)
        self._model: ChatModel | None = None
        if isinstance(model, str):
            from conduit.api import resolve_ref

            self._ref = resolve_ref(model)
        else:
            self._model, self._ref = model, model.model_info.ref
        self._cache = cache
        self.odometer = odometer if odometer is not None else session_odometer()
        self.verbosity = verbosity
        self._recorder: UsageRecorder | None = None
        self._owned_store: EventStore | None = None
        self._chain: ChatModel | None = None

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

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.ref!r})"

    def _chain_model(self) -> ChatModel:
        """The model every query goes through: the ledger outermost, then the session
        count, then the cache (so a cache hit is recorded, at cost 0)."""
        if self._chain is None:
            from conduit.interceptors import Cache, RecordUsage, with_interceptors

            if self._cache is None:
                self._cache = Cache()
            if self._recorder is None:
                self._recorder, self._owned_store = usage_recorder(self._ledger)
            recorder = self._recorder
            chain: list[object] = [] if recorder is None else [RecordUsage(recorder)]
            self._chain = with_interceptors(self.model, [*chain, _Count(self), self._cache])
        return self._chain

    def _options(
        self, temperature: float | None, max_tokens: int | None, cache: bool, extra: dict[str, Any]
    ) -> dict[str, Any]:
        options = dict(extra)
        if temperature is not None:
            options["temperature"] = temperature
        if max_tokens is not None:
            options["max_tokens"] = max_tokens
        if not cache:
            options["extra"] = {**options.get("extra", {}), "cache": False}
        return options

    @overload
    async def query_async(
        self,
        input: MessagesInput,
        response_model: None = None,
        *,
        cache: bool = True,
        temperature: float | None = None,
        stream: bool = False,
        max_tokens: int | None = None,
        verbose: VerbosityInput = None,
        **options: Any,
    ) -> Response: ...

    @overload
    async def query_async(
        self,
        input: MessagesInput,
        response_model: type[T],
        *,
        cache: bool = True,
        temperature: float | None = None,
        stream: bool = False,
        max_tokens: int | None = None,
        verbose: VerbosityInput = None,
        **options: Any,
    ) -> T: ...

    async def query_async(
        self,
        input: MessagesInput,
        response_model: Any = None,
        *,
        cache: bool = True,
        temperature: float | None = None,
        stream: bool = False,
        max_tokens: int | None = None,
        verbose: VerbosityInput = None,
        **options: Any,
    ) -> Any:
        """Ask once. Returns a `Response`; with `response_model`, the parsed object; with
        `stream=True`, an async iterator of stream events (use `stream` for a typed one).
        Each call to the model is recorded in the ledger and counted in the odometer.

        Example:
            >>> import asyncio
            >>> from conduit.providers.fake import MockModel
            >>> model = ModelAsync(MockModel(["4"]), ledger=False)
            >>> asyncio.run(model.query_async("What is 2+2?")).text
            '4'
        """
        if stream:
            return self.stream(
                input, cache=cache, temperature=temperature, max_tokens=max_tokens, **options
            )
        chat_model = self._chain_model()
        opts = self._options(temperature, max_tokens, cache, options)
        if response_model is not None:
            from conduit.structured import with_structured_output

            return await with_structured_output(chat_model, response_model).run(input, **opts)
        response = await chat_model.chat(input, **opts)
        level = self.verbosity if verbose is None else verbose
        if Verbosity.from_input(level) >= Verbosity.SUMMARY:
            from conduit.schema import normalize_messages

            show_exchange(level, normalize_messages(input), response, options=opts)
        return response

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
        delivered).

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

    def _record(self, response: Response) -> None:
        """Count an answer under this object's `provider/name` (a provider may answer
        with a dated snapshot name; stats group by the name you asked for)."""
        from conduit.storage.events import event_from_response

        provider, name = self._ref.split("/", 1)
        self.odometer.record(event_from_response(response, provider=provider, model=name))

    @staticmethod
    def models(provider: str | None = None, kind: str | None = None) -> list[str]:
        """`provider/name` of the catalog's models (optionally one provider's or kind's).

        Example:
            >>> Model.models("local")
            ['local/all-minilm-l6-v2', 'local/smollm2-135m-instruct']
        """
        from conduit.catalog import models

        return [entry.ref for entry in models(provider, kind)]

    @staticmethod
    def validate_model(name: str) -> bool:
        """True when `name` is a model Conduit can call: a known provider and a name its
        catalog does not rule out, or a bare catalog name (`conduit.api.validate_model`;
        raises nothing).

        Example:
            >>> Model.validate_model("openai/gpt-4o"), Model.validate_model("openai/gpt-0")
            (True, False)
            >>> Model.validate_model("gpt-4o-mini"), Model.validate_model("nobody/nothing")
            (True, False)
        """
        from conduit.api import validate_model
        from conduit.errors import ConduitError

        try:
            validate_model(name)
        except ConduitError:
            return False
        return True

    def stats(self, *, by: tuple[str, ...] = ("provider", "model")) -> UsageReport:
        """This model's usage in this process (tokens, cost, calls), from the odometer.

        `print(model.stats())` shows it as a table.
        """
        from conduit.odometer import EventFilter, stats_sync

        provider, name = self._ref.split("/", 1)
        return stats_sync(self.odometer, by=by, filters=EventFilter(provider=provider, model=name))

    def tokenize(self, text: str) -> list[int]:
        """The token ids of `text` (OpenAI and local models; see `catalog.tokenize`).

        Example:
            >>> Model("openai/gpt-4o").tokenize("hello world")
            [24912, 2375]
        """
        from conduit.api import tokenize

        return tokenize(self._model if self._model is not None else self._ref, text)

    @classmethod
    def from_server(
        cls,
        model: str,
        *,
        url: str,
        api_key: str | None = None,
        ledger: LedgerInput = None,
        **settings: Any,
    ) -> Self:
        """A model served by a Conduit gateway (or any OpenAI-compatible server): `model`
        is the gateway's model name, `url` its root (`/v1` is added when missing),
        `api_key` a virtual key (default `$CONDUIT_API_KEY`). Streaming included.
        `ledger` and `settings` (`cache`, `odometer`, `verbosity`) as for the
        constructor; a gateway records its own usage, so a client sharing its ledger
        may pass `ledger=False` to not count a call twice.

        Example:
            >>> Model.from_server("local", url="http://127.0.0.1:4000", api_key="sk-cnd-x").ref
            'openai/local'
        """
        from conduit.providers.gateway import from_server

        return cls(from_server(model, url=url, api_key=api_key), ledger=ledger, **settings)


class Model(ModelAsync):
    """`ModelAsync` with synchronous `query()` and `stream_sync()` (and `close()`).

    Example:
        >>> from conduit.providers.fake import MockModel
        >>> Model(MockModel(["fine"])).query("How are you?").text
        'fine'
    """

    @overload
    def query(
        self,
        input: MessagesInput,
        response_model: None = None,
        *,
        cache: bool = True,
        temperature: float | None = None,
        stream: bool = False,
        max_tokens: int | None = None,
        verbose: VerbosityInput = None,
        **options: Any,
    ) -> Response: ...

    @overload
    def query(
        self,
        input: MessagesInput,
        response_model: type[T],
        *,
        cache: bool = True,
        temperature: float | None = None,
        stream: bool = False,
        max_tokens: int | None = None,
        verbose: VerbosityInput = None,
        **options: Any,
    ) -> T: ...

    def query(
        self,
        input: MessagesInput,
        response_model: Any = None,
        *,
        cache: bool = True,
        temperature: float | None = None,
        stream: bool = False,
        max_tokens: int | None = None,
        verbose: VerbosityInput = None,
        **options: Any,
    ) -> Any:
        """`query_async` from synchronous code; `stream=True` gives a plain iterator.

        Example:
            >>> from conduit.providers.fake import MockModel
            >>> Model(MockModel(["4"]), ledger=False).query("What is 2+2?").text
            '4'
        """
        if stream:
            return self.stream_sync(
                input, cache=cache, temperature=temperature, max_tokens=max_tokens, **options
            )
        return run_sync(
            self.query_async(
                input,
                response_model,
                cache=cache,
                temperature=temperature,
                max_tokens=max_tokens,
                verbose=verbose,
                **options,
            )
        )

    def close(self) -> None:
        """`aclose` from synchronous code.

        Example:
            >>> Model("fake/echo").close()
        """
        run_sync(self.aclose())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stream_sync(
        self,
        input: MessagesInput,
        *,
        cache: bool = True,
        temperature: float | None = None,
        max_tokens: int | None = None,
        **options: Any,
    ) -> Iterator[StreamEvent]:
        """`stream` from synchronous code: a plain iterator of stream events.

        Example:
            >>> from conduit.providers.fake import MockModel
            >>> model = Model(MockModel(["one two"]), ledger=False)
            >>> [event.type for event in model.stream_sync("hi")][-1]
            'done'
        """
        return iterate_sync(
            self.stream(
                input, cache=cache, temperature=temperature, max_tokens=max_tokens, **options
            )
        )


class _Count:
    """Counts each answer in the owner's odometer (a structured-output run's retries and
    cache hits included)."""

    __slots__ = ("owner",)

    def __init__(self, owner: ModelAsync) -> None:
        self.owner = owner

    def leave(self, ctx: Context) -> None:
        if ctx.response is not None:
            self.owner._record(ctx.response)
