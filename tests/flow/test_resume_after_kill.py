"""A graph run killed with SIGKILL mid-node resumes from its last checkpoint."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conduit.storage.checkpoints_sqlite import SQLiteCheckpointStore
from tests.flow.graph_app import ROUNDS, Job, build

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
async def test_killed_run_resumes_where_it_stopped(tmp_path: Path) -> None:
    db, log, marker = tmp_path / "flow.sqlite3", tmp_path / "log.txt", tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + str(ROOT)}
    errors = tmp_path / "stderr.txt"
    with errors.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            *[
                sys.executable,
                "-m",
                "tests.flow.graph_app",
                str(db),
                "job-1",
                str(log),
                str(marker),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            deadline = time.monotonic() + 60
            while not marker.exists():
                assert proc.returncode is None, errors.read_text()
                assert time.monotonic() < deadline, "the subprocess never reached the hang"
                await asyncio.sleep(0.02)
            proc.send_signal(signal.SIGKILL)
        finally:
            await proc.wait()
    assert proc.returncode == -signal.SIGKILL

    store = SQLiteCheckpointStore(db)
    try:
        before = await store.history("job-1")
        # committed: the start, after `prepare`, after the first `work`; not the killed one
        assert [(c.last_node, c.node) for c in before] == [
            (None, "prepare"),
            ("prepare", "work"),
            ("work", "work"),
        ]
        assert Job.model_validate_json(before[-1].state) == Job(n=1, log=["prepare", "work 1"])

        result = await build(log).resume("job-1", checkpoints=store)
        assert result.state.log == [
            "prepare",
            *(f"work {i}" for i in range(1, ROUNDS + 1)),
            "finish",
        ]
        assert result.path == ["work"] * (ROUNDS - 1) + ["finish"]
        assert result.steps == len(before) - 1 + len(result.path)
        latest = await store.latest("job-1")
        assert latest is not None
        assert latest.done
    finally:
        await store.aclose()
    # `prepare` ran once; the killed `work` ran again; nothing after it ran twice
    runs = log.read_text().split()
    assert runs.count("prepare") == 1
    assert runs.count("work") == ROUNDS + 1
    assert runs.count("finish") == 1
