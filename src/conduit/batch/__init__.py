"""Batch runs and pipelines: many inputs, bounded concurrency, results in input order.

- `Pipeline(prompt, model, parser)`: a prompt template and a model, `run` once or
  `run_batch` over many variable sets (each call recorded in the usage ledger).
- `run_batch(fn, inputs)` / `run_batch_sync`: any async function over many inputs.
- `BatchResult`: each item's answer or `BatchItemError` (code, category, exception type,
  stack trace, request, retries), in input order; one failure loses nothing else.
- `Verbosity` and the progress display (rich bar on a terminal, plain lines otherwise);
  `progress_display`, a decorator that shows progress around any function.

Plain names are async and `_sync` is the twin; retries are `max_retries=` (a number or a
`RetryPolicy`) and follow each error's own `retryable`.

Example:
    >>> from conduit.providers.fake import FunctionModel
    >>> model = FunctionModel(lambda messages, info: str(len(messages[-1].text)))
    >>> pipe = Pipeline("{{ word }}", model, ledger=False)
    >>> result = pipe.run_batch_sync([{"word": "owl"}, {"word": "heron"}])
    >>> [r.text for r in result], result.ok
    (['3', '5'], True)
"""

from __future__ import annotations

from conduit.batch.panels import show_exchange, summary_line
from conduit.batch.pipeline import Pipeline
from conduit.batch.progress import (
    BatchProgress,
    PlainProgress,
    Progress,
    RichProgress,
    make_progress,
    progress_display,
)
from conduit.batch.results import BatchItemError, BatchResult, error_category
from conduit.batch.runner import BatchRun, response_usage, run_batch, run_batch_sync
from conduit.batch.verbosity import Verbosity

__all__ = [
    "BatchItemError",
    "BatchProgress",
    "BatchResult",
    "BatchRun",
    "Pipeline",
    "PlainProgress",
    "Progress",
    "RichProgress",
    "Verbosity",
    "error_category",
    "make_progress",
    "progress_display",
    "response_usage",
    "run_batch",
    "run_batch_sync",
    "show_exchange",
    "summary_line",
]
