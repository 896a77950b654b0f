"""Retry: repeat a failed call with exponential backoff and jitter.

Only errors worth repeating are retried (`is_retryable`: rate limits, server errors,
connection failures and timeouts, and HTTP 408/409/5xx, the statuses the transport
retries too). The wait is the server's `retry_after` when it gave one (up to
`max_retry_after`; a longer demand is not waited for), otherwise a random time between 0
and `initial_delay * 2**(attempt - 1)` capped at `max_delay` ("full jitter", AWS
architecture blog, "Exponential Backoff And Jitter"). A stream is retried when it fails
before its first event reaches the caller, never after. With a `Timeout` outside it,
no retry starts that would end past the deadline.

`Response.metadata["attempts"]` says how many calls it took. Models made by
`conduit.model()` also retry inside the transport (`max_retries=`, 2 by default); pass
`max_retries=0` to leave retrying to this interceptor alone.

Example:
    >>> import asyncio
    >>> from conduit.errors import RateLimitError
    >>> from conduit.interceptors import with_interceptors
    >>> from conduit.providers.fake import MockModel
    >>> flaky = MockModel([RateLimitError("slow down", retry_after=0.01), "ok"])
    >>> answer = asyncio.run(with_interceptors(flaky, [Retry()]).chat("hi"))
    >>> answer.text, answer.metadata["attempts"]
    ('ok', 2)
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from conduit.errors import (
    APIConnectionError,
    ProviderError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from conduit.interceptors.chain import Context, Interceptor

__all__ = ["Retry", "is_retryable"]

_logger = logging.getLogger("conduit.interceptors.retry")

_RETRYABLE_STATUS = frozenset({408, 409})


def is_retryable(error: BaseException) -> bool:
    """Whether repeating the call unchanged may succeed.

    Example:
        >>> from conduit.errors import BadRequestError, ServerError
        >>> is_retryable(ServerError("busy")), is_retryable(BadRequestError("no"))
        (True, False)
    """
    if isinstance(error, RateLimitError | ServerError | APIConnectionError):
        return True
    if isinstance(error, ProviderError) and error.status_code is not None:
        return error.status_code in _RETRYABLE_STATUS or error.status_code >= 500
    return False


class Retry(Interceptor):
    """Retry retryable errors: at most `max_attempts` calls in all.

    `retry_on` replaces `is_retryable` as the test of which errors to retry; `sleep` is
    how to wait (tests pass a fake).

    Example:
        >>> Retry(max_attempts=5, jitter=False).delay(3, RuntimeError())
        2.0
    """

    __slots__ = (
        "initial_delay",
        "jitter",
        "max_attempts",
        "max_delay",
        "max_retry_after",
        "retry_on",
        "sleep",
    )

    def __init__(
        self,
        max_attempts: int = 3,
        *,
        initial_delay: float = 0.5,
        max_delay: float = 8.0,
        max_retry_after: float = 60.0,
        jitter: bool = True,
        retry_on: Callable[[BaseException], bool] = is_retryable,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValidationError("max_attempts must be at least 1")
        if initial_delay < 0 or max_delay < 0 or max_retry_after < 0:
            raise ValidationError("delays must not be negative")
        self.max_attempts = max_attempts
        self.initial_delay = initial_delay
        self.max_delay = max_delay
        self.max_retry_after = max_retry_after
        self.jitter = jitter
        self.retry_on = retry_on
        self.sleep = sleep

    def delay(self, attempt: int, error: BaseException) -> float | None:
        """Seconds to wait after failed attempt number `attempt` (1 for the first call),
        or None when the server asked for longer than `max_retry_after`."""
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return None if retry_after > self.max_retry_after else float(retry_after)
        ceiling = min(self.initial_delay * 2 ** (attempt - 1), self.max_delay)
        return random.uniform(0.0, ceiling) if self.jitter else ceiling

    def enter(self, ctx: Context) -> None:
        ctx.metadata["attempts"] = 1

    async def error(self, ctx: Context) -> None:
        error = ctx.error
        attempt: int = ctx.metadata.get("attempts", 1)
        if (
            error is None
            or attempt >= self.max_attempts
            or ctx.streaming
            or not self.retry_on(error)
        ):
            return
        delay = self.delay(attempt, error)
        if delay is None:
            return
        if ctx.deadline is not None and asyncio.get_running_loop().time() + delay >= ctx.deadline:
            return
        _logger.info(
            "%s failed (%s); retry %d of %d in %.2f s",
            ctx.ref,
            type(error).__name__,
            attempt,
            self.max_attempts - 1,
            delay,
            extra={"model": ctx.ref, "attempt": attempt, "delay_s": delay},
        )
        await self.sleep(delay)
        ctx.metadata["attempts"] = attempt + 1
        ctx.retry()

    def __repr__(self) -> str:
        return f"Retry(max_attempts={self.max_attempts})"
