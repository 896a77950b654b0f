"""When to retry an HTTP call and how long to wait.

Retries 408, 409, 429 and 5xx answers and connection failures, never other 4xx.
Waits what the server asks (`retry-after-ms`, then `Retry-After` in seconds or as an
HTTP date, RFC 9110 §10.2.3) when that is at most `max_retry_after`; otherwise
exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And
Jitter"). A server's `x-should-retry: true|false` overrides the status rule, as
OpenAI's and Anthropic's APIs send it.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RETRYABLE_STATUS", "RetryPolicy", "parse_retry_after"]

RETRYABLE_STATUS = frozenset({408, 409, 429})


def parse_retry_after(get: Callable[[str], str | None]) -> float | None:
    """Seconds the server asked us to wait, from `retry-after-ms` or `retry-after`.

    `get` looks a header up by name (`dict.get`, `HTTPResponse.header`).

    Example:
        >>> parse_retry_after({"retry-after": "3"}.get)
        3.0
        >>> parse_retry_after({"retry-after-ms": "250"}.get)
        0.25
    """
    ms = _seconds(get("retry-after-ms"), 1000.0)
    if ms is not None:
        return ms
    value = get("retry-after")
    if not value:
        return None
    seconds = _seconds(value, 1.0)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" (RFC 5322 §3.3): UTC, with no claim about local time
        when = when.replace(tzinfo=datetime.UTC)
    return max(when.timestamp() - time.time(), 0.0)


def _seconds(value: str | None, per_second: float) -> float | None:
    """A number of seconds from a header value, or None if it is not a number.

    NaN is rejected (`asyncio.sleep(nan)` would misbehave); infinity is kept, so a policy's
    `max_retry_after` refuses it."""
    if not value:
        return None
    try:
        seconds = float(value) / per_second
    except ValueError:
        return None
    if math.isnan(seconds):
        return None
    return max(seconds, 0.0)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times to retry and how to back off.

    Example:
        >>> RetryPolicy(max_retries=0).should_retry_status(500, None)
        True
        >>> RetryPolicy().backoff(0) <= 0.5
        True
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    jitter: bool = True

    def should_retry_status(self, status: int, should_retry_header: str | None) -> bool:
        """Whether an answer with this status is worth retrying."""
        if should_retry_header is not None:
            flag = should_retry_header.strip().lower()
            if flag == "true":
                return True
            if flag == "false":
                return False
        return status in RETRYABLE_STATUS or status >= 500

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt + 1` when the server gave no hint."""
        ceiling = min(self.initial_delay * (2**attempt), self.max_delay)
        return random.uniform(0, ceiling) if self.jitter else ceiling

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait, or None when the server asked for longer than we will wait."""
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            return retry_after
        return self.backoff(attempt)
