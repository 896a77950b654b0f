"""Real processes for the gateway's live tests and its safety benchmark: the fake upstream
(`tests.server.upstream_app`), gateways run as `conduit serve --config FILE` (as an
operator runs them), and a Redis and a PostgreSQL that a test may stop and start again on
the same port and data.

Every wait here is on a state (a line printed, a port that answers), bounded by a
generous hang guard.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from tests.support.postgres_server import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
HANG_GUARD = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_line(path: Path, prefix: str, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + HANG_GUARD
    while True:
        text = path.read_text(errors="replace") if path.exists() else ""
        for line in text.splitlines():
            if prefix in line:
                return line
        if process.poll() is not None:
            raise RuntimeError(f"the process exited ({process.returncode}):\n{text[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"no line with {prefix!r} after {HANG_GUARD} s:\n{text[-3000:]}")
        time.sleep(0.02)


class Upstream:
    """The fake OpenAI-compatible upstream in a process of its own."""

    def __init__(self, folder: Path) -> None:
        self.log = folder / "upstream.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.server.upstream_app"],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.url = _wait_for_line(self.log, "http://", self.process).strip()

    def calls(self) -> dict[str, int]:
        import json
        import urllib.request

        with urllib.request.urlopen(self.url.removesuffix("/v1") + "/calls", timeout=30) as r:
            found: dict[str, int] = json.loads(r.read())
            return found

    def stop(self) -> None:
        _end(self.process)


def _end(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=HANG_GUARD)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck process
            process.kill()
            process.wait()


def deployment(
    group: str, upstream: Upstream, model: str = "words-8", **info: Any
) -> dict[str, Any]:
    """A `model_list` entry of `group` on the fake upstream (`model` picks its behaviour;
    `info`: model_info such as prices)."""
    entry: dict[str, Any] = {
        "model_name": group,
        "litellm_params": {
            "model": f"openai/{model}",
            "api_base": upstream.url,
            "api_key": "sk-upstream-secret-0123456789",
        },
    }
    if info:
        entry["model_info"] = info
    return entry


class GatewayProcess:
    """`conduit serve --config FILE --port 0` with `config` (a parsed YAML document); its
    output goes to `log`. `nofile` sets the process's open-file limit; `args` are more
    options (`("--workers", "2")`)."""

    def __init__(
        self,
        folder: Path,
        config: dict[str, Any],
        *,
        name: str = "gateway",
        env: dict[str, str] | None = None,
        nofile: int | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.config_path = folder / f"{name}.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.log = folder / f"{name}.log"
        self.folder = folder
        self.name = name
        environ = {**os.environ, **(env or {})}
        environ.setdefault("CONDUIT_DATA_DIR", str(folder / "data"))

        def limits() -> None:  # in the child, before exec
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "conduit",
                    "serve",
                    "--config",
                    str(self.config_path),
                    "--port",
                    "0",
                    *args,
                ],
                cwd=ROOT,
                env=environ,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=limits if nofile is not None else None,
            )
        line = _wait_for_line(self.log, "conduit gateway on ", self.process)
        self.url = line.split("conduit gateway on ", 1)[1].split()[0]
        self.root = self.url.removesuffix("/v1")
        self.port = int(self.root.rsplit(":", 1)[1])

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM: the gateway finishes what is in flight, then exits."""
        _end(self.process)

    def kill(self) -> None:
        """SIGKILL: no goodbye."""
        _end(self.process, signal.SIGKILL)


class RedisProcess:
    """A redis-server on a fixed port that a test may stop and start again."""

    def __init__(self, folder: Path) -> None:
        executable = shutil.which("redis-server")
        assert executable, "redis-server is not installed: apt-get install -y redis-server"
        self.executable = executable
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + HANG_GUARD
        while not _answers_ping(self.port):
            assert self.process.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not answer PING"
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None:
            _end(self.process)
            self.process = None


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class PostgresProcess(PostgresServer):
    """A PostgreSQL of its own (not the session's shared one), which `halt()` stops and
    `resume()` starts again on the same port and data."""

    def halt(self) -> None:
        # SIGINT to the postmaster itself ("fast" shutdown: clients are cut); the
        # process started may be `runuser`, which does not pass signals on.
        pid = int((self.root / "data" / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGINT)
        self.process.wait(timeout=HANG_GUARD)

    def resume(self) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.process = subprocess.Popen(
            [
                *prefix,
                str(self.bindir / "postgres"),
                "-D",
                str(self.root / "data"),
                "-p",
                str(self.port),
                "-k",
                str(self.root),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=100",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + HANG_GUARD
        while not self._ready():
            assert self.process.poll() is None, "postgres exited"
            assert time.monotonic() < deadline, "postgres did not start again"
            time.sleep(0.05)
