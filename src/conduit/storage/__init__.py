"""Storage: small protocols with an embedded default and shared backends.

Cache backends (`CacheBackend`): `MemoryCache` (in-process LRU, the default),
`SQLiteCache` (persistent, embedded) and `RedisCache` (shared across processes).
Rate-limit buckets (`BucketStore`): `MemoryBuckets`, `SQLiteBuckets`, `PostgresBuckets`
and `RedisBuckets` (`open_bucket_store(url)`). Spending limits with reserve -> settle
(`SpendStore`, `SpendLimit`, `Reservation`): `MemorySpendStore`, `SQLiteSpendStore`,
`PostgresSpendStore` and `RedisSpendStore` (`open_spend_store(url)`). Graph-run
checkpoints (`CheckpointStore`, for `conduit.flow`): `MemoryCheckpointStore` and
`SQLiteCheckpointStore` (the default). SQL lives only here; the `redis` package is
imported only when a Redis store is made.

Example:
    >>> import asyncio
    >>> from conduit.storage import MemoryCache
    >>> cache = MemoryCache()
    >>> asyncio.run(cache.set("k", b"v")); asyncio.run(cache.get("k"))
    b'v'
"""

from conduit.storage.buckets import Bucket, BucketStore, MemoryBuckets, open_bucket_store
from conduit.storage.buckets_postgres import PostgresBuckets
from conduit.storage.buckets_sqlite import SQLiteBuckets
from conduit.storage.cache import CacheBackend, MemoryCache
from conduit.storage.checkpoints import Checkpoint, CheckpointStore, MemoryCheckpointStore
from conduit.storage.checkpoints_sqlite import SQLiteCheckpointStore
from conduit.storage.redis import RedisBuckets, RedisCache
from conduit.storage.router_state import (
    MemoryRouterState,
    PerLoopBuckets,
    RedisRouterState,
    RouterState,
)
from conduit.storage.spend import (
    MemorySpendStore,
    Reservation,
    SpendLimit,
    SpendStore,
    open_spend_store,
)
from conduit.storage.spend_postgres import PostgresSpendStore
from conduit.storage.spend_redis import RedisSpendStore
from conduit.storage.spend_sqlite import SQLiteSpendStore
from conduit.storage.sqlite import SQLiteCache

__all__ = [
    "Bucket",
    "BucketStore",
    "CacheBackend",
    "Checkpoint",
    "CheckpointStore",
    "MemoryBuckets",
    "MemoryCache",
    "MemoryCheckpointStore",
    "MemoryRouterState",
    "MemorySpendStore",
    "PerLoopBuckets",
    "PostgresBuckets",
    "PostgresSpendStore",
    "RedisBuckets",
    "RedisCache",
    "RedisRouterState",
    "RedisSpendStore",
    "Reservation",
    "RouterState",
    "SQLiteBuckets",
    "SQLiteCache",
    "SQLiteCheckpointStore",
    "SQLiteSpendStore",
    "SpendLimit",
    "SpendStore",
    "open_bucket_store",
    "open_spend_store",
]
