"""Batch runs: input order, errors as values, retries, cancellation, resume."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conduit.batch import BatchItemError, BatchResult, BatchRun, run_batch, run_batch_sync
from conduit.errors import RateLimitError, ServerError, ValidationError
from conduit.schema import Response, TextBlock, Usage


async def _slow_echo(x: int) -> int:
    # Later items finish first: order must still follow the inputs.
    await asyncio.sleep(0.001 * (20 - x))
    return x * 10


def test_results_keep_input_order_under_concurrency() -> None:
    result = run_batch_sync(_slow_echo, list(range(20)), concurrency=7)
    assert result.succeeded == [x * 10 for x in range(20)]
    assert result.ok
    assert not result.cancelled


def test_failures_are_values_and_lose_nothing_else() -> None:
    async def picky(x: int) -> int:
        if x % 3 == 0:
            raise ValueError(f"no {x}")
        return x

    result = run_batch_sync(picky, list(range(9)), concurrency=4)
    assert [i for i, item in enumerate(result) if isinstance(item, BatchItemError)] == [0, 3, 6]
    assert result.succeeded == [1, 2, 4, 5, 7, 8]
    error = result[3]
    assert isinstance(error, BatchItemError)
    assert (error.index, error.exception_type, error.category, error.code) == (
        3,
        "ValueError",
        "internal",
        "value",
    )
    assert error.request == 3
    assert "in picky" in error.traceback
    assert isinstance(error.cause, ValueError)
    with pytest.raises(ValueError, match="no 0"):
        result.raise_for_errors()


def test_retryable_errors_are_retried_and_counted() -> None:
    seen: dict[int, int] = {}

    async def flaky(x: int) -> int:
        seen[x] = seen.get(x, 0) + 1
        if x == 1 and seen[x] < 3:
            raise RateLimitError("slow down", provider="p", status_code=429, retry_after=0)
        if x == 2:
            raise ServerError("down", provider="p", status_code=503, retry_after=0)
        return x

    result = run_batch_sync(flaky, [0, 1, 2], max_retries=2)
    assert result[1] == 1
    assert seen[1] == 3
    error = result[2]
    assert isinstance(error, BatchItemError)
    assert (error.retries, error.category, error.status_code, error.provider) == (
        2,
        "retry",
        503,
        "p",
    )
    assert seen[2] == 3


def test_input_errors_are_not_retried() -> None:
    calls = []

    async def bad(x: int) -> int:
        calls.append(x)
        raise ValidationError("fix it")

    error = run_batch_sync(bad, [1], max_retries=5)[0]
    assert isinstance(error, BatchItemError)
    assert (error.category, error.retries, len(calls)) == ("fix_input", 0, 1)


def test_usage_and_cost_of_responses_are_added_up() -> None:
    async def answer(x: int) -> Response:
        return Response(
            content=[TextBlock(text=str(x))],
            usage=Usage(input_tokens=10, output_tokens=x),
            cost=0.5,
        )

    result = run_batch_sync(answer, [1, 2, 3])
    assert (result.input_tokens, result.output_tokens, result.cost) == (30, 6, 1.5)


def test_cancel_keeps_finished_results() -> None:
    async def main() -> BatchResult[int]:
        started = asyncio.Event()

        async def work(x: int) -> int:
            if x >= 3:
                started.set()
                await asyncio.sleep(30)
            return x

        run: BatchRun[int, int] = BatchRun(work, list(range(10)), concurrency=3)
        task = asyncio.create_task(run.run())
        await started.wait()
        run.cancel()
        return await task

    result = asyncio.run(main())
    assert result.cancelled
    assert not result.ok
    assert result.succeeded == [0, 1, 2]
    assert {e.category for e in result.failed} == {"cancelled"}
    assert len(result) == 10


def test_cancelling_the_task_propagates_and_journal_keeps_finished(tmp_path: Path) -> None:
    journal = tmp_path / "out.jsonl"

    async def main() -> None:
        stuck = asyncio.Event()

        async def work(x: int) -> int:
            if x == 2:
                stuck.set()
                await asyncio.sleep(30)
            return x

        task = asyncio.create_task(run_batch(work, [0, 1, 2], concurrency=1, results_file=journal))
        await stuck.wait()  # items 0 and 1 are done and journaled (one worker, in order)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert sorted(r["index"] for r in records) == [0, 1]


def test_resume_skips_what_finished_and_tolerates_a_torn_line(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    calls: list[int] = []
    failing = {1}

    async def work(x: int) -> int:
        calls.append(x)
        if x in failing:
            raise ValueError("fails the first time")
        return x * 2

    first = run_batch_sync(work, [0, 1, 2], results_file=journal)
    assert isinstance(first[1], BatchItemError)
    with journal.open("a") as f:
        f.write('{"index": 2, "ok": tr')  # a crash mid-write
    calls.clear()
    failing.clear()
    second = run_batch_sync(work, [0, 1, 2], results_file=journal, resume=True)
    assert calls == [1]  # only the failed item ran again
    assert second.succeeded == [0, 2, 4]


def test_resume_restores_responses(tmp_path: Path) -> None:
    journal = tmp_path / "r.jsonl"

    async def answer(x: int) -> Response:
        return Response(id=f"r{x}", content=[TextBlock(text=str(x))])

    run_batch_sync(answer, [0, 1], results_file=journal)

    async def never(x: int) -> Response:
        raise AssertionError("resumed items must not run")

    again = run_batch_sync(never, [0, 1], results_file=journal, resume=True)
    assert [r.id for r in again.succeeded] == ["r0", "r1"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"concurrency": 0}, "concurrency"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": True}, "max_retries"),
        ({"concurrency": True}, "concurrency"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"resume": True}, "results_file"),
    ],
)
def test_bad_options_are_clear_errors(options: dict[str, object], message: str) -> None:
    async def work(x: int) -> int:
        return x

    with pytest.raises(ValidationError, match=message):
        BatchRun(work, [1], **options)  # type: ignore[arg-type]


def test_an_empty_batch_is_an_empty_result() -> None:
    async def work(x: int) -> int:
        return x

    result = run_batch_sync(work, [])
    assert len(result) == 0
    assert result.ok


SCRIPT = textwrap.dedent(
    """
    import asyncio, sys, threading
    from conduit.batch import run_batch_sync

    def main_thread_waits_for_the_batch():
        # Ctrl-C must find the main thread inside the sync bridge's wait for the run
        # (run_sync turns it into cancel() there), not on its way in.
        frame = sys._current_frames().get(threading.main_thread().ident)
        while frame is not None:
            if frame.f_code.co_name == "result" and "futures" in frame.f_code.co_filename:
                return True
            frame = frame.f_back
        return False

    async def work(x):
        if x >= 2:
            deadline = asyncio.get_running_loop().time() + 60
            while not main_thread_waits_for_the_batch():
                if asyncio.get_running_loop().time() > deadline:
                    print("the main thread never waited for the run", flush=True)
                    break
                await asyncio.sleep(0.001)
            print("waiting", x, flush=True)
            await asyncio.sleep(600)
        return x

    result = run_batch_sync(work, list(range(6)), concurrency=3, results_file=sys.argv[1])
    print("cancelled", result.cancelled, "ok", result.succeeded, flush=True)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery is POSIX")
def test_ctrl_c_in_a_real_process_returns_what_finished(tmp_path: Path) -> None:
    script = tmp_path / "batch.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "j.jsonl")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")},
    )
    assert proc.stdout is not None
    # Three workers: items 3 and 4 start only once 0 and 1 have finished, and each line
    # is printed once the main thread waits for the run. Then Ctrl-C.
    started = {proc.stdout.readline().strip() for _ in range(3)}
    assert started == {"waiting 2", "waiting 3", "waiting 4"}, started
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "cancelled True ok [0, 1]" in out


def test_retrying_follows_the_errors_own_retryable() -> None:
    from conduit.errors import BadRequestError

    calls: dict[str, int] = {}

    async def work(name: str) -> str:
        calls[name] = calls.get(name, 0) + 1
        if name == "conflict" and calls[name] == 1:  # HTTP 409: worth repeating
            raise BadRequestError("busy", status_code=409)
        if name == "told-not-to":  # the server said x-should-retry: false
            raise RateLimitError("no", status_code=429, retryable=False)
        return name

    result = run_batch_sync(work, ["conflict", "told-not-to"], max_retries=3)
    assert result[0] == "conflict"
    assert calls == {"conflict": 2, "told-not-to": 1}
    error = result[1]
    assert isinstance(error, BatchItemError)
    assert (error.category, error.retryable, error.retries) == ("retry", False, 0)


def test_a_retry_policy_sets_the_backoff() -> None:
    from conduit import RetryPolicy

    seen: list[int] = []

    async def work(x: int) -> int:
        seen.append(x)
        if len(seen) < 3:
            raise ServerError("down", status_code=503)
        return x

    policy = RetryPolicy(max_retries=2, initial_delay=0, jitter=False)
    assert run_batch_sync(work, [7], max_retries=policy).succeeded == [7]
    assert seen == [7, 7, 7]


@pytest.mark.parametrize("timeout", [0.05, "typed"])
def test_a_timeout_bounds_each_attempt(timeout: object) -> None:
    from conduit import RetryPolicy, Timeout

    limit = Timeout(total=0.05) if timeout == "typed" else timeout
    attempts: list[int] = []

    async def work(x: int) -> int:
        attempts.append(x)
        if x == 1:
            await asyncio.Event().wait()  # never answers
        return x

    result = run_batch_sync(
        work,
        [0, 1, 2],
        timeout=limit,  # type: ignore[arg-type]
        max_retries=RetryPolicy(max_retries=1, initial_delay=0),
    )
    assert (result[0], result[2]) == (0, 2)
    error = result[1]
    assert isinstance(error, BatchItemError)
    assert (error.code, error.category, error.retries) == ("timeout", "retry", 1)
    assert "within 0.05 s" in error.message
    assert attempts.count(1) == 2


def test_error_category_is_the_errors_own() -> None:
    from conduit.batch import error_category
    from conduit.errors import ConduitError

    class Odd(ConduitError):
        category = "fix_setup"

    assert error_category(Odd("x")) == "fix_setup"
    assert error_category(asyncio.CancelledError()) == "cancelled"
    assert error_category(KeyError("k")) == "internal"
