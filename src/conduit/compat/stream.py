"""`CustomStreamWrapper`: LiteLLM's stream object over a Conduit event stream, sync and
async, yielding `chat.completion.chunk`s.

Example:
    >>> import conduit.compat as litellm
    >>> chunks = litellm.completion(model="fake/echo", messages="Hi there", stream=True)
    >>> type(chunks).__name__
    'CustomStreamWrapper'
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any

from conduit.compat.responses import ChunkMaker, ModelResponseStream
from conduit.core.sync import run_sync
from conduit.schema import Response, StreamEvent

__all__ = ["CustomStreamWrapper"]


class CustomStreamWrapper:
    """The stream `completion(stream=True)` returns (LiteLLM's class name): iterate it
    with `for` (from `completion()`) or `async for` (from `acompletion()`); each item is a
    `chat.completion.chunk`. The request is already answered when you get it (errors
    surface at the call, as with LiteLLM); success callbacks run when the stream ends.
    """

    def __init__(
        self,
        events: AsyncIterator[StreamEvent],
        first: StreamEvent | None,
        maker: ChunkMaker,
        on_end: Callable[[Response | None, BaseException | None], Coroutine[Any, Any, None]],
        model: str,
    ) -> None:
        self._events = events
        self._pending: list[StreamEvent] = [first] if first is not None else []
        self._ready: list[ModelResponseStream] = []
        self._maker = maker
        self._on_end = on_end
        self._done = False
        self.model = model
        self._hidden_params: dict[str, Any] = {}

    def __aiter__(self) -> CustomStreamWrapper:
        return self

    async def __anext__(self) -> ModelResponseStream:
        while not self._ready:
            if self._done:
                raise StopAsyncIteration
            if self._pending:
                event = self._pending.pop()
            else:
                try:
                    event = await self._events.__anext__()
                except StopAsyncIteration:
                    self._done = True
                    await self._on_end(self._maker.response, None)
                    continue
                except BaseException as exc:
                    self._done = True
                    from conduit.compat.exceptions import translate

                    error = translate(exc, model=self.model)
                    await self._on_end(None, error)
                    if error is exc:
                        raise
                    raise error from exc
            self._ready.extend(self._maker.feed(event))
        return self._ready.pop(0)

    def __iter__(self) -> Iterator[ModelResponseStream]:
        return self

    def __next__(self) -> ModelResponseStream:
        try:
            return run_sync(self.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    async def aclose(self) -> None:
        """Stop early and release the connection."""
        self._done = True
        aclose = getattr(self._events, "aclose", None)
        if aclose is not None:
            await aclose()

    def close(self) -> None:
        """`aclose()` for a stream from `completion()`."""
        run_sync(self.aclose())
