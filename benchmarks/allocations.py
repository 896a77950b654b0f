"""What Conduit asks of the garbage collector, against bare aiohttp: deterministic counts.

Wall-clock timings swing on a shared machine; these figures do not (or barely). For each
client (`aiohttp`: the floor, `conduit`: `conduit.model("openai/bench", ...)`), in a
fresh process, against the fake OpenAI server of `overhead.py` on 127.0.0.1:

* ``tracked after 1st call``  GC-tracked objects in the process after the first call
  and `gc.collect()`: what every full (gen-2) collection walks.
* ``held per call in flight``  GC-tracked objects one call keeps alive while it waits
  for its answer (100 calls held open by the server, minus the idle process, / 100).
  At 100 in flight these are what push the young generation over its threshold.
* ``held per stream waiting``  the same for streams waiting for their first byte.
* ``gen0/gen2 per 2,000 calls``  collections during 2,000 calls at 100 in flight
  (counted with `gc.callbacks`), the median of 3 runs.
* ``gen0 per 5,000-chunk stream``  collections during one stream of 5,000 chunks.
* ``py calls per chat / chunk``  Python function calls (cProfile) per sequential
  `chat()` and per stream chunk: the interpreter work on the path.

`--freeze` adds what `gc.freeze()` after warm-up would give an application (a tip for
users; Conduit itself never changes process-wide GC settings).

Usage::

    .venv/bin/python benchmarks/allocations.py
    .venv/bin/python benchmarks/allocations.py --freeze
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import overhead  # the fake server and the clients

CLIENTS = ("aiohttp", "conduit")
IN_FLIGHT = overhead.IN_FLIGHT
CONCURRENT = 2000
CHUNKS = 5000
SEQUENTIAL = 200


# --------------------------------------------------------------------------- server
# overhead.py's server, plus a `/hold` prefix: such requests are answered only when
# `GET /_release` comes, and `GET /_pending` says how many wait.


class _HoldingProtocol(overhead._ServerProtocol):
    held: list[tuple[_HoldingProtocol, bytes, bytes]] = []

    def _answer(self, head: bytes, body: bytes) -> None:
        line = head.split(b"\r\n", 1)[0]
        path = line.split(b" ", 2)[1]
        if path.startswith(b"/hold/"):
            self.held.append((self, head.replace(b" /hold/", b" /", 1), body))
        elif path == b"/_pending":
            self._text(b"%d" % len(self.held))
        elif path == b"/_release":
            held, self.held[:] = list(self.held), []
            for proto, h, b in held:
                proto._answer(h, b)
            self._text(b"%d" % len(held))
        else:
            super()._answer(head, body)

    def _text(self, text: bytes) -> None:
        self._write(
            b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s"
            % (len(text), text),
            close=True,
        )


def _serve() -> None:
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(
        loop.create_server(_HoldingProtocol, "127.0.0.1", 0, backlog=4096)
    )
    print(server.sockets[0].getsockname()[1], flush=True)

    def exit_when_parent_goes() -> None:
        sys.stdin.buffer.read()
        os._exit(0)

    threading.Thread(target=exit_when_parent_goes, daemon=True).start()
    loop.run_forever()


@contextlib.contextmanager
def fake_server() -> Iterator[int]:
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline())
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.terminate()
        proc.wait(timeout=5)


async def _get(port: int, path: str) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".encode())
    raw = await reader.read()
    writer.close()
    await writer.wait_closed()
    return int(raw.split(b"\r\n\r\n", 1)[1])


# --------------------------------------------------------------------------- worker
class Collections:
    """Counts collections per generation while active (gc.callbacks)."""

    def __init__(self) -> None:
        self.counts = [0, 0, 0]

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.counts[info["generation"]] += 1

    def __enter__(self) -> Collections:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


async def measure(name: str, port: int, freeze: bool) -> dict[str, Any]:
    import cProfile
    import pstats

    base = f"http://127.0.0.1:{port}"
    client = overhead.CLIENT_CLASSES[name](f"{base}/v1", f"{base}/n{CHUNKS}/v1")
    held = overhead.CLIENT_CLASSES[name](f"{base}/hold/v1", f"{base}/hold/v1")
    await client.open()
    await held.open()
    result: dict[str, Any] = {}
    try:
        await client.chat()
        await held_chats(held, port, 2)  # opens the held client's first connections
        gc.collect()
        result["tracked_after_first_call"] = len(gc.get_objects())
        for _ in range(50):
            await client.chat()
        await client.stream()
        await overhead._concurrent(client.chat, 2 * IN_FLIGHT)  # the pool's connections
        await held_chats(held, port, IN_FLIGHT)

        # Objects held per call in flight: idle, then with IN_FLIGHT calls waiting.
        gc.collect()
        idle = len(gc.get_objects())
        waiting = await held_chats(held, port, IN_FLIGHT)
        result["held_per_call"] = (waiting - idle) / IN_FLIGHT

        if freeze:
            gc.collect()
            gc.freeze()
            result["frozen"] = gc.get_freeze_count()
        gc.collect()
        result["walked_by_gen2"] = len(gc.get_objects())  # the frozen ones are not walked

        runs = []
        for _ in range(3):
            gc.collect()
            with Collections() as seen:
                await overhead._concurrent(client.chat, CONCURRENT)
            runs.append(seen.counts)
        result["gen0_per_2000"] = statistics.median(r[0] for r in runs)
        result["gen1_per_2000"] = statistics.median(r[1] for r in runs)
        result["gen2_per_2000"] = statistics.median(r[2] for r in runs)

        gc.collect()
        with Collections() as seen:
            await client.stream()
        result["gen0_per_stream"] = seen.counts[0]

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(SEQUENTIAL):
            await client.chat()
        profiler.disable()
        result["py_calls_per_chat"] = pstats.Stats(profiler).total_calls / SEQUENTIAL  # type: ignore[attr-defined]
        profiler = cProfile.Profile()
        profiler.enable()
        await client.stream()
        profiler.disable()
        result["py_calls_per_chunk"] = pstats.Stats(profiler).total_calls / CHUNKS  # type: ignore[attr-defined]

        # Last: a Conduit model per URL means the streams' pool is a second one.
        await held_chats(held, port, IN_FLIGHT, stream=True)
        gc.collect()
        idle = len(gc.get_objects())
        waiting = await held_chats(held, port, IN_FLIGHT, stream=True)
        result["held_per_stream"] = (waiting - idle) / IN_FLIGHT
    finally:
        await client.close()
        await held.close()
    return result


async def held_chats(
    client: overhead.BenchClient, port: int, n: int, *, stream: bool = False
) -> int:
    """Start `n` calls (or streams) the server holds; once all wait, count the process's
    GC-tracked objects (after `gc.collect()`); then release them and return that count."""
    calls = [asyncio.ensure_future(client.stream() if stream else client.chat()) for _ in range(n)]
    while await _get(port, "/_pending") < n:  # noqa: ASYNC110 - the server holds the state
        await asyncio.sleep(0.01)
    gc.collect()
    count = len(gc.get_objects())
    await _get(port, "/_release")
    expected = overhead._DEFAULT_CHUNKS if stream else overhead.REPLY
    for reply in await asyncio.gather(*calls):
        if reply != expected:
            raise RuntimeError(f"wrong answer: {reply!r}")
    return count


# --------------------------------------------------------------------------- main
ROWS = (
    ("tracked objects after 1st call", "tracked_after_first_call", "{:,.0f}"),
    ("objects held per call in flight", "held_per_call", "{:,.1f}"),
    ("objects held per stream waiting", "held_per_stream", "{:,.1f}"),
    ("objects a full collection walks", "walked_by_gen2", "{:,.0f}"),
    (f"gen-0 per {CONCURRENT:,} calls", "gen0_per_2000", "{:,.0f}"),
    (f"gen-1 per {CONCURRENT:,} calls", "gen1_per_2000", "{:,.0f}"),
    (f"gen-2 per {CONCURRENT:,} calls", "gen2_per_2000", "{:,.0f}"),
    (f"gen-0 per {CHUNKS:,}-chunk stream", "gen0_per_stream", "{:,.0f}"),
    ("Python calls per chat()", "py_calls_per_chat", "{:,.1f}"),
    ("Python calls per chunk", "py_calls_per_chunk", "{:,.2f}"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--freeze", action="store_true", help="also: gc.freeze() after warm-up")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--frozen", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve()
        return
    if args.worker:
        print(json.dumps(asyncio.run(measure(args.worker, args.port, args.frozen))))
        return

    columns = [(name, False) for name in CLIENTS]
    if args.freeze:
        columns += [(name, True) for name in CLIENTS]
    results = {}
    with fake_server() as port:
        for name, frozen in columns:
            cmd = [sys.executable, __file__, "--worker", name, "--port", str(port)]
            if frozen:
                cmd.append("--frozen")
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
            if done.returncode != 0:
                sys.exit(f"{name}: FAILED\n{done.stderr}")
            results[name + (" +freeze" if frozen else "")] = json.loads(
                done.stdout.strip().splitlines()[-1]
            )
    names = list(results)
    print(f"{'':<34}" + "".join(f"{n:>18}" for n in names))
    for label, key, fmt in ROWS:
        print(f"{label:<34}" + "".join(f"{fmt.format(results[n][key]):>18}" for n in names))
    if args.freeze:
        print(
            f"{'objects frozen (out of gen-2)':<34}"
            + "".join(f"{results[n].get('frozen', 0):>18,}" for n in names)
        )


if __name__ == "__main__":
    main()
