"""Time limits on a stream: for its first event and for each gap between events.

`with_timeouts(events, first_event=..., idle=...)` passes the events through and raises
`conduit.errors.TimeoutError` (which `Retry` retries) when the first event takes longer
than `first_event` seconds or a later one longer than `idle` seconds; the source stream
is closed first. Time the consumer spends between events is its own and not counted.
(For limits inside an interceptor chain, see `conduit.interceptors.Timeout`.)

Example:
    >>> import asyncio
    >>> from conduit.providers.fake import MockModel
    >>> slow = MockModel(["a b"], delay=0.5).stream("hi")
    >>> async def main():
    ...     return [e async for e in with_timeouts(slow, first_event=0.01)]
    >>> try:
    ...     asyncio.run(main())
    ... except TimeoutError as exc:
    ...     print(exc.message)
    no stream event within 0.01 s (first-event timeout)
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterable, AsyncIterator
from typing import TypeVar

from conduit.errors import TimeoutError, ValidationError

__all__ = ["with_timeouts"]

T = TypeVar("T")


def _check(name: str, value: float | None) -> None:
    if value is not None and not value > 0:
        raise ValidationError(f"{name} must be a positive number of seconds or None")


async def with_timeouts(
    events: AsyncIterable[T], *, first_event: float | None = None, idle: float | None = None
) -> AsyncIterator[T]:
    """Yield `events`, raising `TimeoutError` if the first takes over `first_event`
    seconds or any later one over `idle` seconds. Without `first_event`, `idle` bounds
    the first event too.

    Example:
        >>> import asyncio
        >>> from conduit.providers.fake import MockModel
        >>> async def main():
        ...     stream = with_timeouts(MockModel(["fast"]).stream("hi"), idle=5)
        ...     return [e.type async for e in stream]
        >>> asyncio.run(main())
        ['text_delta', 'usage', 'done']
    """
    _check("first_event", first_event)
    _check("idle", idle)
    iterator = aiter(events)
    limit, what = (first_event, "first-event") if first_event is not None else (idle, "idle")
    try:
        while True:
            try:
                async with asyncio.timeout(limit) as scope:
                    item = await anext(iterator)
            except StopAsyncIteration:
                return
            except builtins.TimeoutError:
                if not scope.expired():
                    raise
                raise TimeoutError(f"no stream event within {limit:g} s ({what} timeout)") from None
            yield item
            limit, what = idle, "idle"
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()
