"""What the gateway depends on (its database, Redis, the usage ledger), and how it fails
when one of them is down: clearly, for the requests that need it, and not at all for
the others.

Each `Dependency` knows whether it answers. The first failure that means "unreachable"
(`unreachable(exc)`: refused or reset connections, timeouts, a server shutting down)
marks it down and writes **one** log line; while it is down, requests do not wait on it:
at most one call a second goes through to probe it, and the first that succeeds marks it
up again (one more line, with how long the outage lasted and how many requests it
refused).

The gateway's stores are wrapped so that an outage becomes a clear answer:

- `GuardedKeyStore`, `GuardedSpendStore`, `GuardedBuckets` raise `DependencyDown`: HTTP
  503 with `Retry-After` and `{"error": {..., "code": "dependency_unavailable",
  "dependency": "redis"}}`, only for the requests that need that store: a key with no
  rpm/tpm never touches the buckets, one with no budget never touches the spend store.
- A limit may be configured to **fail open** (`server.fail_open: [rpm, tpm, budget]`):
  while its store is down such a limit is not counted, and requests go through.
- The router's shared state and deployment buckets (`FailoverRouterState`,
  `FailoverBuckets`) fall back to this process's memory during an outage: routing goes
  on, with cooldowns and deployment limits counted per replica until Redis is back.

Example:
    >>> import asyncio
    >>> redis = Dependency("redis", "redis")
    >>> async def refused():
    ...     raise ConnectionRefusedError("connection refused")
    >>> async def main():
    ...     try:
    ...         await redis.call(refused)
    ...     except DependencyDown as exc:
    ...         return exc.status, exc.dependency, redis.up
    >>> asyncio.run(main())
    (503, 'redis', False)
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from conduit.errors import StorageError
from conduit.server.errors import GatewayError
from conduit.storage.buckets import Bucket, BucketStore, MemoryBuckets
from conduit.storage.router_state import MemoryRouterState, RouterState
from conduit.storage.spend import Reservation, SpendLimit, SpendStore

if TYPE_CHECKING:
    from conduit.storage.keys import KeyStore, VirtualKey

__all__ = [
    "Dependency",
    "DependencyDown",
    "FAIL_OPEN_LIMITS",
    "FailoverBuckets",
    "FailoverRouterState",
    "GuardedBuckets",
    "GuardedKeyStore",
    "GuardedSpendStore",
    "RETRY_AFTER",
    "kind_of",
    "unreachable",
]

_log = logging.getLogger("conduit.server.dependencies")
_T = TypeVar("_T")

FAIL_OPEN_LIMITS = frozenset({"rpm", "tpm", "budget"})
"""The limits `server.fail_open` may name."""
RETRY_AFTER = 5
"""Seconds a 503 for a dependency that is down asks the client to wait."""
_PROBE_EVERY = 1.0  # seconds between calls that test a dependency that is down
_CALL_TIMEOUT = 10.0  # a dependency that does not answer in this long is down


def kind_of(url: str) -> str:
    """What a store URL points at: `postgresql`, `redis` or `sqlite`.

    Example:
        >>> kind_of("postgresql://db/x"), kind_of("redis://r:6379"), kind_of("/tmp/g.db")
        ('postgresql', 'redis', 'sqlite')
    """
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql"
    if url.startswith(("redis://", "rediss://", "unix://")):
        return "redis"
    return "sqlite"


def unreachable(exc: BaseException) -> bool:
    """Whether `exc` means a store could not be reached (down, restarting, refusing or
    dropping connections, too slow), as opposed to a refusal such as a spent budget.

    Example:
        >>> unreachable(ConnectionRefusedError()), unreachable(ValueError())
        (True, False)
    """
    if isinstance(exc, OSError | TimeoutError | EOFError):
        return True
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc)
        return "locked" in text or "unable to open" in text or "disk" in text
    if isinstance(exc, StorageError) and exc.__cause__ is not None:
        return unreachable(exc.__cause__)
    module = type(exc).__module__
    if module.startswith("redis") and "redis.exceptions" in sys.modules:
        import redis.exceptions

        return isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError)
    if module.startswith("asyncpg") and "asyncpg" in sys.modules:
        import asyncpg  # type: ignore[import-untyped,unused-ignore]

        return isinstance(
            exc,
            asyncpg.PostgresConnectionError
            | asyncpg.InterfaceError
            | asyncpg.OperatorInterventionError
            | asyncpg.InsufficientResourcesError,
        )
    return False


class DependencyDown(GatewayError):
    """A request needs a store that is down: 503, `Retry-After`, and which one.

    Example:
        >>> DependencyDown("redis", "redis").payload()["error"]["dependency"]
        'redis'
    """

    def __init__(self, name: str, kind: str) -> None:
        super().__init__(
            f"the gateway's {name} ({kind}) is unreachable, and this request needs it; "
            f"retry in a few seconds",
            status=503,
            type="service_unavailable",
            code="dependency_unavailable",
            retry_after=RETRY_AFTER,
        )
        self.dependency = name

    def payload(self) -> dict[str, Any]:
        """The error's JSON, with `dependency` naming what is down."""
        body = super().payload()
        body["error"]["dependency"] = self.dependency
        return body


class Dependency:
    """One store the gateway needs (`name`: its role, `database`, `redis` or `ledger`;
    `kind`: `postgresql`, `redis` or `sqlite`): up or down, with one log line per
    outage (see the module's text). `clock` is monotonic seconds.

    Example:
        >>> Dependency("database", "sqlite").state()
        {'kind': 'sqlite', 'status': 'up'}
    """

    def __init__(
        self, name: str, kind: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.name = name
        self.kind = kind
        self.down_since: float | None = None
        self.refused = 0  # requests answered 503 (or let through) during this outage
        self.error = ""
        self._next_probe = 0.0
        self._clock = clock

    @property
    def up(self) -> bool:
        """Whether the last call reached it."""
        return self.down_since is None

    def state(self) -> dict[str, Any]:
        """What `/health/readiness` shows for it."""
        out: dict[str, Any] = {"kind": self.kind, "status": "up" if self.up else "down"}
        if self.down_since is not None:
            out["down_seconds"] = round(self._clock() - self.down_since, 3)
            out["error"] = self.error
        return out

    def may_try(self) -> bool:
        """Whether a call should go through now: always while up; once a second while
        down (the probe that notices it is back)."""
        if self.down_since is None:
            return True
        now = self._clock()
        if now >= self._next_probe:
            self._next_probe = now + _PROBE_EVERY
            return True
        return False

    def failed(self, exc: BaseException) -> None:
        """A call could not reach it: the outage starts (and is logged) or goes on."""
        if self.down_since is None:
            self.down_since = self._clock()
            self._next_probe = self.down_since + _PROBE_EVERY
            self.refused = 0
            self.error = f"{type(exc).__name__}: {exc}"[:300]
            _log.warning(
                "the gateway's %s (%s) is unreachable (%s); requests that need it get "
                "503 until it answers again",
                self.name,
                self.kind,
                self.error,
            )

    def reached(self) -> None:
        """A call reached it: an outage ends (and is logged)."""
        if self.down_since is not None:
            lasted = self._clock() - self.down_since
            self.down_since = None
            _log.warning(
                "the gateway's %s (%s) answers again after %.1f s (%d requests were "
                "refused or let through meanwhile)",
                self.name,
                self.kind,
                lasted,
                self.refused,
            )

    def down(self) -> DependencyDown:
        """The error for a request that needs it while it is down."""
        self.refused += 1
        return DependencyDown(self.name, self.kind)

    async def call(self, work: Callable[..., Awaitable[_T]], *args: Any) -> _T:
        """`await work(*args)`, or `DependencyDown` when it is (or turns out) down."""
        if not self.may_try():
            raise self.down()
        try:
            async with asyncio.timeout(_CALL_TIMEOUT):
                result = await work(*args)
        except Exception as exc:
            if not unreachable(exc):
                self.reached()
                raise
            self.failed(exc)
            raise self.down() from exc
        self.reached()
        return result


class GuardedKeyStore:
    """A `KeyStore` whose outages are `DependencyDown` (see the module's text).

    Example:
        >>> from conduit.storage.keys_sqlite import SQLiteKeyStore
        >>> GuardedKeyStore(SQLiteKeyStore(":memory:"), Dependency("database", "sqlite"))
        GuardedKeyStore(SQLiteKeyStore(':memory:'))
    """

    def __init__(self, store: KeyStore, dependency: Dependency) -> None:
        self.store = store
        self.dependency = dependency

    async def add(self, key: VirtualKey, secret: str) -> None:
        """Keep a new key (see `KeyStore.add`)."""
        await self.dependency.call(self.store.add, key, secret)

    async def find(self, secret: str) -> VirtualKey | None:
        """The key with this secret (see `KeyStore.find`)."""
        return await self.dependency.call(self.store.find, secret)

    async def get(self, key_id: str) -> VirtualKey | None:
        """The key with this id (see `KeyStore.get`)."""
        return await self.dependency.call(self.store.get, key_id)

    async def list(self, *, include_revoked: bool = False) -> list[VirtualKey]:
        """Keys, oldest first (see `KeyStore.list`)."""

        async def listed() -> list[VirtualKey]:
            return await self.store.list(include_revoked=include_revoked)

        return await self.dependency.call(listed)

    async def revoke(self, key_id: str) -> bool:
        """Revoke a key (see `KeyStore.revoke`)."""
        return await self.dependency.call(self.store.revoke, key_id)

    async def update(self, key_id: str, **fields: Any) -> VirtualKey | None:
        """Change a key's fields (see `KeyStore.update`)."""

        async def updated() -> VirtualKey | None:
            return await self.store.update(key_id, **fields)

        return await self.dependency.call(updated)

    async def aclose(self) -> None:
        """Close the store."""
        await self.store.aclose()

    def __repr__(self) -> str:
        return f"GuardedKeyStore({self.store!r})"


_FAILED_OPEN = "fail-open"


class GuardedSpendStore:
    """A `SpendStore` whose outages are `DependencyDown`, or, with `fail_open`, a
    reservation that holds nothing (the call goes on uncounted; see the module's text).

    Example:
        >>> from conduit.storage.spend import MemorySpendStore
        >>> GuardedSpendStore(MemorySpendStore(), Dependency("database", "sqlite"))
        GuardedSpendStore(MemorySpendStore(0 limits))
    """

    def __init__(self, store: SpendStore, dependency: Dependency, *, fail_open: bool = False):
        self.store = store
        self.dependency = dependency
        self.fail_open = fail_open

    async def reserve(self, limits: Sequence[SpendLimit], amount: float) -> Reservation:
        """Hold `amount` under every limit (see `SpendStore.reserve`)."""
        try:
            return await self.dependency.call(self.store.reserve, limits, amount)
        except DependencyDown:
            if not self.fail_open:
                raise
            now = time.time()
            return Reservation(_FAILED_OPEN, 0.0, tuple(limits), now, now)

    async def settle(self, reservation: Reservation, actual_usd: float) -> None:
        """Replace the hold by the real cost (see `SpendStore.settle`)."""
        if reservation.id != _FAILED_OPEN:
            await self.dependency.call(self.store.settle, reservation, actual_usd)

    async def release(self, reservation: Reservation) -> None:
        """Drop the hold (see `SpendStore.release`)."""
        await self.settle(reservation, 0.0)

    async def spent(self, limit: SpendLimit) -> float:
        """Settled spend plus holds (see `SpendStore.spent`)."""
        return await self.dependency.call(self.store.spent, limit)

    async def aclose(self) -> None:
        """Close the store."""
        await self.store.aclose()

    def __repr__(self) -> str:
        return f"GuardedSpendStore({self.store!r})"


def limit_of(bucket: Bucket) -> str:
    """Which key limit a bucket counts (`rpm`, `tpm`), from its name.

    Example:
        >>> limit_of(Bucket("key:k1:tokens", rate=1, capacity=60))
        'tpm'
    """
    return "tpm" if bucket.key.endswith(":tokens") else "rpm"


class GuardedBuckets:
    """A `BucketStore` whose outages are `DependencyDown`, unless every bucket of a take
    counts a limit in `fail_open` (then the take is let through uncounted).

    Example:
        >>> GuardedBuckets(MemoryBuckets(), Dependency("redis", "redis"), fail_open={"rpm"})
        GuardedBuckets(MemoryBuckets(0 buckets))
    """

    def __init__(
        self, store: BucketStore, dependency: Dependency, *, fail_open: frozenset[str] | set[str]
    ) -> None:
        self.store = store
        self.dependency = dependency
        self.fail_open = frozenset(fail_open)

    async def take(self, takes: Sequence[tuple[Bucket, float]]) -> float:
        """Take every amount or none (see `BucketStore.take`)."""
        try:
            return await self.dependency.call(self.store.take, takes)
        except DependencyDown:
            if all(limit_of(bucket) in self.fail_open for bucket, _ in takes):
                return 0.0
            raise

    async def give(self, bucket: Bucket, amount: float) -> None:
        """Put `amount` back (see `BucketStore.give`)."""
        await self.dependency.call(self.store.give, bucket, amount)

    async def aclose(self) -> None:
        """Close the store."""
        await self.store.aclose()

    def __repr__(self) -> str:
        return f"GuardedBuckets({self.store!r})"


class FailoverRouterState:
    """The router's shared state (`primary`, Redis) with this process's memory as a
    stand-in while it is down.

    Example:
        >>> import asyncio
        >>> state = FailoverRouterState(MemoryRouterState(), Dependency("redis", "redis"))
        >>> asyncio.run(state.incr("k", 1, 60))
        1
    """

    def __init__(self, primary: RouterState, dependency: Dependency) -> None:
        self.primary = primary
        self.dependency = dependency
        self.standby = MemoryRouterState()

    async def _either(self, name: str, *args: Any) -> Any:
        try:
            return await self.dependency.call(getattr(self.primary, name), *args)
        except DependencyDown:
            return await getattr(self.standby, name)(*args)

    async def incr(self, key: str, amount: int, ttl: float) -> int:
        """See `RouterState.incr`."""
        found: int = await self._either("incr", key, amount, ttl)
        return found

    async def get_many(self, keys: Sequence[str]) -> list[int]:
        """See `RouterState.get_many`."""
        found: list[int] = await self._either("get_many", keys)
        return found

    async def cool(self, key: str, seconds: float) -> None:
        """See `RouterState.cool`."""
        await self._either("cool", key, seconds)

    async def cooling(self, keys: Sequence[str]) -> list[bool]:
        """See `RouterState.cooling`."""
        found: list[bool] = await self._either("cooling", keys)
        return found

    async def aclose(self) -> None:
        """Close the primary's client."""
        close = getattr(self.primary, "aclose", None)
        if close is not None:
            await close()

    def __repr__(self) -> str:
        return f"FailoverRouterState({self.primary!r})"


class FailoverBuckets:
    """The router's deployment rpm/tpm buckets (`primary`, Redis) with buckets in this
    process's memory as a stand-in while it is down.

    Example:
        >>> FailoverBuckets(MemoryBuckets(), Dependency("redis", "redis"))
        FailoverBuckets(MemoryBuckets(0 buckets))
    """

    def __init__(self, primary: BucketStore, dependency: Dependency) -> None:
        self.primary = primary
        self.dependency = dependency
        self.standby = MemoryBuckets()

    async def take(self, takes: Sequence[tuple[Bucket, float]]) -> float:
        """See `BucketStore.take`."""
        try:
            return await self.dependency.call(self.primary.take, takes)
        except DependencyDown:
            return await self.standby.take(takes)

    async def give(self, bucket: Bucket, amount: float) -> None:
        """See `BucketStore.give`."""
        try:
            await self.dependency.call(self.primary.give, bucket, amount)
        except DependencyDown:
            await self.standby.give(bucket, amount)

    async def aclose(self) -> None:
        """Close the primary."""
        await self.primary.aclose()

    def __repr__(self) -> str:
        return f"FailoverBuckets({self.primary!r})"
