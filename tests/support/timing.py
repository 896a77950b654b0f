"""Helpers for tests that must not depend on how fast the machine is.

`LoopClock` moves the running loop's clock forward, so a test can make "an hour" pass
for every timer (`asyncio.timeout`, `asyncio.sleep`, `loop.call_later`) without waiting:
a timeout check can then use a limit far above any pause of a busy machine and still run
in milliseconds.

`without_slow_step_warnings` drops asyncio's debug-mode report of a slow step from a
subprocess's stderr. Under `python -X dev` asyncio logs `Executing <Task ...> took 0.139
seconds` whenever one step holds the loop longer than `loop.slow_callback_duration`
(0.1 s): on a loaded machine any step can. Every other line is kept, so a test that
wants an empty stderr still sees warnings, tracebacks and unclosed resources.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["SLOW_STEP", "LoopClock", "loop_clock", "without_slow_step_warnings"]

SLOW_STEP = re.compile(r"Executing <.*> took \d+\.\d{3} seconds")
"""asyncio's `base_events` message: `'Executing %s took %.3f seconds'`."""


def without_slow_step_warnings(stderr: str) -> str:
    """`stderr` without the lines asyncio's debug mode writes for slow steps.

    Example:
        >>> without_slow_step_warnings(
        ...     "Executing <Task pending name='Task-1'> took 0.139 seconds\\nboom\\n"
        ... )
        'boom\\n'
    """
    kept = [
        line
        for line in stderr.splitlines(keepends=True)
        if not SLOW_STEP.fullmatch(line.rstrip("\r\n"))
    ]
    return "".join(kept)


class LoopClock:
    """The running loop's clock plus the time `skip` added."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._real = loop.time
        self.skipped = 0.0

    def time(self) -> float:
        return self._real() + self.skipped

    def skip(self, seconds: float) -> None:
        """Let `seconds` pass at once: every timer due by then fires on the next turn."""
        self.skipped += seconds


@contextmanager
def loop_clock() -> Iterator[LoopClock]:
    """Patch the running loop's `time()` for the duration of the block."""
    loop = asyncio.get_running_loop()
    clock = LoopClock(loop)
    loop.time = clock.time  # type: ignore[method-assign]
    try:
        yield clock
    finally:
        del loop.time  # the class's own method again
