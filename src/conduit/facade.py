"""`Model` and `ModelAsync`: one object per model with `query()` for the common case.

A thin layer over the core: `query` is `chat`/`stream` plus, when asked, structured
output (`response_model=`), a response cache (`cache=True`, on by default) and the
session odometer. Input may be a string, a message or a list of messages.

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
from conduit.schema import MessagesInput, Response, StreamEvent

if TYPE_CHECKING:
    from conduit.interceptors.cache import Cache
    from conduit.odometer import Odometer, UsageReport

__all__ = ["Model", "ModelAsync", "session_odometer"]

T = TypeVar("T")
VerbosityInput = Verbosity | bool | int | str | None

_session: Odometer | None = None


def session_odometer() -> Odometer:
    """The process's odometer: every `Model` records its answers here by default."""
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
    - `odometer`: where answers are counted (default: the process's session odometer).
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
        verbosity: VerbosityInput = None,
    ) -> None:
        self._model: ChatModel | None = None
        if isinstance(model, str):
            from conduit.api import resolve_ref

            self._ref = resolve_ref(model)
        else:
            self._model, self._ref = model, model.model_info.ref
        self._cache = cache
        self.odometer = odometer if odometer is not None else session_odometer()
        self.verbosity = verbosity
        self._cached_model: ChatModel | None = None

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

    def _with_cache(self) -> ChatModel:
        if self._cached_model is None:
            from conduit.interceptors import Cache, with_interceptors

            if self._cache is None:
                self._cache = Cache()
            self._cached_model = with_interceptors(self.model, [self._cache])
        return self._cached_model

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
        `stream=True`, an async iterator of stream events (use `stream_async` for a typed
        one).
        """
        if stream:
            return self.stream_async(
                input, cache=cache, temperature=temperature, max_tokens=max_tokens, **options
            )
        chat_model = self._with_cache()
        opts = self._options(temperature, max_tokens, cache, options)
        if response_model is not None:
            from conduit.interceptors import with_interceptors
            from conduit.structured import with_structured_output

            counted = with_interceptors(chat_model, [_Count(self)])
            return await with_structured_output(counted, response_model).run(input, **opts)
        response = await chat_model.chat(input, **opts)
        self._record(response)
        level = self.verbosity if verbose is None else verbose
        if Verbosity.from_input(level) >= Verbosity.SUMMARY:
            from conduit.schema import normalize_messages

            show_exchange(level, normalize_messages(input), response, options=opts)
        return response

    async def stream_async(
        self,
        input: MessagesInput,
        *,
        cache: bool = True,
        temperature: float | None = None,
        max_tokens: int | None = None,
        **options: Any,
    ) -> AsyncIterator[StreamEvent]:
        """The answer as stream events; it is counted once the stream ends."""
        from conduit.schema import Done

        opts = self._options(temperature, max_tokens, cache, options)
        async for event in self._with_cache().stream(input, **opts):
            if isinstance(event, Done):
                self._record(event.response)
            yield event

    async def aclose(self) -> None:
        """Close the model's connections (when it was built)."""
        close = getattr(self._model, "aclose", None)
        if close is not None:
            await close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _record(self, response: Response) -> None:
        """Count an answer under this object's `provider/name` (a provider may answer
        with a dated snapshot name; stats group by the name you asked for)."""
        from conduit.odometer import event_from_response

        provider, name = self._ref.split("/", 1)
        if not (response.model and response.provider):
            response = response.model_copy(
                update={"model": response.model or name, "provider": response.provider or provider}
            )
        event = event_from_response(response)
        if (event.provider, event.model) != (provider, name):
            event = event.model_copy(update={"provider": provider, "model": name})
        self.odometer.record(event)

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
        """True when `name` is a model Conduit can call (raises nothing).

        Example:
            >>> Model.validate_model("openai/gpt-4o"), Model.validate_model("openai/gpt-0")
            (True, False)
        """
        from conduit.catalog import validate_model
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
    def from_server(cls, model: str, *, url: str, api_key: str | None = None) -> Self:
        """A model served by a Conduit gateway (or any OpenAI-compatible server): `model`
        is the gateway's model name, `url` its root (`/v1` is added when missing),
        `api_key` a virtual key (default `$CONDUIT_API_KEY`). Streaming included.

        Example:
            >>> Model.from_server("local", url="http://127.0.0.1:4000", api_key="sk-cnd-x").ref
            'openai/local'
        """
        from conduit.providers.gateway import from_server

        return cls(from_server(model, url=url, api_key=api_key))


class Model(ModelAsync):
    """`ModelAsync` with synchronous `query()` and `stream()`.

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
        """`query_async` from synchronous code; `stream=True` gives a plain iterator."""
        if stream:
            return self.stream(
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
        """Close the model's connections (when it was built)."""
        run_sync(self.aclose())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stream(
        self,
        input: MessagesInput,
        *,
        cache: bool = True,
        temperature: float | None = None,
        max_tokens: int | None = None,
        **options: Any,
    ) -> Iterator[StreamEvent]:
        """The answer as stream events, from synchronous code."""
        return iterate_sync(
            self.stream_async(
                input, cache=cache, temperature=temperature, max_tokens=max_tokens, **options
            )
        )


class _Count:
    """Counts each answer of a structured-output run (retries included)."""

    __slots__ = ("owner",)

    def __init__(self, owner: ModelAsync) -> None:
        self.owner = owner

    def leave(self, ctx: Any) -> None:
        if ctx.response is not None:
            self.owner._record(ctx.response)
