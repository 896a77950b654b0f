"""A batch with progress, errors as values, and a resume journal, offline.

Runs a prompt template over 40 inputs with a fake model that fails now and then; the
progress line goes to stdout here (by default it goes to stderr, as a rich bar on a
terminal). Run it twice: the second run resumes from the journal and redoes only the
failures. Every call to the model is recorded in the one usage ledger (here a temporary
one; by default the one `conduit usage` shows).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from conduit.batch import BatchItemError, BatchRun, Pipeline, PlainProgress
from conduit.core.sync import run_sync
from conduit.odometer import stats_sync
from conduit.providers.fake import FunctionModel
from conduit.schema import ChatOptions, Message
from conduit.storage.ledger import open_ledger

attempts: dict[str, int] = {}


def flaky(messages: list[Message], options: ChatOptions) -> str:
    question = messages[-1].text
    attempts[question] = attempts.get(question, 0) + 1
    if question.endswith("7?") and attempts[question] == 1:
        raise ValueError("a bad day for sevens")
    return f"answer to: {question}"


folder = Path(tempfile.mkdtemp())
ledger = open_ledger(folder / "usage.sqlite3")
pipe = Pipeline(
    "What is {{ n }} times {{ n }}? Number {{ n }}?", FunctionModel(flaky), ledger=ledger
)
inputs = [{"n": n} for n in range(40)]
journal = folder / "squares.jsonl"

for attempt in (1, 2):
    run = BatchRun(
        pipe.run,
        inputs,
        concurrency=8,
        results_file=journal,
        resume=attempt == 2,
        progress=PlainProgress(len(inputs), stream=sys.stdout, every=0.5),
    )
    result = run.run_sync()
    failed = [item for item in result if isinstance(item, BatchItemError)]
    print(f"run {attempt}: {len(result.succeeded)} ok, {len(failed)} failed")
    for error in failed:
        print(f"  item {error.index}: {error.exception_type}: {error.message}")

print(result[3].text)
print(stats_sync(ledger, by=["model", "status"]))  # every call, the failed ones too
run_sync(ledger.aclose())  # we opened it: ours to close
