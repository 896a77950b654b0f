"""The documentation site: every page the nav names exists, every reference page points
at a real package, and `mkdocs build --strict` passes (a broken link, a missing page or
a bad cross-reference in a docstring fails it). The build runs when the `docs` extra is
installed and is skipped otherwise."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _config() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    config: dict[str, Any] = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    return config


def _pages(nav: Any) -> Iterator[str]:
    if isinstance(nav, str):
        yield nav
    elif isinstance(nav, list):
        for item in nav:
            yield from _pages(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            yield from _pages(value)


def test_nav_pages_exist() -> None:
    pages = list(_pages(_config()["nav"]))
    assert "index.md" in pages
    missing = [page for page in pages if not (DOCS / page).is_file()]
    assert missing == [], f"mkdocs.yml names pages that do not exist: {missing}"


def test_site_fetches_nothing() -> None:
    config = _config()
    assert config["strict"] is True
    assert config["theme"]["font"] is False  # no Google Fonts at build or view time
    names = [p if isinstance(p, str) else next(iter(p)) for p in config["plugins"]]
    assert {"social", "privacy"}.isdisjoint(names)  # both download at build time


@pytest.mark.parametrize("page", sorted((DOCS / "reference").glob("*.md")), ids=lambda p: p.name)
def test_reference_page_names_a_module(page: Path) -> None:
    targets = re.findall(r"^::: ([\w.]+)$", page.read_text(encoding="utf-8"), re.M)
    assert targets, f"{page.name} has no ::: directive"
    for target in targets:
        importlib.import_module(target)


@pytest.mark.slow
def test_strict_build(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert (tmp_path / "reference" / "core" / "index.html").is_file()
    assert (tmp_path / "tutorials" / "provider" / "index.html").is_file()
