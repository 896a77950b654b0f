"""The in-memory LRU cache: eviction order and limits."""

from __future__ import annotations

import pytest

from conduit.errors import ValidationError
from conduit.storage import MemoryCache


async def test_least_recently_used_goes_first() -> None:
    cache = MemoryCache(max_entries=2)
    await cache.set("a", b"1")
    await cache.set("b", b"2")
    assert await cache.get("a") == b"1"  # a is now the most recent
    await cache.set("c", b"3")
    assert await cache.get("b") is None
    assert await cache.get("a") == b"1"
    assert await cache.get("c") == b"3"
    assert len(cache) == 2


async def test_rewriting_a_key_makes_it_recent() -> None:
    cache = MemoryCache(max_entries=2)
    await cache.set("a", b"1")
    await cache.set("b", b"2")
    await cache.set("a", b"1again")
    await cache.set("c", b"3")
    assert await cache.get("a") == b"1again"
    assert await cache.get("b") is None


async def test_expired_entry_is_dropped_when_read() -> None:
    now = [0.0]
    cache = MemoryCache(clock=lambda: now[0])
    await cache.set("k", b"v", ttl=1)
    now[0] = 0.999
    assert await cache.get("k") == b"v"
    now[0] = 1.0
    assert await cache.get("k") is None
    assert len(cache) == 0


def test_needs_room_for_one_entry() -> None:
    with pytest.raises(ValidationError, match="max_entries"):
        MemoryCache(max_entries=0)


def test_repr() -> None:
    assert repr(MemoryCache(max_entries=3)) == "MemoryCache(0/3 entries)"
