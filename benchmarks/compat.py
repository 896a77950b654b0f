"""The LiteLLM-compatible surface against LiteLLM itself, side by side in one run:

* per-call time of `acompletion()` and of `completion()` (sync) against a local fake
  OpenAI-compatible server, with the bare-aiohttp floor for reference;
* per-call time of `Router.acompletion()` over a two-deployment group;
* `import conduit`, `import conduit.compat` and `import litellm` in fresh interpreters.

The server is the one of `benchmarks/overhead.py` (its own process, pre-built answers).
Each client runs in its own fresh worker process. Only 127.0.0.1 is contacted and
LiteLLM uses its local cost map.

Usage::

    .venv-bench/bin/python benchmarks/compat.py            # needs litellm (the bench extra)
    .venv-bench/bin/python benchmarks/compat.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from overhead import fake_server

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = [{"role": "user", "content": "Hello"}]
KEY = "sk-bench"


async def _time_calls(call: Any, warmup: int, n: int) -> float:
    for _ in range(warmup):
        await call()
    started = time.perf_counter()
    for _ in range(n):
        await call()
    return (time.perf_counter() - started) / n * 1e6


def _time_sync(call: Any, warmup: int, n: int) -> float:
    for _ in range(warmup):
        call()
    started = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - started) / n * 1e6


def worker(lib: str, kind: str, base: str, warmup: int, n: int) -> float:
    """µs per call for one library and one kind of call, measured in this process."""
    if lib == "floor":
        import aiohttp

        async def run() -> float:
            async with aiohttp.ClientSession() as session:
                body = {"model": "bench", "messages": MESSAGES}

                async def call() -> None:
                    async with session.post(f"{base}/chat/completions", json=body) as r:
                        json.loads(await r.read())

                return await _time_calls(call, warmup, n)

        return asyncio.run(run())
    if lib == "litellm":
        import litellm as mod

        mod.telemetry = False
        mod.suppress_debug_info = True
    else:
        import conduit.compat as mod  # type: ignore[no-redef]
    params = {"model": "openai/bench", "api_base": base, "api_key": KEY}
    if kind == "completion":
        return _time_sync(lambda: mod.completion(messages=MESSAGES, **params), warmup, n)
    if kind == "acompletion":

        async def acall() -> None:
            await mod.acompletion(messages=MESSAGES, **params)

        return asyncio.run(_time_calls(acall, warmup, n))
    router = mod.Router(
        model_list=[
            {"model_name": "g", "litellm_params": {**params, "rpm": 100_000}},
            {"model_name": "g", "litellm_params": dict(params)},
        ],
        num_retries=0,
    )

    async def rcall() -> None:
        await router.acompletion(model="g", messages=MESSAGES)

    return asyncio.run(_time_calls(rcall, warmup, n))


def _spawn(lib: str, kind: str, base: str, warmup: int, n: int) -> float:
    code = (
        "import sys; sys.path.insert(0, 'benchmarks'); import compat; "
        f"print(compat.worker({lib!r}, {kind!r}, {base!r}, {warmup}, {n}))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return float(proc.stdout.strip().splitlines()[-1])


def import_time(module: str, runs: int) -> float:
    """Best wall time in ms of `import module` in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    best = float("inf")
    for _ in range(runs):
        code = (
            f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
        )
        best = min(best, float(proc.stdout.strip().splitlines()[-1]) * 1000)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=1, help="runs per client; best kept")
    args = parser.parse_args()
    warmup, n, runs = (20, 100, 3) if args.quick else (50, 300, 7)
    print(f"python {sys.version.split()[0]}; {n} sequential calls after {warmup} warm-up")
    with fake_server() as port:
        base = f"http://127.0.0.1:{port}/v1"
        rows = []
        for kind in ("acompletion", "completion", "router"):
            row = {"kind": kind}
            for lib in ("litellm", "conduit"):
                row[lib] = min(_spawn(lib, kind, base, warmup, n) for _ in range(args.rounds))
            rows.append(row)
        floor = statistics.median(_spawn("floor", "", base, warmup, n) for _ in range(args.rounds))
    print(f"\nper call, µs (bare aiohttp floor: {floor:.0f} µs)")
    print(f"{'call':<14}{'litellm':>10}{'conduit':>10}{'speed-up':>10}")
    for row in rows:
        print(
            f"{row['kind']:<14}{row['litellm']:>10.0f}{row['conduit']:>10.0f}"
            f"{row['litellm'] / row['conduit']:>9.1f}x"
        )
    print("\nimport, ms (best of fresh interpreters)")
    for module in ("conduit", "conduit.compat", "litellm"):
        print(f"{module:<16}{import_time(module, runs):>8.1f}")


if __name__ == "__main__":
    main()
