"""Time limits for any model: a total per request and, for streams, a limit between
events, from one `Timeout` value.

`Timeout(total=...)` bounds the wait for the model's answer (for a stream: until its last
event); `Timeout(read=...)` bounds each wait for the next stream event, the first one
included. Either raises `conduit.errors.TimeoutError`, which `Retry` retries. In an
interceptor list a `Timeout` (or a number of seconds, via `Timeout.of`) is this
interceptor: put it inside `Retry` (`[Retry(), Timeout(30)]`) for a limit per attempt,
outside it (`[Timeout(60), Retry()]`) for one budget across all attempts (Retry then
starts no attempt that would end past it). Time the caller spends between stream events
is the caller's own and is not counted. `connect` is for HTTP transports and is not
used here.

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

from conduit.core.policy import Timeout
from conduit.interceptors.chain import Context, Interceptor

__all__ = ["TimeLimit", "Timeout"]


class TimeLimit(Interceptor):
    """The interceptor a `Timeout` becomes in an interceptor list: `total` per request,
    `read` between stream events (the transport's `connect` does not apply).

    Example:
        >>> TimeLimit(Timeout(30, read=5))
        TimeLimit(total=30, read=5)
    """

    __slots__ = ("idle", "total")

    def __init__(self, timeout: Timeout | float) -> None:
        value = Timeout.of(timeout)
        assert value is not None
        self.total = value.total
        self.idle = value.read

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
        return f"TimeLimit(total={self.total}, read={self.idle})"
