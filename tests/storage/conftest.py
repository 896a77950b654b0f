"""Fixtures for the storage tests: a real redis-server for the session, a client per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio

from tests.storage.redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[redis.asyncio.Redis]:
    """A client on this test's event loop, on an empty database."""
    client = redis.asyncio.Redis.from_url(redis_server.url)
    await client.flushdb()
    yield client
    await client.aclose()
