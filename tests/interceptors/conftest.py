"""Fixtures for the interceptor tests: a real redis-server (see tests/storage)."""

from __future__ import annotations

from tests.storage.conftest import redis_client, redis_server

__all__ = ["redis_client", "redis_server"]
