"""Knowing what another process is doing right now, instead of guessing how long it takes.

A test that drives a child process (a terminal program under `pexpect`, say) often has to
act only once the child *waits*: a Ctrl-C is only certain to be handled as "at the prompt"
once the child sits in the system call that reads the terminal, not while it is still on
its way there, however the machine is loaded. Linux shows each task's current system
call in `/proc/<pid>/syscall` (its number and arguments, or `running`); `blocked_in`
reads it for the process's main thread and `wait_until_blocked` polls it.

Example:
    >>> import os
    >>> SYSCALLS_READABLE in (True, False)
    True
    >>> blocked_in(os.getpid(), {"select"}) if SYSCALLS_READABLE else False
    False
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Collection

__all__ = ["SYSCALLS_READABLE", "WAITS_FOR_INPUT", "blocked_in", "wait_until_blocked"]

# System call numbers by machine: only those the tests wait in.
_NUMBERS = {
    "x86_64": {
        "read": 0,
        "write": 1,
        "poll": 7,
        "select": 23,
        "pselect6": 270,
        "ppoll": 271,
    },
    "aarch64": {"read": 63, "write": 64, "pselect6": 72, "ppoll": 73},
}

WAITS_FOR_INPUT = frozenset({"select", "pselect6", "poll", "ppoll"})
"""How a line editor (readline's callback loop) waits for the next key."""


def _readable() -> bool:
    if platform.machine() not in _NUMBERS:
        return False
    try:
        with open(f"/proc/{os.getpid()}/syscall") as file:
            file.read()
    except OSError:
        return False
    return True


SYSCALLS_READABLE = _readable()
"""Whether this machine shows a task's system call (Linux on x86-64 or arm64)."""


def blocked_in(pid: int, calls: Collection[str], fd: int | None = None) -> bool:
    """Whether process `pid`'s main thread is inside one of the system calls named
    `calls` (and, given `fd`, one whose first argument is that file descriptor)."""
    numbers = _NUMBERS[platform.machine()]
    try:
        with open(f"/proc/{pid}/syscall") as file:
            fields = file.read().split()
    except OSError:  # gone
        return False
    if not fields or fields[0] in {"running", "-1"}:
        return False
    if int(fields[0]) not in {numbers[name] for name in calls if name in numbers}:
        return False
    return fd is None or (len(fields) > 1 and int(fields[1], 16) == fd)


def wait_until_blocked(
    pid: int, calls: Collection[str], fd: int | None = None, *, timeout: float = 60.0
) -> None:
    """Poll until `blocked_in(pid, calls, fd)`; fail after `timeout` seconds (a hang
    guard, far above any pause of a busy machine)."""
    deadline = time.monotonic() + timeout
    while not blocked_in(pid, calls, fd):
        assert time.monotonic() < deadline, f"process {pid} never blocked in {sorted(calls)}"
        time.sleep(0.001)
