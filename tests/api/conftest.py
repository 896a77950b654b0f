"""Fixtures for the core tests: a registry and model cache that each test may change."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conduit.api import resolve as api
from conduit.providers import registry


@pytest.fixture
def clean_registry() -> Iterator[None]:
    """Providers registered by the test, and models cached for them, are gone afterwards."""
    saved = dict(registry._registry)
    saved_loaded = registry._plugins_loaded
    saved_cache = dict(api._cache)
    yield
    registry._registry.clear()
    registry._registry.update(saved)
    registry._plugins_loaded = saved_loaded
    api._cache.clear()
    api._cache.update(saved_cache)
