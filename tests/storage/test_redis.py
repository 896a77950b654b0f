"""The Redis stores against a real redis-server: prefixes, clients, the missing package."""

from __future__ import annotations

import sys

import pytest
import redis.asyncio

from conduit.errors import MissingDependencyError
from conduit.storage import RedisBuckets, RedisCache
from tests.storage.redis_server import RedisServer


async def test_clear_removes_only_this_prefix(redis_client: redis.asyncio.Redis) -> None:
    cache = RedisCache(redis_client, prefix="app[1]:")  # glob characters are escaped
    await redis_client.set("app1:other", b"keep")
    await redis_client.set("unrelated", b"keep")
    for i in range(1200):  # more than one batch of deletes
        await cache.set(f"k{i}", b"v")
    await cache.clear()
    assert await cache.get("k0") is None
    assert await redis_client.get("app1:other") == b"keep"
    assert await redis_client.get("unrelated") == b"keep"


async def test_keys_carry_the_prefix_and_a_ttl(redis_client: redis.asyncio.Redis) -> None:
    cache = RedisCache(redis_client)
    await cache.set("k", b"v", ttl=30)
    assert await redis_client.get("conduit:cache:k") == b"v"
    assert 29_000 < await redis_client.pttl("conduit:cache:k") <= 30_000


async def test_a_decoding_client_still_gives_bytes(redis_server: RedisServer) -> None:
    client = redis.asyncio.Redis.from_url(redis_server.url, decode_responses=True)
    cache = RedisCache(client, prefix="dec:")
    await cache.set("k", "héllo".encode())
    assert await cache.get("k") == "héllo".encode()
    await cache.delete("k")
    await client.aclose()


async def test_a_store_made_from_a_url_owns_and_closes_its_client(
    redis_server: RedisServer,
) -> None:
    cache = RedisCache(url=redis_server.url, prefix="own:")
    await cache.set("k", b"v")
    assert await cache.get("k") == b"v"
    await cache.aclose()
    assert repr(cache) == "RedisCache(prefix='own:')"


async def test_a_client_passed_in_stays_open(redis_client: redis.asyncio.Redis) -> None:
    cache = RedisCache(redis_client)
    await cache.aclose()
    assert await redis_client.ping()


async def test_older_clients_are_closed_with_close(redis_server: RedisServer) -> None:
    class OldClient:
        closed = False

        def register_script(self, script: str) -> object:
            return object()

        async def close(self) -> None:
            self.closed = True

    from conduit.storage import redis as redis_module

    old = OldClient()
    await redis_module._close(old)
    assert old.closed


def test_without_the_redis_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    with pytest.raises(MissingDependencyError, match=r"conduit\[redis\]"):
        RedisCache()
    with pytest.raises(MissingDependencyError):
        RedisBuckets()
