"""The gateway's cost: requests/s and added latency of `conduit serve` over calling the
fake upstream directly, for JSON answers and 20-chunk streams, with 1 and 2 replicas,
`conduit serve --workers 1` and `--workers 2` (one port), and the same for LiteLLM's
proxy when `litellm[proxy]` is installed. Each row also shows its requests/s as a
ratio to the bare pass-through's (`x floor`) and its p50 over the floor's.

Every server runs in its own process on 127.0.0.1: the fake OpenAI-compatible upstream
of `benchmarks/overhead.py` (pre-built answers), each gateway replica (one worker, a
virtual key checked on every request, the usage ledger in one shared SQLite file), and
LiteLLM's proxy (`litellm --config`, one uvicorn worker, no database). The client is
this process (aiohttp); with 2 replicas it alternates between them (no balancer).

Measured: at concurrency 1, each request's time (p50, p99) and the gateway's added time
over the direct call; at concurrency 64, requests per second. Run on demand:

    .venv/bin/python benchmarks/gateway.py            # ~1 minute
    .venv/bin/python benchmarks/gateway.py --quick
    .venv-bench/bin/python benchmarks/gateway.py      # also LiteLLM's proxy
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

import aiohttp
from overhead import fake_server

CHUNKS = 20
MESSAGES = [{"role": "user", "content": "Hello"}]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- servers


def _gateway_process(upstream: int, database: str, secret_file: str) -> None:
    """Entry point of one replica: print the port, serve until stdin closes."""
    import threading

    from conduit.server.app import Gateway
    from conduit.server.config import parse_config
    from conduit.storage.keys import new_key

    api = {"api_key": "sk-bench"}
    config = parse_config(
        {
            "model_list": [
                {
                    "model_name": "bench",
                    "litellm_params": {
                        "model": "openai/bench",
                        "api_base": f"http://127.0.0.1:{upstream}/v1",
                        **api,
                    },
                },
                {
                    "model_name": "bench-stream",
                    "litellm_params": {
                        "model": "openai/bench",
                        "api_base": f"http://127.0.0.1:{upstream}/n{CHUNKS}/v1",
                        **api,
                    },
                },
            ],
            "router_settings": {"num_retries": 0},
            "server": {"database": database},
        }
    )

    first = not os.path.exists(secret_file)
    key, secret = new_key(name="bench")
    if first:
        Path(secret_file).write_text(secret)

    async def main() -> None:
        async with Gateway(config) as gateway:
            if first:
                await gateway.keys.add(key, secret)
            url = await gateway.start("127.0.0.1", 0)
            print(url, flush=True)
            done = asyncio.Event()
            loop = asyncio.get_running_loop()

            def wait_for_parent() -> None:
                sys.stdin.buffer.read()
                loop.call_soon_threadsafe(done.set)

            threading.Thread(target=wait_for_parent, daemon=True).start()
            await done.wait()

    asyncio.run(main())


def _passthrough_process(upstream: int) -> None:
    """A bare aiohttp pass-through (the floor a gateway is compared with): forwards the
    body to the upstream and copies the answer back, chunk by chunk for streams."""
    import threading

    from aiohttp import web

    async def main() -> None:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))

        async def forward(request: web.Request) -> web.StreamResponse:
            body = await request.read()
            path = request.path.removeprefix("/pass")
            async with session.post(
                f"http://127.0.0.1:{upstream}{path}",
                data=body,
                headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
            ) as upstream_response:
                if upstream_response.content_type != "text/event-stream":
                    return web.Response(
                        body=await upstream_response.read(), content_type="application/json"
                    )
                response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
                await response.prepare(request)
                async for piece in upstream_response.content.iter_any():
                    await response.write(piece)
                await response.write_eof()
                return response

        app = web.Application()
        app.router.add_post("/pass/{tail:.*}", forward)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(f"http://127.0.0.1:{runner.addresses[0][1]}/pass", flush=True)
        done = asyncio.Event()
        loop = asyncio.get_running_loop()

        def wait_for_parent() -> None:
            sys.stdin.buffer.read()
            loop.call_soon_threadsafe(done.set)

        threading.Thread(target=wait_for_parent, daemon=True).start()
        await done.wait()
        await runner.cleanup()
        await session.close()

    asyncio.run(main())


@contextlib.contextmanager
def passthrough(upstream: int) -> Iterator[str]:
    with _process([sys.executable, __file__, "--passthrough", str(upstream)]) as proc:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()


@contextlib.contextmanager
def _process(args: list[str], env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        yield proc
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextlib.contextmanager
def gateways(upstream: int, replicas: int) -> Iterator[tuple[list[str], str]]:
    """Start `replicas` gateway processes over one SQLite file; yield URLs and the key."""
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        database = str(Path(folder) / "gateway.sqlite3")
        secret_file = str(Path(folder) / "secret")
        urls = []
        for _ in range(replicas):
            proc = stack.enter_context(
                _process(
                    [sys.executable, __file__, "--gateway", str(upstream), database, secret_file]
                )
            )
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if not line:
                raise RuntimeError("a gateway replica did not start")
            urls.append(line)
        yield urls, Path(secret_file).read_text()


@contextlib.contextmanager
def served(upstream: int, workers: int) -> Iterator[tuple[list[str], str]]:
    """`conduit serve --workers N` as an operator runs it (one port, SO_REUSEPORT), over
    one SQLite file for keys, limits and the ledger; yield its URL and the key."""
    import yaml

    from conduit.storage.keys import new_key
    from conduit.storage.keys_sqlite import SQLiteKeyStore

    with tempfile.TemporaryDirectory() as folder:
        database = str(Path(folder) / "gateway.sqlite3")
        key, secret = new_key(name="bench")

        async def add() -> None:
            keys = SQLiteKeyStore(database)
            await keys.add(key, secret)
            await keys.aclose()

        asyncio.run(add())
        api = {"model": "openai/bench", "api_key": "sk-bench"}
        config = {
            "model_list": [
                {
                    "model_name": "bench",
                    "litellm_params": {**api, "api_base": f"http://127.0.0.1:{upstream}/v1"},
                },
                {
                    "model_name": "bench-stream",
                    "litellm_params": {
                        **api,
                        "api_base": f"http://127.0.0.1:{upstream}/n{CHUNKS}/v1",
                    },
                },
            ],
            "router_settings": {"num_retries": 0},
            "server": {"database": database},
        }
        path = Path(folder) / "gateway.yaml"
        path.write_text(yaml.safe_dump(config))
        args = [sys.executable, "-m", "conduit", "serve", "--config", str(path), "--port", "0"]
        proc = subprocess.Popen(
            [*args, "--workers", str(workers)], stderr=subprocess.PIPE, text=True
        )
        try:
            assert proc.stderr is not None
            line = ""
            while "conduit gateway on " not in line:
                line = proc.stderr.readline()
                if not line:
                    raise RuntimeError("conduit serve did not start")
            yield [line.split("conduit gateway on ", 1)[1].split()[0]], secret
        finally:
            proc.terminate()
            proc.wait(timeout=60)


@contextlib.contextmanager
def litellm_proxy(upstream: int) -> Iterator[str | None]:
    """LiteLLM's proxy (one uvicorn worker) over the same upstream; None when missing."""
    exe = shutil.which("litellm", path=str(Path(sys.executable).parent))
    try:
        import litellm.proxy.proxy_server  # noqa: F401
    except Exception:
        exe = None
    if exe is None:
        yield None
        return
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.yaml"
        config.write_text(
            "model_list:\n"
            f"  - model_name: bench\n    litellm_params: {{model: openai/bench, "
            f"api_base: 'http://127.0.0.1:{upstream}/v1', api_key: sk-bench}}\n"
            f"  - model_name: bench-stream\n    litellm_params: {{model: openai/bench, "
            f"api_base: 'http://127.0.0.1:{upstream}/n{CHUNKS}/v1', api_key: sk-bench}}\n"
            "litellm_settings: {telemetry: false}\n"
        )
        port = _free_port()
        env = {**os.environ, "LITELLM_LOG": "ERROR", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        with _process(
            [
                exe,
                "--config",
                str(config),
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
                "--num_workers",
                "1",
            ],
            env=env,
        ):
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    time.sleep(0.5)
            else:
                yield None
                return
            time.sleep(2)
            yield f"{url}/v1"


# --------------------------------------------------------------------------- client


async def _one(session: aiohttp.ClientSession, url: str, stream: bool, headers: Any) -> None:
    body = {"model": "bench-stream" if stream else "bench", "messages": MESSAGES}
    if stream:
        body["stream"] = True
    async with session.post(f"{url}/chat/completions", json=body, headers=headers) as r:
        if r.status != 200:
            raise RuntimeError(f"{url}: HTTP {r.status}: {(await r.text())[:200]}")
        await r.read()


async def measure(urls: list[str], key: str | None, stream: bool, n1: int, n64: int) -> dict:
    """p50/p99 ms at concurrency 1, and requests/s at concurrency 64."""
    headers = {"Authorization": f"Bearer {key or 'sk-bench'}"}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        for i in range(50):
            await _one(session, urls[i % len(urls)], stream, headers)
        times = []
        for i in range(n1):
            started = time.perf_counter()
            await _one(session, urls[i % len(urls)], stream, headers)
            times.append((time.perf_counter() - started) * 1000)
        counter = iter(range(n64))

        async def worker() -> None:
            for i in counter:
                await _one(session, urls[i % len(urls)], stream, headers)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(64)))
        rps = n64 / (time.perf_counter() - started)
    q = statistics.quantiles(times, n=100)
    return {"p50": statistics.median(times), "p99": q[98], "rps": rps}


def interleaved(rounds: int) -> None:
    """The floor, `conduit serve --workers 1` and `--workers 2`, all running at once and
    measured in turn, round after round, so a shared machine's changing load weighs on
    each alike; prints each round's ratios to the floor and their medians."""
    n1, n64 = 100, 600
    with (
        fake_server() as port,
        passthrough(port) as floor_url,
        served(port, 1) as (one, key1),
        served(port, 2) as (two, key2),
    ):
        servers = {
            "floor": (
                {"json": [f"{floor_url}/v1"], "stream": [f"{floor_url}/n{CHUNKS}/v1"]},
                None,
            ),
            "w1": ({"json": one, "stream": one}, key1),
            "w2": ({"json": two, "stream": two}, key2),
        }
        ratios: dict[str, list[float]] = {}
        for r in range(rounds):
            found = {
                (name, kind): asyncio.run(measure(urls[kind], key, kind == "stream", n1, n64))
                for kind in ("json", "stream")
                for name, (urls, key) in servers.items()
            }
            line = []
            for kind in ("json", "stream"):
                floor = found[("floor", kind)]
                for name in ("w1", "w2"):
                    got = found[(name, kind)]
                    ratios.setdefault(f"{name} {kind} x floor", []).append(
                        got["rps"] / floor["rps"]
                    )
                    line.append(f"{name} {kind} {got['rps'] / floor['rps']:.2f}x")
                ratios.setdefault(f"w2/w1 {kind}", []).append(
                    found[("w2", kind)]["rps"] / found[("w1", kind)]["rps"]
                )
                ratios.setdefault(f"w1 {kind} +p50 ms", []).append(
                    found[("w1", kind)]["p50"] - floor["p50"]
                )
                ratios.setdefault(f"floor {kind} req/s", []).append(floor["rps"])
            load = os.getloadavg()[0]
            print(f"round {r + 1}: {', '.join(line)} (load {load:.1f})", flush=True)
        print()
        for name, values in ratios.items():
            print(f"{name:<22} median {statistics.median(values):8.2f}   {values}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests")
    parser.add_argument("--no-litellm", action="store_true", help="skip LiteLLM's proxy")
    parser.add_argument(
        "--interleaved",
        type=int,
        metavar="ROUNDS",
        help="only the floor and conduit serve -w1/-w2, measured in turn for ROUNDS rounds",
    )
    args = parser.parse_args()
    if args.interleaved:
        interleaved(args.interleaved)
        return
    n1, n64 = (300, 2000) if args.quick else (1000, 8000)
    rows: list[tuple[str, str, dict]] = []
    with fake_server() as port:
        direct = [f"http://127.0.0.1:{port}/v1"]
        stream_direct = [f"http://127.0.0.1:{port}/n{CHUNKS}/v1"]
        base = {
            "json": asyncio.run(measure(direct, None, False, n1, n64)),
            "stream": asyncio.run(measure(stream_direct, None, True, n1, n64)),
        }
        rows += [("upstream direct", kind, r) for kind, r in base.items()]
        with passthrough(port) as url:
            rows.append(
                (
                    "bare aiohttp proxy",
                    "json",
                    asyncio.run(measure([f"{url}/v1"], None, False, n1, n64)),
                )
            )
            rows.append(
                (
                    "bare aiohttp proxy",
                    "stream",
                    asyncio.run(measure([f"{url}/n{CHUNKS}/v1"], None, True, n1, n64)),
                )
            )
        for replicas in (1, 2):
            with gateways(port, replicas) as (urls, key):
                for kind in ("json", "stream"):
                    result = asyncio.run(measure(urls, key, kind == "stream", n1, n64))
                    rows.append((f"conduit gateway x{replicas}", kind, result))
        for workers in (1, 2):
            with served(port, workers) as (urls, key):
                for kind in ("json", "stream"):
                    result = asyncio.run(measure(urls, key, kind == "stream", n1, n64))
                    rows.append((f"conduit serve -w{workers}", kind, result))
        if not args.no_litellm:
            with litellm_proxy(port) as url:
                if url is None:
                    print("LiteLLM's proxy: not installed here (pip install 'litellm[proxy]')")
                else:
                    for kind in ("json", "stream"):
                        result = asyncio.run(measure([url], None, kind == "stream", n1, n64))
                        rows.append(("litellm proxy x1", kind, result))
    print(
        f"\n{'server':<22}{'kind':<8}{'p50 ms':>9}{'p99 ms':>9}{'+p50 ms':>9}{'+p99 ms':>9}"
        f"{'req/s @64':>11}{'x floor':>9}{'+p50 floor':>11}"
    )
    floor = {kind: r for name, kind, r in rows if name == "bare aiohttp proxy"}
    for name, kind, r in rows:
        b = base[kind]
        added = (r["p50"] - b["p50"], r["p99"] - b["p99"])
        f = floor[kind]
        print(
            f"{name:<22}{kind:<8}{r['p50']:>9.3f}{r['p99']:>9.3f}{added[0]:>9.3f}"
            f"{added[1]:>9.3f}{r['rps']:>11.0f}{r['rps'] / f['rps']:>9.2f}"
            f"{r['p50'] - f['p50']:>11.3f}"
        )
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"\n{os.cpu_count()} CPUs; stream = {CHUNKS} content chunks; c=1: {n1} requests, "
        f"c=64: {n64} requests per row"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--gateway":
        _gateway_process(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    elif len(sys.argv) > 1 and sys.argv[1] == "--passthrough":
        _passthrough_process(int(sys.argv[2]))
    else:
        main()
