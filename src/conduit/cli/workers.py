"""`conduit serve --workers N`: N gateway processes on one port, and their supervisor.

Each worker is a whole gateway (`conduit.server.app.Gateway`) in a process of its own,
forked from the supervisor before any event loop exists. The supervisor opens one
listening socket per worker slot, all on the same address with `SO_REUSEPORT`, so the
kernel spreads new connections over the slots (by a hash of each connection's
addresses: no thundering herd, no worker starved); `--port 0` picks one port for all.
The supervisor keeps every slot's socket open and each worker serves the one of its
slot, so a slot's socket, and the connections waiting in it, outlive the worker: a
worker that stops or dies leaves them to the next worker of its slot instead of
resetting them.

Workers share what must be shared through the stores the config names: keys, budgets
(reserve -> settle) and the keys' rpm/tpm buckets in `database` (SQLite in WAL mode
on one machine: every take and reservation is one `BEGIN IMMEDIATE` transaction, so a
limit holds across processes exactly as in one; or PostgreSQL), the router's state in
Redis when `redis_url` is set (else each worker keeps its own deployments' cooldowns),
and the one ledger (each worker's events committed before its answers' last byte). An
in-memory database cannot be shared, so it is refused with several workers.

Signals to the supervisor: SIGTERM or SIGINT stop every worker gracefully (each stops
accepting, finishes its requests and streams in flight within `shutdown_timeout`,
writes its usage events, exits), then the supervisor exits. SIGHUP is a graceful
restart: N new workers (with the config read again) start and report ready before the
old ones are told to stop, so no connection is refused meanwhile. A worker that dies
(killed, out of memory) is replaced; its requests in flight are lost with it, but every
answer it acknowledged is already in the ledger.

Example:
    >>> try:
    ...     check_workers(2, ":memory:")
    ... except ValidationError as exc:
    ...     print(exc.message)
    workers=2 need a shared database: server.database is ':memory:' (one process's memory); use a SQLite file or PostgreSQL
"""  # noqa: E501

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from conduit.core.checks import check_count
from conduit.errors import ConduitError, ValidationError

if TYPE_CHECKING:
    from conduit.server.config import GatewayConfig

__all__ = ["check_workers", "serve_workers"]

_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD)


def check_workers(workers: int, database: str) -> int:
    """`workers` checked (a count ≥ 1), and refused above 1 when `database` (the
    config's `server.database`) is one process's memory.

    Example:
        >>> check_workers(4, "/var/lib/conduit/gateway.sqlite3")
        4
    """
    workers = check_count(workers, "workers")
    if workers < 1:
        raise ValidationError(f"workers must be a whole number >= 1, not {workers!r}")
    if workers > 1 and database == ":memory:":
        raise ValidationError(
            f"workers={workers} need a shared database: server.database is ':memory:' "
            "(one process's memory); use a SQLite file or PostgreSQL"
        )
    return workers


def _listen(host: str, port: int) -> socket.socket:
    """A socket listening on `host:port` with SO_REUSEPORT (one per worker slot)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(1024)
    except BaseException:
        sock.close()
        raise
    return sock


class _Supervisor:
    """The parent of the workers (see the module's text)."""

    def __init__(
        self,
        load: Callable[[], GatewayConfig],
        host: str,
        port: int,
        workers: int,
        echo: Callable[[str], None],
    ) -> None:
        self.load = load
        self.host = host
        self.port = port
        self.workers = workers
        self.echo = echo
        self.generation = 0
        self.config: GatewayConfig | None = None
        self.children: dict[int, tuple[int, int]] = {}  # pid -> (generation, slot)
        self.sockets: list[socket.socket] = []  # one listening socket per slot
        self.ready: set[int] = set()
        self.stopping = False
        self.wake_r, self.wake_w = os.pipe()
        self.ready_r, self.ready_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.ready_r, False)
        self._pending = b""

    def spawn(self, config: GatewayConfig, slot: int) -> int:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                signal.set_wakeup_fd(-1)
                for sig in _SIGNALS:
                    signal.signal(sig, signal.SIG_DFL)
                os.close(self.wake_r)
                os.close(self.wake_w)
                os.close(self.ready_r)
                mine = self.sockets[slot]
                for other in self.sockets:
                    if other is not mine:
                        other.close()
                code = _worker(config, self.host, self.port, mine, self.ready_w)
            except BaseException as exc:  # pragma: no cover - reported, then exit
                print(f"conduit worker {os.getpid()}: {exc}", file=sys.stderr, flush=True)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self.children[pid] = (self.generation, slot)
        return pid

    def start(self, config: GatewayConfig) -> set[int]:
        """N workers of a new generation, once each has said it is ready."""
        self.config = config
        self.generation += 1
        born = {self.spawn(config, slot) for slot in range(self.workers)}
        while not born <= self.ready:
            self.wait()
            if self.stopping:
                return born
            died = born - set(self.children)
            if died:
                raise ConduitError(f"a gateway worker exited while starting (pids {sorted(died)})")
        return born

    def wait(self) -> None:
        """Block until a signal or a worker's ready line; handle what came."""
        readable, _, _ = select.select([self.wake_r, self.ready_r], [], [])
        if self.ready_r in readable:
            with contextlib.suppress(BlockingIOError):
                self._pending += os.read(self.ready_r, 4096)
            *lines, self._pending = self._pending.split(b"\n")
            self.ready.update(int(line) for line in lines if line)
        if self.wake_r in readable:
            try:
                signals = os.read(self.wake_r, 4096)
            except BlockingIOError:
                signals = b""
            for number in signals:
                self.on_signal(number)

    def on_signal(self, number: int) -> None:
        if number in (signal.SIGTERM, signal.SIGINT):
            if not self.stopping:
                self.stopping = True
                self.tell(set(self.children), signal.SIGTERM)
        elif number == signal.SIGHUP and not self.stopping:
            self.restart()
        elif number == signal.SIGCHLD:
            self.reap()

    def tell(self, pids: set[int], sig: int) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            generation, slot = self.children.pop(pid, (None, 0))
            was_ready = pid in self.ready
            self.ready.discard(pid)
            if self.stopping or generation != self.generation or not was_ready:
                continue
            code = os.waitstatus_to_exitcode(status)
            self.echo(f"conduit gateway: worker {pid} exited ({code}); starting another")
            assert self.config is not None
            self.spawn(self.config, slot)

    def restart(self) -> None:
        old = set(self.children)
        try:
            config = self.load()
            self.start(config)
        except ConduitError as exc:
            self.echo(f"conduit gateway: restart failed, the old workers serve on: {exc}")
            return
        self.echo(f"conduit gateway: restarted; stopping the old workers {sorted(old)}")
        self.tell(old, signal.SIGTERM)

    def run(self) -> int:
        previous = signal.set_wakeup_fd(self.wake_w)
        handlers = {sig: signal.signal(sig, lambda *_: None) for sig in _SIGNALS}
        try:
            first = _listen(self.host, self.port)
            self.sockets.append(first)
            self.port = first.getsockname()[1]
            self.sockets += [_listen(self.host, self.port) for _ in range(self.workers - 1)]
            born = self.start(self.load())
            if not self.stopping:
                url = f"http://{self.host}:{self.port}/v1"
                pids = ", ".join(map(str, sorted(born)))
                self.echo(f"conduit gateway on {url} ({self.workers} workers: pids {pids})")
            while self.children:
                self.wait()
            self.echo("conduit gateway: every worker stopped")
            return 0
        finally:
            self.stopping = True
            self.tell(set(self.children), signal.SIGTERM)
            for sock in self.sockets:
                sock.close()
            signal.set_wakeup_fd(previous)
            for sig, handler in handlers.items():
                signal.signal(sig, handler)


def _worker(config: GatewayConfig, host: str, port: int, sock: socket.socket, ready: int) -> int:
    import asyncio

    from conduit.cli.serve import run_gateway

    def say_ready(url: str) -> None:
        os.write(ready, f"{os.getpid()}\n".encode())

    asyncio.run(run_gateway(config, host, port, sock=sock, on_ready=say_ready))
    return 0


def serve_workers(
    load: Callable[[], GatewayConfig],
    host: str | None,
    port: int | None,
    workers: int,
    echo: Callable[[str], None],
) -> int:
    """Run `workers` gateway processes on `host:port` until SIGTERM/SIGINT (SIGHUP:
    restart them gracefully, with `load()`'s config); returns the exit code. `load`
    reads the config; `echo` says what happens.

    Example:
        >>> serve_workers.__name__
        'serve_workers'
    """
    config = load()
    workers = check_workers(workers, config.database)
    host = host or config.host
    port = config.port if port is None else port
    return _Supervisor(load, host, port, workers, echo).run()
