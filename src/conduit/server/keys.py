"""Virtual keys on each gateway request: who is calling, may they call this model, and
the key's limits as the spine's pieces (`KeyGuard`).

Keys are looked up by the SHA-256 of the bearer secret (`conduit.storage.keys`), with a
short cache so a busy gateway reads its key table at most once per key per
`cache_seconds` (0.5 by default): a key revoked, changed or expired on any replica is
seen by every replica within a second. While the key table cannot be read (its database
is down), a key seen in the last ten minutes keeps working as it was; one not seen gets
503 (`conduit.server.dependencies`). An expired key (`expires_at`) is refused like a
revoked one.

`occupy` counts a key's requests in flight on this gateway: past its
`max_parallel_requests` (or the gateway's default), a request gets 429 at once, so one
key cannot take every connection and upstream slot.

A key's limits are not counted here but in the spine's stores, the same way on every
path (typed, forwarded, embeddings):

- `rpm`/`tpm` are two token buckets per key (`conduit.storage.buckets`, the mechanism of
  the `RateLimit` interceptor and the router): each holds a minute's worth and refills
  continuously. `admit` takes one request and the call's estimated tokens before
  anything is sent (429 when short, with the seconds until it would fit);
  `Admission.settle` corrects the estimate to the real usage after. The bucket store is
  shared: Redis across replicas, else the gateway's database.
- `max_budget` per `budget_window` is a `SpendLimit("key", key.id, ...)`
  (`spend_limits`), reserved and settled in a `SpendStore` by the `Budget` interceptor
  or the forwarding path.

Example:
    >>> import asyncio
    >>> from conduit.storage.keys_sqlite import SQLiteKeyStore
    >>> from conduit.storage.keys import new_key
    >>> async def main():
    ...     store = SQLiteKeyStore(":memory:")
    ...     key, secret = new_key(models=["chat"])
    ...     await store.add(key, secret)
    ...     guard = KeyGuard(store)
    ...     found = await guard.authenticate(f"Bearer {secret}")
    ...     await store.aclose()
    ...     return found.id == key.id
    >>> asyncio.run(main())
    True
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from conduit.server.dependencies import DependencyDown
from conduit.server.errors import GatewayError
from conduit.storage.buckets import Bucket, BucketStore, MemoryBuckets
from conduit.storage.keys import VirtualKey, hash_secret
from conduit.storage.spend import SpendLimit

if TYPE_CHECKING:
    from conduit.storage.keys import KeyStore

__all__ = ["Admission", "KeyGuard", "MASTER_KEY_ID", "OPEN_KEY", "spend_limits", "window_seconds"]

MASTER_KEY_ID = "master"
OPEN_KEY = VirtualKey(id="", prefix="")
"""The caller when the gateway runs with `require_key: false`: no limits, no key id."""

# The spelling `conduit keys create --budget-window` stores: a number and a unit.
_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, "w": 604_800.0}


def window_seconds(window: str | None) -> float | None:
    """A stored budget window (`"30d"`, `"1h"`, `"15m"`, `"90s"`, `"4w"`) in seconds;
    None: for ever.

    Example:
        >>> window_seconds("1d"), window_seconds(None)
        (86400.0, None)
    """
    if window is None:
        return None
    found = _WINDOW.match(window)
    if not found or float(found.group(1)) <= 0:
        raise GatewayError(
            f"this key's budget window {window!r} is not a length such as '30d' or '1h'; "
            "tell the gateway's operator",
            status=500,
            type="server_error",
        )
    return float(found.group(1)) * _UNITS[found.group(2)]


def spend_limits(key: VirtualKey) -> tuple[SpendLimit, ...]:
    """The spending limits a key brings: its `max_budget` per `budget_window`.

    Example:
        >>> spend_limits(VirtualKey(id="key_1", prefix="p", max_budget=5, budget_window="1h"))
        (SpendLimit(scope='key', name='key_1', max_usd=5.0, window=3600.0),)
    """
    if key.max_budget is None or not key.id:
        return ()
    return (SpendLimit("key", key.id, key.max_budget, window_seconds(key.budget_window)),)


_STALE_SECONDS = 600.0  # how long a cached key serves while the key table is down


def _bad_key(message: str) -> GatewayError:
    return GatewayError(message, status=401, type="invalid_request_error", code="invalid_api_key")


@dataclass(slots=True)
class Admission:
    """A request let through a key's rpm/tpm buckets: `settle(total_tokens)` corrects
    the tokens taken (`estimate`) to the real figure once known (only the first call
    counts). Unsettled, the estimate stands (a failed call keeps what it took, as the
    `RateLimit` interceptor does: the provider may have counted it)."""

    store: BucketStore
    tokens: Bucket | None
    estimate: int
    settled: bool = False

    async def settle(self, total_tokens: int) -> None:
        """Give back unused estimated tokens (or take the extra ones)."""
        if self.settled:
            return
        self.settled = True
        if self.tokens is not None and total_tokens != self.estimate:
            await self.store.give(self.tokens, self.estimate - total_tokens)


class KeyGuard:
    """Authenticates bearer keys and enforces each key's models and rpm/tpm (`buckets`:
    where the buckets live; in this process by default).

    Example:
        >>> from conduit.storage.keys_sqlite import SQLiteKeyStore
        >>> KeyGuard(SQLiteKeyStore(":memory:"), require_key=False).require_key
        False
    """

    def __init__(
        self,
        store: KeyStore,
        *,
        master_key: str | None = None,
        require_key: bool = True,
        cache_seconds: float = 0.5,
        buckets: BucketStore | None = None,
        clock: Callable[[], float] = time.time,
        max_parallel_requests: int | None = None,
    ) -> None:
        self.store = store
        self.require_key = require_key
        self._master_hash = hash_secret(master_key) if master_key else None
        self._cache_seconds = cache_seconds
        # digest -> (key or None, fresh until, fetched at)
        self._cache: dict[str, tuple[VirtualKey | None, float, float]] = {}
        self.buckets: BucketStore = MemoryBuckets() if buckets is None else buckets
        self._clock = clock
        self.max_parallel_requests = max_parallel_requests
        self.in_flight: dict[str, int] = {}

    def is_master(self, authorization: str | None) -> bool:
        """Whether an `Authorization` header carries the master key.

        Example:
            >>> from conduit.storage.keys_sqlite import SQLiteKeyStore
            >>> guard = KeyGuard(SQLiteKeyStore(":memory:"), master_key="sk-admin")
            >>> guard.is_master("Bearer sk-admin"), guard.is_master("Bearer sk-other")
            (True, False)
        """
        if self._master_hash is None or not authorization:
            return False
        scheme, _, secret = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            return False
        return hmac.compare_digest(hash_secret(secret.strip()), self._master_hash)

    async def _lookup(self, secret: str, digest: str) -> VirtualKey | None:
        now = self._clock()
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            key = await self.store.find(secret)
        except DependencyDown:
            # The key table is down: a key seen lately keeps working as it was.
            if cached is not None and cached[0] is not None and now - cached[2] < _STALE_SECONDS:
                return cached[0]
            raise
        # Kept even with no cache time: the last answer serves while the table is down.
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (key, now + self._cache_seconds, now)
        return key

    async def authenticate(self, authorization: str | None) -> VirtualKey:
        """The key for an `Authorization: Bearer …` header; 401 when missing or unknown."""
        if not authorization:
            if not self.require_key:
                return OPEN_KEY
            raise _bad_key(
                "You didn't provide an API key. Send your Conduit key as "
                "'Authorization: Bearer sk-cnd-…' (create one with `conduit keys create`)."
            )
        scheme, _, secret = authorization.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            raise _bad_key("The Authorization header must be 'Bearer <key>'.")
        digest = hash_secret(secret)
        if self._master_hash is not None and hmac.compare_digest(digest, self._master_hash):
            return VirtualKey(id=MASTER_KEY_ID, prefix="master")
        key = await self._lookup(secret, digest)
        if key is None or not key.active or key.expired(self._clock()):
            if not self.require_key:
                return OPEN_KEY
            # The prefix is safe to show and helps find which key a client holds.
            shown = secret[:11] + "…" if len(secret) > 11 else "(short)"
            state = (
                "is not a valid key"
                if key is None
                else "has been revoked"
                if not key.active
                else "has expired"
            )
            raise _bad_key(f"Incorrect API key provided: {shown} {state}.")
        return key

    def forget(self, key_id: str) -> None:
        """Drop a key from the cache (after revoking or changing it here)."""
        self._cache = {d: v for d, v in self._cache.items() if v[0] is None or v[0].id != key_id}

    def occupy(self, key: VirtualKey) -> bool:
        """Count one more request of `key` in flight here (429 when it has its
        `max_parallel_requests`, else the gateway's, in flight already); True when it
        was counted, and `vacate(key)` must count it out.

        Example:
            >>> from conduit.storage.keys_sqlite import SQLiteKeyStore
            >>> guard = KeyGuard(SQLiteKeyStore(":memory:"), max_parallel_requests=1)
            >>> key = VirtualKey(id="k", prefix="p")
            >>> guard.occupy(key)
            True
            >>> guard.occupy(key)
            Traceback (most recent call last):
            ...
            conduit.server.errors.GatewayError: [HTTP 429] this key has 1 requests in flight, its limit; retry when one ends
            >>> guard.vacate(key); guard.in_flight
            {}
        """  # noqa: E501
        limit = key.max_parallel_requests or self.max_parallel_requests
        if not key.id or limit is None:
            return False
        found = self.in_flight.get(key.id, 0)
        if found >= limit:
            raise GatewayError(
                f"this key has {found} requests in flight, its limit; retry when one ends",
                status=429,
                type="rate_limit_error",
                code="too_many_parallel_requests",
                retry_after=1,
            )
        self.in_flight[key.id] = found + 1
        return True

    def vacate(self, key: VirtualKey) -> None:
        """Count out a request `occupy` counted."""
        left = self.in_flight.get(key.id, 1) - 1
        if left > 0:
            self.in_flight[key.id] = left
        else:
            self.in_flight.pop(key.id, None)

    @staticmethod
    def check_model(key: VirtualKey, model: str) -> None:
        """403 when the key may not call `model`."""
        if not key.allows(model):
            raise GatewayError(
                f"this key may not call model {model!r}; it may call: {', '.join(key.models)}",
                status=403,
                type="permission_error",
                code="model_not_allowed",
                param="model",
            )

    @staticmethod
    def key_buckets(key: VirtualKey) -> tuple[Bucket | None, Bucket | None]:
        """The key's request and token buckets (None: no such limit): a minute's worth
        each, refilled continuously.

        Example:
            >>> KeyGuard.key_buckets(VirtualKey(id="k", prefix="p", rpm=60))[0]
            Bucket(key='key:k:requests', rate=1.0, capacity=60)
        """
        requests = tokens = None
        if key.rpm is not None:
            requests = Bucket(f"key:{key.id}:requests", rate=key.rpm / 60, capacity=key.rpm)
        if key.tpm is not None:
            tokens = Bucket(f"key:{key.id}:tokens", rate=key.tpm / 60, capacity=key.tpm)
        return requests, tokens

    async def admit(self, key: VirtualKey, tokens: int = 0) -> Admission | None:
        """Take one request and `tokens` (the call's estimate) from the key's buckets, or
        refuse with 429 and `Retry-After` before anything is sent; None when the key
        has no rpm/tpm."""
        requests, token_bucket = self.key_buckets(key)
        if requests is None and token_bucket is None:
            return None
        takes: list[tuple[Bucket, float]] = []
        if requests is not None:
            takes.append((requests, 1))
        if token_bucket is not None:
            takes.append((token_bucket, tokens))
        wait = await self.buckets.take(takes)
        if wait > 0.0:
            # Which limit is short (for the message; refusals only): when one request
            # alone fits, it was the tokens, and the probe's request goes back.
            short = "requests"
            if token_bucket is not None:
                if requests is None:
                    short = "tokens"
                elif await self.buckets.take([(requests, 1)]) == 0.0:
                    await self.buckets.give(requests, 1)
                    short = "tokens"
            what = (
                f"this key made its {key.rpm} requests per minute"
                if short == "requests"
                else f"this key used its {key.tpm} tokens per minute"
            )
            raise GatewayError(
                f"{what}; retry in {max(1, round(wait))}s",
                status=429,
                type="rate_limit_error",
                code="rate_limit_exceeded",
                retry_after=round(wait, 3),
            )
        return Admission(self.buckets, token_bucket, tokens)
