"""Retry: repeat a failed call, by a `RetryPolicy`.

Which errors are retried, each error says itself (`ConduitError.retryable`: rate limits,
server errors, connection failures and timeouts, HTTP 408/409/5xx); `retry_on=` replaces
that test. The wait is the server's `retry_after` when it gave one (up to the policy's
`max_retry_after`; a longer demand is not waited for), otherwise exponential backoff with
full jitter (`RetryPolicy.backoff`). A stream is retried when it fails before its first
event reaches the caller, never after. With a `Timeout` outside it, no retry starts that
would end past the deadline.

`Response.metadata["attempts"]` says how many calls it took. Models made by
`conduit.model()` also retry inside the transport (`max_retries=`, 2 by default); pass
`max_retries=0` to leave retrying to this interceptor alone. A `RetryPolicy` in an
interceptor list is this interceptor: `with_interceptors(m, [RetryPolicy(max_retries=4)])`.

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
from collections.abc import Awaitable, Callable
from typing import Any

from conduit.core.policy import RetryPolicy
from conduit.errors import ValidationError
from conduit.interceptors.chain import Context, Interceptor

__all__ = ["Retry", "is_retryable"]

_logger = logging.getLogger("conduit.interceptors.retry")


def is_retryable(error: BaseException) -> bool:
    """Whether repeating the call unchanged may succeed: the error's own `retryable`
    (False for anything that is not a Conduit error).

    Example:
        >>> from conduit.errors import BadRequestError, ServerError
        >>> is_retryable(ServerError("busy")), is_retryable(BadRequestError("no"))
        (True, False)
    """
    return bool(getattr(error, "retryable", False))


class Retry(Interceptor):
    """Retry retryable errors by `policy` (a `RetryPolicy`, a number of retries, or the
    policy's fields as keywords: `Retry(max_retries=4, initial_delay=0.1)`).

    `retry_on` replaces `is_retryable` as the test of which errors to retry; `sleep` is
    how to wait (tests pass a fake).

    Example:
        >>> Retry(max_retries=4, jitter=False).delay(3, RuntimeError())
        2.0
    """

    __slots__ = ("policy", "retry_on", "sleep")

    def __init__(
        self,
        policy: RetryPolicy | int | None = None,
        *,
        retry_on: Callable[[BaseException], bool] = is_retryable,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **fields: Any,
    ) -> None:
        if fields:
            if policy is not None:
                raise ValidationError("pass a RetryPolicy or its fields, not both")
            policy = RetryPolicy(**fields)
        self.policy = RetryPolicy.of(policy)
        self.retry_on = retry_on
        self.sleep = sleep

    @property
    def max_retries(self) -> int:
        """Retries after the first try."""
        return self.policy.max_retries

    def delay(self, attempt: int, error: BaseException) -> float | None:
        """Seconds to wait after failed attempt number `attempt` (1 for the first call),
        or None when the server asked for longer than `max_retry_after`."""
        retry_after = getattr(error, "retry_after", None)
        return self.policy.delay(attempt - 1, retry_after)

    def enter(self, ctx: Context) -> None:
        ctx.metadata["attempts"] = 1

    async def error(self, ctx: Context) -> None:
        error = ctx.error
        attempt: int = ctx.metadata.get("attempts", 1)
        if (
            error is None
            or attempt > self.policy.max_retries
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
            self.policy.max_retries,
            delay,
            extra={"model": ctx.ref, "attempt": attempt, "delay_s": delay},
        )
        await self.sleep(delay)
        ctx.metadata["attempts"] = attempt + 1
        ctx.retry()

    def __repr__(self) -> str:
        return f"Retry(max_retries={self.policy.max_retries})"
