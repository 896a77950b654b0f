"""`conduit ask` on the embedded model against bare llama-cpp-python (issue 26).

1. Speed: the same GGUF, prompt, threads and sampling (SmolLM2's temperature 0.2,
   top_p 0.9, repeat_penalty 1.1, a fixed seed), model loaded: time to first token and
   generated tokens/s of Conduit's stream (the code path `conduit ask` runs: defaults,
   loop guard) against `create_chat_completion(stream=True)`, alternating rounds.
2. The 20 everyday questions of tests/cli/everyday.py with `conduit ask`'s defaults:
   each answer's length in tokens and why it stopped.

    .venv/bin/python benchmarks/ask.py --rounds 3 --max-tokens 128

Flags: --rounds N, --max-tokens N (speed rounds), --questions N (how many of the 20,
default all), --json PATH.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PROMPT = "Tell me a long story about a brave dragon who learns to paint."
SEED = 42


def _bare(llama: Any, max_tokens: int) -> tuple[float, float, int]:
    llama.reset()  # what Conduit does for seeded requests: the same work on both sides
    started = time.perf_counter()
    first = 0.0
    parts: list[str] = []
    for chunk in llama.create_chat_completion(
        [{"role": "user", "content": PROMPT}],
        stream=True,
        max_tokens=max_tokens,
        temperature=0.2,
        top_p=0.9,
        repeat_penalty=1.1,
        seed=SEED,
    ):
        text = chunk["choices"][0]["delta"].get("content")
        if text:
            if not parts:
                first = time.perf_counter() - started
            parts.append(text)
    total = time.perf_counter() - started
    tokens = len(llama.tokenize("".join(parts).encode(), add_bos=False))
    return first, tokens / (total - first) if total > first else 0.0, tokens


def _conduit(model: Any, max_tokens: int) -> tuple[float, float, int]:
    from conduit.schema import Done, TextDelta

    started = time.perf_counter()
    first = 0.0
    tokens = 0
    for event in model.stream_sync(PROMPT, max_tokens=max_tokens, seed=SEED):
        if isinstance(event, TextDelta) and not first:
            first = time.perf_counter() - started
        if isinstance(event, Done):
            tokens = event.response.usage.output_tokens
    total = time.perf_counter() - started
    return first, tokens / (total - first) if total > first else 0.0, tokens


def speed(rounds: int, max_tokens: int) -> dict[str, Any]:
    from conduit.providers.local import LocalChatModel

    model = LocalChatModel("default")
    engine = model.engine()  # loaded once; the bare side uses the same Llama object
    results: dict[str, list[tuple[float, float, int]]] = {"conduit": [], "bare": []}
    for _ in range(rounds):
        results["bare"].append(_bare(engine.llama, max_tokens))
        results["conduit"].append(_conduit(model, max_tokens))
    summary = {
        side: {
            "ttft_s": statistics.median(r[0] for r in rows),
            "tokens_per_s": statistics.median(r[1] for r in rows),
            "tokens": [r[2] for r in rows],
        }
        for side, rows in results.items()
    }
    summary["ratio"] = summary["conduit"]["tokens_per_s"] / summary["bare"]["tokens_per_s"]
    return summary


def questions(count: int) -> list[dict[str, Any]]:
    from tests.cli.everyday import QUESTIONS, repeated_sentences

    from conduit.providers.local import LocalChatModel

    model = LocalChatModel("default")
    rows = []
    for question in QUESTIONS[:count]:
        started = time.perf_counter()
        answer = model.chat_sync(question)  # conduit ask's defaults: no options
        rows.append(
            {
                "question": question,
                "tokens": answer.usage.output_tokens,
                "stop": answer.stop_reason,
                "seconds": round(time.perf_counter() - started, 1),
                "repeated_3x": repeated_sentences(answer.text, 3),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result: dict[str, Any] = {"speed": speed(args.rounds, args.max_tokens)}
    print(json.dumps(result["speed"], indent=2), flush=True)
    if args.questions:
        result["questions"] = questions(args.questions)
        lengths = [row["tokens"] for row in result["questions"]]
        print(
            f"answer tokens: median {statistics.median(lengths)}, min {min(lengths)}, "
            f"max {max(lengths)}; stops: "
            + ", ".join(
                f"{reason} {sum(1 for r in result['questions'] if r['stop'] == reason)}"
                for reason in sorted({r["stop"] for r in result["questions"]})
            )
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
