"""Timeout: a total time limit per request and, for streams, a limit between events.

`total` bounds the wait for the model's answer (for a stream: until its last event);
`idle` bounds each wait for the next stream event, the first one included. Either raises
`conduit.errors.TimeoutError`, which `Retry` retries. The limits bound what runs after
this interceptor: put `Timeout` inside `Retry` (`[Retry(), Timeout(30)]`) for a limit per
attempt, outside it (`[Timeout(60), Retry()]`) for one budget across all attempts (Retry
then starts no attempt that would end past it). Time the caller spends between stream
events is the caller's own and is not counted.

Example:
    >>> import asyncio
    >>> from conduit.interceptors import with_interceptors
    >>> from conduit.providers.fake import MockModel
    >>> slow = with_interceptors(MockModel(["late"], delay=1.0), [Timeout(total=0.01)])
    >>> try:
    ...     asyncio.run(slow.chat("hi"))
    ... except Exception as exc:
    ...     print(type(exc).__name__)
    TimeoutError
"""

from __future__ import annotations

import asyncio

from conduit.errors import ValidationError
from conduit.interceptors.chain import Context, Interceptor

__all__ = ["Timeout"]


class Timeout(Interceptor):
    """Limit a request to `total` seconds and a stream's gaps to `idle` seconds.

    Example:
        >>> Timeout(30, idle=5)
        Timeout(total=30, idle=5)
    """

    __slots__ = ("idle", "total")

    def __init__(self, total: float | None = None, *, idle: float | None = None) -> None:
        for name, value in (("total", total), ("idle", idle)):
            if value is not None and not value > 0:
                raise ValidationError(f"{name} must be a positive number of seconds or None")
        if total is None and idle is None:
            raise ValidationError("Timeout needs total= or idle= (or both)")
        self.total = total
        self.idle = idle

    def enter(self, ctx: Context) -> None:
        # Remember the limits from further out; they come back when this call leaves, so
        # a retry from outside starts with a fresh limit of its own.
        ctx.state[self] = (ctx.deadline, ctx.idle_timeout)
        if self.total is not None:
            deadline = asyncio.get_running_loop().time() + self.total
            if ctx.deadline is None or deadline < ctx.deadline:
                ctx.deadline = deadline
        if self.idle is not None and (ctx.idle_timeout is None or self.idle < ctx.idle_timeout):
            ctx.idle_timeout = self.idle

    def leave(self, ctx: Context) -> None:
        ctx.deadline, ctx.idle_timeout = ctx.state.pop(self)

    error = leave

    def __repr__(self) -> str:
        return f"Timeout(total={self.total}, idle={self.idle})"
