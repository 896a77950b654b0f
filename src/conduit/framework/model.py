"""`Model`: `ModelAsync` with the synchronous `query()` the framework's users call most.

A thin layer over the core (see `conduit.framework.model_async`): `query` is `chat` (or,
with `response_model=`, structured output; with `output_type="image"`/`"audio"`, media
generation) through the model's chain of interceptors: `RecordUsage` outermost (every
call in the one usage ledger, what `conduit usage` shows; `ledger=False` turns it off),
then the odometer count, then the response cache. Errors are values at this edge: `query`
returns a `ConduitError` (with its `info` and `detail`: stack trace, the request's
parameters with keys redacted) instead of raising.

Example:
    >>> from conduit.providers.fake import FunctionModel
    >>> model = Model(FunctionModel(lambda messages, info: "4"), ledger=False)
    >>> response = model.query("What is 2+2?")
    >>> response.content, response.prompt
    ('4', 'What is 2+2?')
    >>> Model("fake/echo", ledger=False).query("hi", temperature=-1).info.category
    'fix_input'
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal, Self, overload

from conduit.batch import Verbosity, progress_display
from conduit.core.sync import iterate_sync, run_sync
from conduit.errors import ConduitError
from conduit.framework.model_async import (
    ModelAsync,
    OutputKind,
    VerbosityInput,
    label_of,
    session_odometer,
)
from conduit.schema import MessagesInput, Response, StreamEvent

if TYPE_CHECKING:
    from conduit.framework.request import Request

__all__ = ["Model", "ModelAsync", "session_odometer"]


class Model(ModelAsync):
    """`ModelAsync` with the synchronous `query()` (and `stream_sync()`, `close()`).

    Example:
        >>> from conduit.providers.fake import MockModel
        >>> Model(MockModel(["fine"]), ledger=False).query("How are you?").content
        'fine'
    """

    @overload
    def query(
        self,
        query_input: MessagesInput | None = None,
        response_model: Any = None,
        cache: bool = True,
        temperature: float | None = None,
        verbose: VerbosityInput = Verbosity.PROGRESS,
        stream: Literal[False] = False,
        max_tokens: int | None = None,
        output_type: OutputKind = "text",
        index: int = 0,
        total: int = 0,
        request: Request | None = None,
        **options: Any,
    ) -> Response | ConduitError: ...

    @overload
    def query(
        self,
        query_input: MessagesInput | None = None,
        response_model: Any = None,
        cache: bool = True,
        temperature: float | None = None,
        verbose: VerbosityInput = Verbosity.PROGRESS,
        *,
        stream: Literal[True],
        max_tokens: int | None = None,
        output_type: OutputKind = "text",
        index: int = 0,
        total: int = 0,
        request: Request | None = None,
        **options: Any,
    ) -> Iterator[StreamEvent]: ...

    @progress_display(label=label_of, plain_lines=False)
    def query(
        self,
        query_input: MessagesInput | None = None,
        response_model: Any = None,
        cache: bool = True,
        temperature: float | None = None,
        verbose: VerbosityInput = Verbosity.PROGRESS,
        stream: bool = False,
        max_tokens: int | None = None,
        output_type: OutputKind = "text",
        index: int = 0,
        total: int = 0,
        request: Request | None = None,
        **options: Any,
    ) -> Response | ConduitError | Iterator[StreamEvent]:
        """Ask once from synchronous code: a `Response` or a `ConduitError` value;
        `stream=True` gives a plain iterator of stream events. Other keywords are chat
        options (`seed=`, `stop=`, ...).

        Example:
            >>> from conduit.providers.fake import MockModel
            >>> Model(MockModel(["4"]), ledger=False).query(query_input="What is 2+2?").content
            '4'
        """
        if stream:
            return self.stream_sync(
                query_input if query_input is not None else "",
                cache=cache,
                temperature=temperature,
                max_tokens=max_tokens,
                **options,
            )
        return run_sync(
            self._query(
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
