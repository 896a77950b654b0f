"""Every Python code block in README.md and docs/, and every script in examples/, runs.

The blocks that name `openai/...` models run for real over HTTP against a local
OpenAI-compatible test server (OPENAI_BASE_URL points at it), so what the docs promise is
what the code does.
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

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


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
        timeout=60,
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
    assert result.stderr == "", result.stderr


def test_quickstart_output() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "chat: Hello, Conduit!" in result.stdout
    assert "tools: add {'a': 20, 'b': 22} -> The sum is 42." in result.stdout
