"""How long a server asks us to wait: `retry-after-ms`, then `Retry-After` in seconds or
as an HTTP date (RFC 9110 §10.2.3).

Whether to retry and how to back off is `conduit.core.policy.RetryPolicy` (re-exported
here and from `conduit.transport`); which errors are worth it, each error says itself
(`ConduitError.retryable`: 408, 409, 429, 5xx and connection failures; a server's
`x-should-retry: true|false` overrides it, as OpenAI's and Anthropic's APIs send it).
"""

from __future__ import annotations

import datetime
import email.utils
import math
import time
from collections.abc import Callable

from conduit.core.policy import RetryPolicy
from conduit.errors import RETRYABLE_STATUS

__all__ = ["RETRYABLE_STATUS", "RetryPolicy", "parse_retry_after"]


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
