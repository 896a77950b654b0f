"""The dashboard's logins: server-side sessions with an expiry, each with its own CSRF
token, and the cookie that names one.

A session lives in this process only (a restart or another replica asks to log in
again); the store keeps a hash of each session id, never the id itself, and at most
`MAX_SESSIONS` of them (the oldest go first).

Wrong master keys are counted per address (`LoginThrottle`): after 10 in five minutes,
that address waits (429) until the oldest of them is five minutes old.

The cookie is `HttpOnly`, `SameSite=Strict` and `Path=/ui`, and `Secure` unless the
request came over plain HTTP from a loopback address (a test or a local operator on
`http://127.0.0.1`); behind a TLS proxy that sets `X-Forwarded-Proto: https` it is
`Secure` too.

Example:
    >>> sessions = Sessions(seconds=60, clock=lambda: 0.0)
    >>> sid, session = sessions.start()
    >>> sessions.find(sid) is session, sessions.find("forged")
    (True, None)
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from conduit.core.checks import check_seconds

if TYPE_CHECKING:
    from collections.abc import Callable

    from aiohttp import web

__all__ = [
    "COOKIE",
    "LoginThrottle",
    "MAX_SESSIONS",
    "Session",
    "Sessions",
    "cookie_is_secure",
]

COOKIE = "conduit_ui"
"""The session cookie's name."""
MAX_SESSIONS = 1000
"""Sessions kept at most (the oldest are dropped first)."""


@dataclass(slots=True)
class Session:
    """One login: when it ends (`expires`, the store's clock) and its CSRF token.

    Example:
        >>> Session(expires=10.0, csrf="t").valid_csrf("t")
        True
    """

    expires: float
    csrf: str

    def valid_csrf(self, token: str | None) -> bool:
        """Whether a form's token is this session's (compared in constant time)."""
        return bool(token) and hmac.compare_digest(self.csrf, token or "")


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class Sessions:
    """Sessions that last `seconds` after login (see the module's text); `clock` is
    monotonic seconds.

    Example:
        >>> now = [0.0]
        >>> sessions = Sessions(seconds=60, clock=lambda: now[0])
        >>> sid, _ = sessions.start()
        >>> now[0] = 61.0
        >>> sessions.find(sid) is None
        True
    """

    def __init__(self, *, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = check_seconds(seconds, "seconds")
        self._clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def start(self) -> tuple[str, Session]:
        """A new session: its id (for the cookie) and the session."""
        session_id = secrets.token_urlsafe(32)
        session = Session(self._clock() + self.seconds, secrets.token_urlsafe(32))
        self._sessions[_digest(session_id)] = session
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)
        return session_id, session

    def find(self, session_id: str | None) -> Session | None:
        """The live session with this id; None when unknown or expired (then forgotten)."""
        if not session_id:
            return None
        digest = _digest(session_id)
        session = self._sessions.get(digest)
        if session is None:
            return None
        if session.expires <= self._clock():
            del self._sessions[digest]
            return None
        return session

    def end(self, session_id: str | None) -> None:
        """Forget a session (log out)."""
        if session_id:
            self._sessions.pop(_digest(session_id), None)


def cookie_is_secure(request: web.Request) -> bool:
    """Whether the session cookie gets `Secure`: always, except over plain HTTP from a
    loopback address with no `X-Forwarded-Proto: https`.

    Example:
        >>> from aiohttp.test_utils import make_mocked_request
        >>> cookie_is_secure(make_mocked_request("GET", "/ui"))
        True
    """
    if request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https":
        return True
    try:
        return not ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return True


class LoginThrottle:
    """At most `failures` wrong master keys per address in `seconds`; then that address
    waits (`wait()` says how long). Keeps at most `MAX_SESSIONS` addresses.

    Example:
        >>> throttle = LoginThrottle(failures=2, seconds=60, clock=lambda: 0.0)
        >>> throttle.failed("10.0.0.1"); throttle.failed("10.0.0.1")
        >>> throttle.wait("10.0.0.1"), throttle.wait("10.0.0.2")
        (60.0, 0.0)
    """

    def __init__(
        self,
        *,
        failures: int = 10,
        seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures = failures
        self.seconds = check_seconds(seconds, "seconds")
        self._clock = clock
        self._seen: OrderedDict[str, list[float]] = OrderedDict()

    def _recent(self, address: str) -> list[float]:
        horizon = self._clock() - self.seconds
        times = [t for t in self._seen.get(address, []) if t > horizon]
        if times:
            self._seen[address] = times
        else:
            self._seen.pop(address, None)
        return times

    def wait(self, address: str) -> float:
        """Seconds `address` must wait before trying again (0: it may try now)."""
        times = self._recent(address)
        if len(times) < self.failures:
            return 0.0
        return max(0.0, times[-self.failures] + self.seconds - self._clock())

    def failed(self, address: str) -> None:
        """Count a wrong master key from `address`."""
        times = self._recent(address)
        times.append(self._clock())
        self._seen[address] = times
        self._seen.move_to_end(address)
        while len(self._seen) > MAX_SESSIONS:
            self._seen.popitem(last=False)
