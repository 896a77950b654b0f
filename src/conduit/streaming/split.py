"""One stream, several consumers: `tee(events, n)`.

Each of the `n` returned iterators yields every item of the source, in order. The source
is read once, on demand, by whichever consumer needs the next item first.

Buffering policy (backpressure): items some consumer has not yet read are kept, at most
`max_buffer` of them (default 64). A consumer that gets `max_buffer` items ahead of the
slowest one waits until the slowest catches up, so memory stays bounded and the source
is never read faster than the slowest consumer allows. Consumers must therefore run
concurrently (for example with `asyncio.gather`); to read one consumer to its end before
starting another, pass `max_buffer=None`, which keeps everything not yet read by all
(unbounded: as much as the whole stream). A consumer closed with `aclose()` stops
counting: close the ones you stop reading or never read, or the others wait for them.
The source is closed when every consumer is closed or finished. An error from the source
reaches each consumer at the point where it happened.

Example:
    >>> import asyncio
    >>> from conduit.providers.fake import MockModel
    >>> from conduit.streaming import stream_to_response
    >>> async def main():
    ...     a, b = tee(MockModel(["one two"]).stream("hi"))
    ...     events, response = await asyncio.gather(
    ...         _count(a), stream_to_response(b))
    ...     return events, response.text
    >>> async def _count(events):
    ...     return len([e async for e in events])
    >>> asyncio.run(main())
    (4, 'one two')
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from typing import Generic, TypeVar

from conduit.errors import ValidationError

__all__ = ["tee"]

T = TypeVar("T")

_END = object()


class _Shared(Generic[T]):
    def __init__(self, source: AsyncIterable[T], n: int, max_buffer: int | None) -> None:
        self.source = aiter(source)
        self.max_buffer = max_buffer
        self.buffer: deque[object] = deque()  # items from absolute position `base` on
        self.base = 0
        self.positions: dict[int, int] = dict.fromkeys(range(n), 0)  # open consumers
        self.error: BaseException | None = None
        self.finished = False
        self.changed = asyncio.Condition()
        # The source is read in a task of its own, so a consumer cancelled while waiting
        # for the next item does not cancel (and so end) the read the others wait for.
        self.pull: asyncio.Task[None] | None = None

    def _trim(self) -> None:
        low = min(self.positions.values(), default=self.base + len(self.buffer))
        while self.base < low and self.buffer:
            self.buffer.popleft()
            self.base += 1

    async def _pull(self) -> None:
        try:
            item: object = await anext(self.source)
        except StopAsyncIteration:
            item = _END
        except Exception as exc:
            self.error = exc
            item = _END
        async with self.changed:
            self.pull = None
            if item is _END:
                self.finished = True
            else:
                self.buffer.append(item)
            self.changed.notify_all()

    async def get(self, consumer: int) -> object:
        async with self.changed:
            while True:
                pos = self.positions[consumer]
                if pos < self.base + len(self.buffer):
                    item = self.buffer[pos - self.base]
                    self.positions[consumer] = pos + 1
                    self._trim()
                    self.changed.notify_all()
                    return item
                if self.finished:
                    if self.error is not None:
                        raise self.error
                    return _END
                ahead = pos - min(self.positions.values())
                if self.pull is None and (self.max_buffer is None or ahead < self.max_buffer):
                    self.pull = asyncio.ensure_future(self._pull())
                await self.changed.wait()

    async def close(self, consumer: int) -> None:
        async with self.changed:
            del self.positions[consumer]  # each consumer closes once (see _Consumer)
            self._trim()
            self.changed.notify_all()
            if self.positions or self.finished:
                return
            self.finished = True
            pull, self.pull = self.pull, None
        if pull is not None:
            pull.cancel()
            await asyncio.gather(pull, return_exceptions=True)
        aclose = getattr(self.source, "aclose", None)
        if aclose is not None:
            await aclose()


class _Consumer(AsyncIterator[T]):
    """One of tee's outputs: an async iterator with `aclose()`."""

    def __init__(self, shared: _Shared[T], index: int) -> None:
        self._shared = shared
        self._index = index
        self._closed = False

    async def __anext__(self) -> T:
        if self._closed:
            raise StopAsyncIteration
        try:
            item = await self._shared.get(self._index)
        except BaseException:
            await self.aclose()
            raise
        if item is _END:
            await self.aclose()
            raise StopAsyncIteration
        return item  # type: ignore[return-value]

    async def aclose(self) -> None:
        """Stop reading: this consumer no longer holds the others back."""
        if not self._closed:
            self._closed = True
            await self._shared.close(self._index)


def tee(
    events: AsyncIterable[T], n: int = 2, *, max_buffer: int | None = 64
) -> tuple[AsyncIterator[T], ...]:
    """Split one stream into `n` streams that each yield every item (see the module
    docstring for the buffering policy).

    Example:
        >>> import asyncio
        >>> async def numbers():
        ...     for i in range(3):
        ...         yield i
        >>> async def main():
        ...     a, b = tee(numbers(), max_buffer=None)
        ...     return [x async for x in a], [x async for x in b]
        >>> asyncio.run(main())
        ([0, 1, 2], [0, 1, 2])
    """
    if n < 1:
        raise ValidationError(f"tee needs n >= 1 consumers, not {n}")
    if max_buffer is not None and max_buffer < 1:
        raise ValidationError("max_buffer must be at least 1, or None for unbounded")
    shared = _Shared(events, n, max_buffer)
    return tuple(_Consumer(shared, i) for i in range(n))
