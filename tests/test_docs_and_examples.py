"""Every Python code block in README.md and docs/, and every script in examples/, runs.

The blocks that name `openai/...` models run for real over HTTP against a local
OpenAI-compatible test server (OPENAI_BASE_URL points at it), so what the docs promise is
what the code does.

The scripts run under `python -X dev` (asyncio debug mode, ResourceWarnings shown), and an
example must leave stderr empty. Debug mode also reports any step that held the loop over
0.1 s (`Executing <Task ...> took 0.139 seconds`): that measures the machine, not the
example, so exactly that line is dropped (`without_slow_step_warnings`); every other line
still fails the test. The time limits only stop a hung script: a loaded machine runs the
embedded model many times slower than an idle one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.openai_server import OpenAITestServer
from tests.support.timing import without_slow_step_warnings

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
HANG = 600  # seconds: only a hung script takes this long, even on a loaded machine


def _blocks() -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        for i, match in enumerate(BLOCK.finditer(path.read_text(encoding="utf-8"))):
            found.append((f"{path.relative_to(ROOT)}#{i + 1}", match.group(1)))
    return found


@pytest.fixture(scope="module")
def openai_server() -> Iterator[OpenAITestServer]:
    server = OpenAITestServer().start()
    yield server
    server.stop()


def _run(args: list[str], server: OpenAITestServer) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "OPENAI_API_KEY": "sk-docs-test-key-000000",
        "OPENAI_BASE_URL": server.base_url,
        "PYTHONWARNINGS": "error::ResourceWarning",
    }
    return subprocess.run(
        [sys.executable, "-X", "dev", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=HANG,
        cwd=ROOT,
    )


def test_docs_have_code_blocks() -> None:
    assert len(_blocks()) >= 8


@pytest.mark.parametrize(("where", "code"), _blocks(), ids=[b[0] for b in _blocks()])
def test_code_block_runs(
    where: str, code: str, openai_server: OpenAITestServer, tmp_path: Path
) -> None:
    script = tmp_path / "block.py"
    script.write_text(code, encoding="utf-8")
    result = _run([str(script)], openai_server)
    assert result.returncode == 0, f"{where} failed:\n{result.stderr}"
    assert "Unclosed" not in result.stderr, result.stderr


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path: Path, openai_server: OpenAITestServer) -> None:
    result = _run([str(path)], openai_server)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "an example should show its result"
    assert without_slow_step_warnings(result.stderr) == "", result.stderr


def test_a_slow_step_is_the_only_line_dropped(tmp_path: Path) -> None:
    """A step that blocks the loop for 0.2 s is reported by asyncio's debug mode on any
    machine; that report is dropped, a warning printed beside it is not."""
    script = tmp_path / "slow_step.py"
    script.write_text(
        "import asyncio, sys, time\n"
        "async def main():\n"
        "    time.sleep(0.2)\n"
        "asyncio.run(main())\n"
        "print('a real problem', file=sys.stderr)\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-X", "dev", str(script)],
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert result.returncode == 0, result.stderr
    assert "Executing <Task" in result.stderr
    assert without_slow_step_warnings(result.stderr) == "a real problem\n"


def test_quickstart_output() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert "chat: Hello, Conduit!" in result.stdout
    assert "tools: add {'a': 20, 'b': 22} -> The sum is 42." in result.stdout
