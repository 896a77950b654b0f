"""`conduit models default [NAME]` and `conduit aliases set|list|remove` (issue 26)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

import conduit.api as api
from conduit.cli.main import main
from conduit.providers.fake import FunctionModel


class _TerminalStdin:
    def isatty(self) -> bool:
        return True


@pytest.fixture
def refs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    monkeypatch.setenv("CONDUIT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(sys, "stdin", _TerminalStdin())
    asked: list[str] = []
    model = FunctionModel(lambda messages, options: "ok")

    def build(ref: str, **kw: Any) -> FunctionModel:
        asked.append(ref)
        return model

    monkeypatch.setattr(api, "model", build)
    return asked


def test_default_model(
    refs: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["models", "default"]) == 0
    assert capsys.readouterr().out == "local/default\n"
    assert main(["models", "default", "fake/echo"]) == 0
    assert main(["ask", "--no-log", "hi"]) == 0
    assert refs == ["fake/echo"]
    monkeypatch.setenv("CONDUIT_MODEL", "fake/slow")  # the variable wins
    assert main(["ask", "--no-log", "hi"]) == 0
    assert main(["ask", "--no-log", "-m", "fake/other", "hi"]) == 0  # and -m over both
    assert refs[1:] == ["fake/slow", "fake/other"]
    monkeypatch.delenv("CONDUIT_MODEL")
    assert main(["config", "--json"]) == 0
    capsys.readouterr()
    assert main(["models", "default", "--clear"]) == 0
    assert capsys.readouterr().out == "local/default\n"
    assert main(["models", "default", "openai/gpt-40"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("conduit: error: ")
    assert "gpt-4o" in err


def test_aliases(refs: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["aliases", "set", "fast", "fake/echo"]) == 0
    assert main(["aliases", "set", "mini", "gpt-4o-mini"]) == 0
    assert main(["ask", "--no-log", "-m", "fast", "hi"]) == 0
    assert refs == ["fake/echo"]
    assert main(["models", "default", "fast"]) == 0  # a default may be an alias
    assert main(["ask", "--no-log", "hi"]) == 0
    assert refs[-1] == "fake/echo"
    capsys.readouterr()
    assert main(["aliases", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"fast": "fake/echo", "mini": "gpt-4o-mini"}
    assert main(["aliases", "list"]) == 0
    assert capsys.readouterr().out == "fast  fake/echo\nmini  gpt-4o-mini\n"
    assert main(["aliases", "remove", "mini"]) == 0
    assert main(["aliases", "remove", "mini"]) == 1
    assert main(["aliases", "set", "a/b", "fake/echo"]) == 1
    assert main(["aliases", "set", "x", "openai/gpt-40"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert [line.startswith("conduit: error: ") for line in err] == [False, True, True, True]


def test_broken_settings_file(refs: list[str], tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.json").write_text("{not json")
    assert main(["ask", "--no-log", "hi"]) == 1
