"""Virtual-key checks for each gateway request: who is calling, may they call this model,
are they within their requests/tokens per minute and their budget.

Keys are looked up by the SHA-256 of the bearer secret (`conduit.storage.keys`), with a
short cache so a busy gateway reads its key table rarely; a key revoked elsewhere stops
working within `cache_seconds`. Per-minute counts live in the router's state (memory, or
Redis so every replica counts the same requests); spend comes from the usage ledger
(SQLite or PostgreSQL), so a budget holds across replicas and restarts.

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

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from conduit.server.errors import GatewayError
from conduit.storage.keys import VirtualKey, hash_secret

if TYPE_CHECKING:
    from conduit.compat.budgeting import SpendLedger
    from conduit.compat.router import RouterState
    from conduit.storage.keys import KeyStore

__all__ = ["KeyGuard", "MASTER_KEY_ID", "OPEN_KEY"]

MASTER_KEY_ID = "master"
OPEN_KEY = VirtualKey(id="", prefix="")
"""The caller when the gateway runs with `require_key: false`: no limits, no key id."""


def _bad_key(message: str) -> GatewayError:
    return GatewayError(message, status=401, type="invalid_request_error", code="invalid_api_key")


class KeyGuard:
    """Authenticates bearer keys and enforces each key's models, rpm/tpm and budget.

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
        state: RouterState | None = None,
        ledger: SpendLedger | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        from conduit.compat.router import MemoryRouterState

        self.store = store
        self.require_key = require_key
        self._master_hash = hash_secret(master_key) if master_key else None
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[VirtualKey | None, float]] = {}
        self.state: RouterState = state or MemoryRouterState()
        self.ledger = ledger
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

    def _minute(self) -> int:
        return int(self._clock() // 60)

    async def admit(self, key: VirtualKey) -> None:
        """Count one request against the key's rpm and check its tpm and budget; 429
        when a limit is reached (the request is refused before anything is sent)."""
        if key.rpm is None and key.tpm is None and key.max_budget is None:
            return
        minute = self._minute()
        wait = round(60 - self._clock() % 60, 3)
        if key.tpm is not None:
            (used,) = await self.state.get_many([f"key-tpm:{key.id}:{minute}"])
            if used >= key.tpm:
                raise GatewayError(
                    f"this key used its {key.tpm} tokens per minute; retry in {wait:.0f}s",
                    status=429,
                    type="rate_limit_error",
                    code="rate_limit_exceeded",
                    retry_after=wait,
                )
        if key.rpm is not None:
            count = await self.state.incr(f"key-rpm:{key.id}:{minute}", 1, 60)
            if count > key.rpm:
                raise GatewayError(
                    f"this key made its {key.rpm} requests this minute; retry in {wait:.0f}s",
                    status=429,
                    type="rate_limit_error",
                    code="rate_limit_exceeded",
                    retry_after=wait,
                )
        if key.max_budget is not None and self.ledger is not None:
            from conduit.compat.budgeting import Budgets

            budgets = Budgets(ledger=self.ledger, clock=self._clock)
            budgets.set("key", key.id, key.max_budget, window=key.budget_window)
            await budgets.check(key=key.id)

    async def used_tokens(self, key: VirtualKey, tokens: int) -> None:
        """Count an answer's tokens against the key's tokens per minute."""
        if key.tpm is not None and tokens:
            await self.state.incr(f"key-tpm:{key.id}:{self._minute()}", tokens, 60)
