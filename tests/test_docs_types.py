"""The first code users copy type-checks: every Python block in README.md and
docs/index.md passes `mypy --strict` as user code, against the installed package's own
type information (py.typed)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", ROOT / "docs" / "index.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for i, match in enumerate(BLOCK.finditer(page.read_text(encoding="utf-8"))):
            found.append((f"{page.name.removesuffix('.md').lower()}_{i + 1}", match.group(1)))
    return found


def test_the_pages_have_blocks() -> None:
    assert len(_blocks()) >= 3


@pytest.mark.slow
def test_every_block_passes_mypy_strict(tmp_path: Path) -> None:
    # An empty config: the user's settings are mypy's defaults plus --strict, not ours.
    (tmp_path / "none.ini").write_text("[mypy]\n", encoding="utf-8")
    files = []
    for name, code in _blocks():
        path = tmp_path / f"{name}.py"
        path.write_text(code, encoding="utf-8")
        files.append(str(path))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            "--config-file",
            str(tmp_path / "none.ini"),
            *files,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"MYPYPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
