"""Redis storage: a cache and token buckets shared by every process that uses one server.

(Spending limits in Redis: `conduit.storage.spend_redis.RedisSpendStore`.)

Uses `redis.asyncio` from the `redis` package (`pip install 'conduit[redis]'`), imported
when a store is made, not at `import conduit`. Pass your own `redis.asyncio.Redis`
client, or a URL (the store then owns the client and closes it in `aclose()`). A client
belongs to the event loop it was first used on: make one per loop.

Example:
    >>> store = RedisCache(url="redis://127.0.0.1:6379/0", prefix="myapp:cache:")
    >>> store.prefix
    'myapp:cache:'
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from conduit.errors import MissingDependencyError
from conduit.storage.buckets import Bucket, check_amount, check_takes
from conduit.storage.cache import check_ttl

if TYPE_CHECKING:
    import redis.asyncio

__all__ = ["RedisBuckets", "RedisCache"]

_DEFAULT_URL = "redis://127.0.0.1:6379/0"
_GLOB = re.compile(r"([*?\[\]\\])")

# Token-bucket arithmetic of conduit.storage.buckets, atomically in Redis, on the server's
# clock (TIME), so every process sees one bucket. All buckets or none are taken. Levels
# and timestamps are stored as strings: Lua numbers returned to Redis become integers.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local levels = {}
local wait = 0
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[3 * i - 2])
  local capacity = tonumber(ARGV[3 * i - 1])
  local amount = tonumber(ARGV[3 * i])
  local state = redis.call('HMGET', key, 'level', 'ts')
  local level = tonumber(state[1])
  if level == nil then
    level = capacity
  else
    level = math.min(capacity, level + math.max(now - tonumber(state[2]), 0) * rate)
  end
  levels[i] = level
  local need = math.min(amount, capacity)
  if level < need then
    wait = math.max(wait, (need - level) / rate)
  end
end
if wait > 0 then
  return string.format('%.17g', wait)
end
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[3 * i - 2])
  local capacity = tonumber(ARGV[3 * i - 1])
  local level = levels[i] - tonumber(ARGV[3 * i])
  redis.call('HSET', key, 'level', string.format('%.17g', level), 'ts', string.format('%.6f', now))
  redis.call('PEXPIRE', key, math.ceil((capacity - level) / rate * 1000) + 1000)
end
return '0'
"""

_GIVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'level', 'ts')
local level = tonumber(state[1])
if level == nil then
  level = capacity
else
  level = math.min(capacity, level + math.max(now - tonumber(state[2]), 0) * rate)
end
level = math.min(capacity, level + tonumber(ARGV[3]))
local stamp = string.format('%.6f', now)
redis.call('HSET', KEYS[1], 'level', string.format('%.17g', level), 'ts', stamp)
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - level) / rate * 1000) + 1000)
return string.format('%.17g', level)
"""


def _connect(url: str) -> redis.asyncio.Redis:
    try:
        import redis.asyncio as aioredis
    except ImportError as exc:
        raise MissingDependencyError(
            "the Redis stores need the redis package: pip install 'conduit[redis]'"
        ) from exc
    return aioredis.Redis.from_url(url)


async def _close(client: Any) -> None:
    # `aclose` since redis 5.0.1; `close` before (deprecated after).
    close = getattr(client, "aclose", None) or client.close
    await close()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class _RedisStore:
    def __init__(self, client: redis.asyncio.Redis | None, url: str, prefix: str) -> None:
        self._owns = client is None
        self.client = _connect(url) if client is None else client
        self.prefix = prefix

    async def aclose(self) -> None:
        """Close the client if this store made it (a client you passed stays open)."""
        if self._owns:
            await _close(self.client)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prefix={self.prefix!r})"


class RedisCache(_RedisStore):
    """A cache in Redis, shared across processes; entries expire in Redis itself.

    Keys are `prefix + key`; `clear()` removes only keys under this prefix.

    Example:
        >>> RedisCache(url="redis://127.0.0.1:6379/0").prefix
        'conduit:cache:'
    """

    def __init__(
        self,
        client: redis.asyncio.Redis | None = None,
        *,
        url: str = _DEFAULT_URL,
        prefix: str = "conduit:cache:",
    ) -> None:
        super().__init__(client, url, prefix)

    async def get(self, key: str) -> bytes | None:
        """The value under `key`, or None when it is missing or expired."""
        value = await self.client.get(self.prefix + key)
        if value is None or isinstance(value, bytes):
            return value
        return str(value).encode()  # a client made with decode_responses=True

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store `value`; Redis drops it after `ttl` seconds (millisecond precision)."""
        check_ttl(ttl)
        px = None if ttl is None else max(1, math.ceil(ttl * 1000))
        await self.client.set(self.prefix + key, value, px=px)

    async def delete(self, key: str) -> None:
        """Forget `key`."""
        await self.client.delete(self.prefix + key)

    async def clear(self) -> None:
        """Delete every key under this cache's prefix (SCAN, never KEYS)."""
        pattern = _GLOB.sub(r"\\\1", self.prefix) + "*"
        batch: list[Any] = []
        async for key in self.client.scan_iter(match=pattern, count=500):
            batch.append(key)
            if len(batch) >= 500:
                await self.client.delete(*batch)
                batch.clear()
        if batch:
            await self.client.delete(*batch)


class RedisBuckets(_RedisStore):
    """Token buckets in Redis: every process using the same server and prefix shares one
    limit. Each take is one atomic script on the server's clock.

    Example:
        >>> RedisBuckets(url="redis://127.0.0.1:6379/0").prefix
        'conduit:ratelimit:'
    """

    def __init__(
        self,
        client: redis.asyncio.Redis | None = None,
        *,
        url: str = _DEFAULT_URL,
        prefix: str = "conduit:ratelimit:",
    ) -> None:
        super().__init__(client, url, prefix)
        # register_script sends EVALSHA and falls back to EVAL when the server lacks it.
        self._take = self.client.register_script(_TAKE)
        self._give = self.client.register_script(_GIVE)

    async def take(self, takes: Sequence[tuple[Bucket, float]]) -> float:
        """Take every amount or none; 0.0, or the seconds to wait (see `BucketStore`)."""
        check_takes(takes)
        if not takes:
            return 0.0
        keys = [self.prefix + bucket.key for bucket, _ in takes]
        args: list[float] = []
        for bucket, amount in takes:
            args += [bucket.rate, bucket.capacity, amount]
        return float(_text(await self._take(keys=keys, args=args)))

    async def give(self, bucket: Bucket, amount: float) -> None:
        """Put `amount` back (negative takes more); see `BucketStore.give`."""
        amount = check_amount(amount, "amount", signed=True)
        await self._give(
            keys=[self.prefix + bucket.key], args=[bucket.rate, bucket.capacity, amount]
        )

    async def level(self, bucket: Bucket) -> float:
        """The bucket's level now (a zero `give`); negative while in debt."""
        return float(
            _text(
                await self._give(
                    keys=[self.prefix + bucket.key], args=[bucket.rate, bucket.capacity, 0]
                )
            )
        )
