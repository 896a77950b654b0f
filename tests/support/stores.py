"""Fixtures shared by the history and odometer suites: one store per backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.postgres_server import postgres_server

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def store_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database of `backend`: a SQLite file or a new PostgreSQL database."""
    if backend == "sqlite":
        yield str(tmp_path / "store.sqlite3")
    else:
        yield await postgres_server().new_database()
