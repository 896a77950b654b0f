"""docs/cli.md's reference is generated from the click commands: it may not drift."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conduit.cli.main import COMMANDS
from conduit.cli.reference import BEGIN, update_page

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "cli.md"
SRC = ROOT / "src"


def test_the_reference_matches_the_commands() -> None:
    """Checked in a fresh process, as the page is generated (see conduit.cli.reference)."""
    done = subprocess.run(
        [sys.executable, "-m", "conduit.cli.reference", "--check", str(PAGE)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        check=False,
    )
    assert done.returncode == 0, (
        f"docs/cli.md is out of date: run `python -m conduit.cli.reference docs/cli.md`"
        f"\n{done.stderr}"
    )


def test_update_page_replaces_only_its_section() -> None:
    page = PAGE.read_text(encoding="utf-8")
    updated = update_page(page)
    assert updated.partition(BEGIN)[0] == page.partition(BEGIN)[0]
    assert updated.count(BEGIN) == 1


def test_every_command_is_in_the_page() -> None:
    page = PAGE.read_text(encoding="utf-8")
    for name in COMMANDS:
        assert f"### `conduit {name}`" in page
        assert f"`conduit {name}" in page.partition("## Reference")[0], name
