"""Virtual keys on each gateway request: who is calling, may they call this model, and
the key's limits as the spine's pieces (`KeyGuard`).

Keys are looked up by the SHA-256 of the bearer secret (`conduit.storage.keys`), with a
short cache so a busy gateway reads its key table rarely; a key revoked elsewhere stops
working within `cache_seconds`.

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

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

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
        cache_seconds: float = 5.0,
        buckets: BucketStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.require_key = require_key
        self._master_hash = hash_secret(master_key) if master_key else None
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[VirtualKey | None, float]] = {}
        self.buckets: BucketStore = MemoryBuckets() if buckets is None else buckets
        self._clock = clock

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
        if digest == self._master_hash:
            return VirtualKey(id=MASTER_KEY_ID, prefix="master")
        now = self._clock()
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > now:
            key = cached[0]
        else:
            key = await self.store.find(secret)
            if self._cache_seconds > 0:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[digest] = (key, now + self._cache_seconds)
        if key is None or not key.active:
            if not self.require_key:
                return OPEN_KEY
            # The prefix is safe to show and helps find which key a client holds.
            shown = secret[:11] + "…" if len(secret) > 11 else "(short)"
            state = "has been revoked" if key is not None else "is not a valid key"
            raise _bad_key(f"Incorrect API key provided: {shown} {state}.")
        return key

    def forget(self, key_id: str) -> None:
        """Drop a key from the cache (after revoking it here)."""
        self._cache = {d: v for d, v in self._cache.items() if v[0] is None or v[0].id != key_id}

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
