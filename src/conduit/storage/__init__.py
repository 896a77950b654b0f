"""Storage: small protocols with an embedded default and shared backends.

Cache backends (`CacheBackend`): `MemoryCache` (in-process LRU, the default),
`SQLiteCache` (persistent, embedded) and `RedisCache` (shared across processes).
Rate-limit buckets (`BucketStore`): `MemoryBuckets` and `RedisBuckets`. Graph-run
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

from conduit.storage.buckets import Bucket, BucketStore, MemoryBuckets
from conduit.storage.cache import CacheBackend, MemoryCache
from conduit.storage.checkpoints import Checkpoint, CheckpointStore, MemoryCheckpointStore
from conduit.storage.checkpoints_sqlite import SQLiteCheckpointStore
from conduit.storage.redis import RedisBuckets, RedisCache
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
    "RedisBuckets",
    "RedisCache",
    "SQLiteCache",
    "SQLiteCheckpointStore",
]
