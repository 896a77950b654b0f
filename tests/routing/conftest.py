"""Fixtures for the routing tests: the storage tests' real redis-server, and helpers."""

from __future__ import annotations

from tests.storage.conftest import redis_client, redis_server

__all__ = ["redis_client", "redis_server"]
