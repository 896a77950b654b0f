"""Log lines a flood cannot multiply: at most `burst` lines of one kind per `period`
seconds, then a count of those left out.

A gateway under attack (a thousand sockets at once, a client that sends garbage in a
loop) or in an outage would otherwise write the same line once per connection or per
request: megabytes a minute that hide everything else and fill disks. `RateLimitedLogs`
is a `logging.Filter` keyed by the logger and the message's template (not its
arguments), so "socket.accept() out of system resource" or "Error handling request from
%s" count as one kind however many addresses they name. The first line after a quiet
spell says how many were left out.

`quiet_logs()` puts one filter on the loggers a gateway writes through (its own,
aiohttp's server and access loggers, asyncio's) while it runs.

Example:
    >>> import logging
    >>> limit = RateLimitedLogs(burst=2, period=60, clock=lambda: 0.0)
    >>> record = logging.LogRecord("x", logging.ERROR, "f", 1, "boom %s", ("a",), None)
    >>> [limit.filter(record) for _ in range(4)]
    [True, True, False, False]
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["GATEWAY_LOGGERS", "RateLimitedLogs", "quiet_logs"]

GATEWAY_LOGGERS = (
    "conduit.server",
    "conduit.server.connections",
    "conduit.server.dependencies",
    "conduit.server.usage",
    "conduit.interceptors.budget",
    "conduit.interceptors.usage",
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.access",
    "asyncio",
)
"""The loggers `quiet_logs` limits."""


class RateLimitedLogs(logging.Filter):
    """Lets at most `burst` records of one kind (logger and message template) through
    per `period` seconds; the next one let through after some were held back notes how
    many.

    Example:
        >>> RateLimitedLogs().burst
        10
    """

    def __init__(
        self,
        burst: int = 10,
        period: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_kinds: int = 1000,
    ) -> None:
        super().__init__()
        self.burst = burst
        self.period = period
        self.max_kinds = max_kinds
        self._clock = clock
        self._seen: dict[tuple[str, str], list[float]] = {}  # [window start, count, held]
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        kind = (record.name, str(record.msg))
        now = self._clock()
        with self._lock:
            seen = self._seen.get(kind)
            if seen is None or now - seen[0] >= self.period:
                held = 0 if seen is None else int(seen[2])
                if len(self._seen) >= self.max_kinds:
                    self._seen.clear()
                self._seen[kind] = [now, 1.0, 0.0]
                if held:
                    record.msg = f"{record.msg} ({held} similar lines left out)"
                return True
            if seen[1] < self.burst:
                seen[1] += 1
                return True
            seen[2] += 1
            return False


@contextmanager
def quiet_logs(limit: RateLimitedLogs | None = None) -> Iterator[RateLimitedLogs]:
    """Put `limit` (a new `RateLimitedLogs` by default) on `GATEWAY_LOGGERS` for the
    block.

    Example:
        >>> with quiet_logs() as limit:
        ...     limit in logging.getLogger("asyncio").filters
        True
    """
    limit = limit or RateLimitedLogs()
    loggers = [logging.getLogger(name) for name in GATEWAY_LOGGERS]
    for logger in loggers:
        logger.addFilter(limit)
    try:
        yield limit
    finally:
        for logger in loggers:
            logger.removeFilter(limit)
