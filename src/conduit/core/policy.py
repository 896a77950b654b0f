"""The two policies every way in shares: `RetryPolicy` (how often and how long to wait)
and `Timeout` (how long a call may take).

Every entry point (`conduit.model(...)`, the interceptors, the router, the LiteLLM face,
the gateway) takes these values, or a plain number that `RetryPolicy.of` / `Timeout.of`
turns into one, so a timeout of `30` means the same thing whichever door it came in by.
Which errors are worth retrying is not decided here: each error says so itself
(`ConduitError.retryable`, see `conduit.errors`).

Backoff is exponential with full jitter (AWS architecture blog, "Exponential Backoff And
Jitter"); a server's `Retry-After` is honoured up to `max_retry_after` seconds (RFC 9110
§10.2.3), and a longer demand is not waited for.

Example:
    >>> RetryPolicy.of(3).max_retries
    3
    >>> Timeout.of(30).total
    30.0
    >>> RetryPolicy(jitter=False).delay(0, None)
    0.5
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from conduit.core.checks import check_count, check_seconds
from conduit.errors import ValidationError

__all__ = ["RetryPolicy", "Timeout"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times to retry a failed call and how long to wait between tries.

    - `max_retries`: retries after the first try (0: try once).
    - `initial_delay`, `max_delay`: the backoff's first ceiling and its cap, in seconds;
      retry number n waits a random time up to `min(initial_delay * 2**n, max_delay)`
      (or exactly that with `jitter=False`).
    - `max_retry_after`: the longest `Retry-After` honoured; a server that asks for more
      is not retried.

    Example:
        >>> policy = RetryPolicy(max_retries=1)
        >>> from conduit.errors import RateLimitError, BadRequestError
        >>> policy.should_retry(RateLimitError("slow down"), retries_done=0)
        True
        >>> policy.should_retry(RateLimitError("slow down"), retries_done=1)
        False
        >>> policy.should_retry(BadRequestError("bad"), retries_done=0)
        False
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    jitter: bool = True

    def __post_init__(self) -> None:
        check_count(self.max_retries, "max_retries")
        check_seconds(self.initial_delay, "initial_delay", allow_zero=True)
        check_seconds(self.max_delay, "max_delay", allow_zero=True)
        check_seconds(self.max_retry_after, "max_retry_after", allow_zero=True)
        if not isinstance(self.jitter, bool):
            raise ValidationError(f"jitter must be True or False, not {self.jitter!r}")

    @classmethod
    def of(cls, value: RetryPolicy | int | None, *, name: str = "max_retries") -> RetryPolicy:
        """A policy from what a caller passed: a `RetryPolicy`, a number of retries, or
        None (the default policy). Anything else is a `ValidationError` naming `name`.

        Example:
            >>> RetryPolicy.of(None) == RetryPolicy()
            True
            >>> RetryPolicy.of(-1)
            Traceback (most recent call last):
            ...
            conduit.errors.ValidationError: max_retries must be a whole number >= 0, not -1...
        """
        if value is None:
            return _DEFAULT_RETRY
        if isinstance(value, RetryPolicy):
            return value
        return cls(max_retries=check_count(value, name))

    def should_retry(self, error: BaseException, retries_done: int) -> bool:
        """Whether to try again after `error`, with `retries_done` retries behind us.

        Only errors that say they are `retryable` are; anything that is not a Conduit
        error (a bug, a cancellation) never is.
        """
        return retries_done < self.max_retries and bool(getattr(error, "retryable", False))

    def backoff(self, retries_done: int) -> float:
        """Seconds to wait before retry number `retries_done + 1` when the server gave no
        hint.

        Example:
            >>> RetryPolicy(jitter=False).backoff(3)
            4.0
        """
        ceiling = min(self.initial_delay * (2**retries_done), self.max_delay)
        return random.uniform(0, ceiling) if self.jitter else ceiling

    def delay(self, retries_done: int, retry_after: float | None) -> float | None:
        """Seconds to wait before the next try: the server's `retry_after` when it gave
        one, else the backoff; None when the server asked for longer than
        `max_retry_after` (do not retry then).

        Example:
            >>> RetryPolicy().delay(0, 120.0) is None
            True
        """
        if retry_after is not None:
            return None if retry_after > self.max_retry_after else max(float(retry_after), 0.0)
        return self.backoff(retries_done)

    def _wait(self, error: BaseException, retries_done: int) -> float | None:
        if not self.should_retry(error, retries_done):
            return None
        return self.delay(retries_done, getattr(error, "retry_after", None))

    def run(self, attempt: Callable[[], _T]) -> _T:
        """`attempt()`, tried again after each error this policy retries (waiting
        `delay()` between tries); the last error is raised.

        Example:
            >>> from conduit.errors import RateLimitError
            >>> answers = iter([RateLimitError("slow down"), "ok"])
            >>> def attempt():
            ...     answer = next(answers)
            ...     if isinstance(answer, Exception):
            ...         raise answer
            ...     return answer
            >>> RetryPolicy(max_retries=1, initial_delay=0).run(attempt)
            'ok'
        """
        retries = 0
        while True:
            try:
                return attempt()
            except Exception as error:
                wait = self._wait(error, retries)
                if wait is None:
                    raise
            time.sleep(wait)
            retries += 1

    async def arun(self, attempt: Callable[[], Awaitable[_T]]) -> _T:
        """`run()` for async code: `attempt()` is awaited.

        Example:
            >>> async def attempt():
            ...     return "ok"
            >>> asyncio.run(RetryPolicy().arun(attempt))
            'ok'
        """
        retries = 0
        while True:
            try:
                return await attempt()
            except Exception as error:
                wait = self._wait(error, retries)
                if wait is None:
                    raise
            await asyncio.sleep(wait)
            retries += 1


_DEFAULT_RETRY = RetryPolicy()


@dataclass(frozen=True, slots=True)
class Timeout:
    """How long a call may take, in seconds (None: no limit).

    - `total`: the whole call, from sending to the last byte or stream event.
    - `connect`: opening a connection (HTTP models only).
    - `read`: the longest wait for the next bytes of an answer, or for the next event of
      a stream.

    A plain number means `total`: `Timeout.of(30)` is `Timeout(total=30)`.

    Example:
        >>> Timeout(total=60, read=10)
        Timeout(total=60, connect=10.0, read=10)
    """

    total: float | None = None
    connect: float | None = 10.0
    read: float | None = 600.0

    def __post_init__(self) -> None:
        for name in ("total", "connect", "read"):
            value = getattr(self, name)
            if value is not None:
                check_seconds(value, f"timeout.{name}")

    @classmethod
    def of(cls, value: Timeout | float | None, *, name: str = "timeout") -> Timeout | None:
        """A `Timeout` from what a caller passed: a `Timeout`, a number of seconds (the
        total) or None (no timeout given). Anything else, including a negative, zero or
        non-finite number, is a `ValidationError` naming `name`.

        Example:
            >>> Timeout.of(2.5)
            Timeout(total=2.5, connect=10.0, read=600.0)
            >>> Timeout.of(float("nan"))
            Traceback (most recent call last):
            ...
            conduit.errors.ValidationError: timeout must be a positive, finite number of seconds...
        """
        if value is None or isinstance(value, Timeout):
            return value
        return cls(total=check_seconds(value, name))

    def __repr__(self) -> str:
        return f"Timeout(total={self.total}, connect={self.connect}, read={self.read})"
