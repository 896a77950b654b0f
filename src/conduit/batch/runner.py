"""Run one async function over many inputs: bounded concurrency, input order kept,
errors captured per item, Ctrl-C keeps what finished, and a journal file to resume.

Retries follow the one `RetryPolicy` (`max_retries=`: a number or a policy) and retry
only what the error itself says is `retryable` (`conduit.errors`); `timeout=` (seconds
or a `conduit.Timeout`) bounds each attempt.

Example:
    >>> async def shout(word: str) -> str:
    ...     if word == "boom":
    ...         raise ValueError("no")
    ...     return word.upper()
    >>> result = run_batch_sync(shout, ["a", "boom", "c"], concurrency=2)
    >>> result[0], result[1].exception_type, result[2]
    ('A', 'ValueError', 'C')
"""

from __future__ import annotations

import asyncio
import builtins
import os
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from conduit import _json
from conduit.batch.progress import BatchProgress, make_progress
from conduit.batch.results import BatchItemError, BatchResult
from conduit.batch.verbosity import Verbosity
from conduit.core.policy import RetryPolicy, Timeout
from conduit.errors import TimeoutError, ValidationError
from conduit.schema import Response

__all__ = ["BatchRun", "response_usage", "run_batch", "run_batch_sync"]

I = TypeVar("I")  # noqa: E741 - the conventional name for an input type
T = TypeVar("T")


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    try:
        _json.dumps(value)
    except TypeError:
        return repr(value)
    return value


def response_usage(result: Any) -> tuple[int, int, float]:
    """Tokens in, tokens out and cost of a result that is a `Response`, else zeros.

    Example:
        >>> from conduit.schema import Usage
        >>> response_usage(Response(usage=Usage(input_tokens=3, output_tokens=1), cost=0.5))
        (3, 1, 0.5)
    """
    if not isinstance(result, Response):
        return 0, 0, 0.0
    from conduit.catalog import response_cost

    cost = response_cost(result)
    return result.usage.input_tokens, result.usage.output_tokens, float(cost or 0.0)


class _Journal:
    """An append-only JSONL file of finished items; the last line per index wins, and a
    line cut short by a crash is skipped."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._file: Any = None

    def load(self) -> dict[int, dict[str, Any]]:
        found: dict[int, dict[str, Any]] = {}
        if not self.path.exists():
            return found
        for line in self.path.read_bytes().splitlines():
            try:
                record = _json.loads(line)
                found[int(record["index"])] = record
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line, or not ours
        return found

    def write(self, record: dict[str, Any]) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
        self._file.write(_json.dumps(record) + b"\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _decode_value(record: dict[str, Any], decode: Callable[[Any], Any] | None) -> Any:
    value = record.get("value")
    if decode is not None:
        return decode(value)
    if record.get("type") == "response":
        return Response.model_validate(value)
    return value


class BatchRun(Generic[I, T]):
    """One batch run; `await run()` returns its `BatchResult`, `cancel()` stops it early
    (finished items kept, unfinished ones become `cancelled` errors).

    - `max_retries`: retries per item after the first try (a number, or a `RetryPolicy`
      for the backoff too); only errors that say they are `retryable` are retried,
      waiting the server's `Retry-After` when it gave one.
    - `timeout`: seconds (or a `conduit.Timeout`, its `total`) each attempt may take; a
      late attempt fails with a retryable `conduit.errors.TimeoutError`.

    Use `run_batch`/`run_batch_sync` unless you need `cancel()` or live `progress`.

    Example:
        >>> import asyncio
        >>> async def double(x: int) -> int:
        ...     return 2 * x
        >>> asyncio.run(BatchRun(double, [1, 2], max_retries=1, timeout=5).run()).succeeded
        [2, 4]
    """

    def __init__(
        self,
        fn: Callable[[I], Awaitable[T]],
        inputs: Sequence[I],
        *,
        concurrency: int = 8,
        max_retries: int | RetryPolicy = 0,
        timeout: float | Timeout | None = None,
        verbosity: Verbosity | bool | int | str | None = None,
        progress: BatchProgress | None = None,
        results_file: str | os.PathLike[str] | None = None,
        resume: bool = False,
        decode: Callable[[Any], T] | None = None,
        request_of: Callable[[I], Any] | None = None,
        usage_of: Callable[[Any], tuple[int, int, float]] = response_usage,
    ) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValidationError(f"concurrency must be a whole number >= 1, not {concurrency!r}")
        self.policy = RetryPolicy.of(max_retries)
        limit = Timeout.of(timeout)
        self.timeout = limit.total if limit is not None else None
        if resume and results_file is None:
            raise ValidationError("resume=True needs results_file= (the journal to resume from)")
        self.fn = fn
        self.inputs = list(inputs)
        self.concurrency = concurrency
        self.request_of = request_of or _jsonable
        self.usage_of = usage_of
        self.results: list[T | BatchItemError | None] = [None] * len(self.inputs)
        self._journal = _Journal(results_file) if results_file is not None else None
        if self._journal is not None and resume:
            for index, record in self._journal.load().items():
                if record.get("ok") and 0 <= index < len(self.results):
                    self.results[index] = _decode_value(record, decode)
        done = sum(item is not None for item in self.results)
        if progress is None:
            progress = make_progress(verbosity, len(self.inputs), done=done)
        else:
            progress.resume_from(done)
        self.progress = progress
        self.cancelled = False
        self._workers: list[asyncio.Task[None]] = []

    def cancel(self) -> None:
        """Stop taking new items and cancel those in flight; `run()` then returns."""
        self.cancelled = True
        for worker in self._workers:
            worker.cancel()

    async def run(self) -> BatchResult[T]:
        """Run every unfinished item and return all results in input order."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        todo = iter([i for i, item in enumerate(self.results) if item is None])
        self._workers = [asyncio.create_task(self._worker(todo)) for _ in range(self.concurrency)]
        try:
            if self._workers:
                await asyncio.wait(self._workers)
        except asyncio.CancelledError:
            self.cancel()
            await asyncio.gather(*self._workers, return_exceptions=True)
            raise
        finally:
            self.progress.close()
            if self._journal is not None:
                self._journal.close()
        return self._result(loop.time() - started)

    def run_sync(self) -> BatchResult[T]:
        """`run()` from synchronous code; Ctrl-C stops it the way `cancel()` does."""
        from conduit.core.sync import run_sync

        return run_sync(self.run(), on_interrupt=self.cancel)

    def _result(self, elapsed: float) -> BatchResult[T]:
        items: list[T | BatchItemError] = []
        for index, item in enumerate(self.results):
            if item is None:  # never finished: the run was cancelled
                item = BatchItemError(
                    "not run: the batch was cancelled",
                    index=index,
                    code="cancelled",
                    category="cancelled",
                    exception_type="CancelledError",
                    request=self.request_of(self.inputs[index]),
                )
            items.append(item)
        p = self.progress
        return BatchResult(
            items,
            cancelled=self.cancelled,
            elapsed=elapsed,
            input_tokens=p.input_tokens,
            output_tokens=p.output_tokens,
            cost=p.cost,
        )

    async def _worker(self, todo: Iterator[int]) -> None:
        for index in todo:
            if self.cancelled:
                return
            outcome = await self._attempt(index)
            self.results[index] = outcome
            self._record(index, outcome)

    async def _attempt(self, index: int) -> T | BatchItemError:
        item = self.inputs[index]
        retries_done = 0
        while True:
            try:
                return await self._call(item)
            except Exception as exc:
                wait = None
                if self.policy.should_retry(exc, retries_done):
                    wait = self.policy.delay(retries_done, getattr(exc, "retry_after", None))
                if wait is None:
                    return BatchItemError.from_exception(
                        exc, index=index, request=self.request_of(item), attempts=retries_done + 1
                    )
                retries_done += 1
                await asyncio.sleep(wait)

    async def _call(self, item: I) -> T:
        if self.timeout is None:
            return await self.fn(item)
        scope = asyncio.timeout(self.timeout)
        try:
            async with scope:
                return await self.fn(item)
        except builtins.TimeoutError:
            if not scope.expired():  # the function's own timeout, not ours
                raise
            raise TimeoutError(f"no result within {self.timeout:g} s (timeout)") from None

    def _record(self, index: int, outcome: T | BatchItemError) -> None:
        if isinstance(outcome, BatchItemError):
            self.progress.advance(ok=False)
            record: dict[str, Any] = {"index": index, "ok": False, "error": outcome.to_dict()}
        else:
            tokens_in, tokens_out, cost = self.usage_of(outcome)
            self.progress.advance(
                ok=True, input_tokens=tokens_in, output_tokens=tokens_out, cost=cost
            )
            kind = "response" if isinstance(outcome, Response) else "value"
            record = {"index": index, "ok": True, "type": kind, "value": _jsonable(outcome)}
        if self._journal is not None:
            self._journal.write(record)


async def run_batch(
    fn: Callable[[I], Awaitable[T]], inputs: Sequence[I], **options: Any
) -> BatchResult[T]:
    """Run `fn` over `inputs` (options as `BatchRun`: `concurrency`, `max_retries`,
    `timeout`, `verbosity`, `results_file`, `resume`, …) and return results in input
    order.

    Example:
        >>> import asyncio
        >>> async def double(x: int) -> int:
        ...     return 2 * x
        >>> asyncio.run(run_batch(double, [1, 2, 3])).succeeded
        [2, 4, 6]
    """
    return await BatchRun(fn, inputs, **options).run()


def run_batch_sync(
    fn: Callable[[I], Awaitable[T]], inputs: Sequence[I], **options: Any
) -> BatchResult[T]:
    """`run_batch` from synchronous code. Ctrl-C stops the run: what finished is
    returned (and journaled), the rest are `cancelled` errors; a second Ctrl-C aborts.

    Example:
        >>> async def double(x: int) -> int:
        ...     return 2 * x
        >>> run_batch_sync(double, [5]).succeeded
        [10]
    """
    return BatchRun(fn, inputs, **options).run_sync()
