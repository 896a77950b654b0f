"""`conduit secrets set|list|remove`: stored provider keys (issue 26)."""

from __future__ import annotations

import io
import logging
import stat
import sys
from pathlib import Path

import pytest

from conduit import api
from conduit.catalog import resolve_key
from conduit.catalog.secrets import secrets_path
from conduit.cli.main import main

SECRET = "sk-test-0123456789abcdef"


@pytest.fixture(autouse=True)
def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CONDUIT_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


def test_set_list_remove_never_show_the_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(SECRET + "\n"))
    assert main(["secrets", "set", "OpenAI"]) == 0
    assert stat.S_IMODE(secrets_path().stat().st_mode) == 0o600
    assert main(["secrets", "list"]) == 0
    assert main(["config"]) == 0
    out = capsys.readouterr()
    assert "openai\n" in out.out
    assert "stored" in out.out
    assert SECRET not in out.out + out.err
    assert main(["secrets", "remove", "openai"]) == 0
    assert main(["secrets", "remove", "openai"]) == 1
    err = capsys.readouterr().err
    assert err.strip().endswith("'conduit secrets list' shows the stored ones")
    assert resolve_key(None, "OPENAI_API_KEY", "openai") is None


def test_hidden_prompt_when_interactive(monkeypatch: pytest.MonkeyPatch) -> None:
    import click

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    asked: dict[str, object] = {}

    def prompt(text: str, **kwargs: object) -> str:
        asked.update(kwargs)
        return SECRET

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr(click, "prompt", prompt)
    assert main(["secrets", "set", "anthropic"]) == 0
    assert asked["hide_input"] is True
    assert resolve_key(None, "ANTHROPIC_API_KEY", "anthropic") == SECRET


def test_the_core_reads_a_stored_key_after_the_environment(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(SECRET))
    assert main(["secrets", "set", "openai"]) == 0
    assert resolve_key(None, "OPENAI_API_KEY", "openai") == SECRET
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    assert resolve_key(None, "OPENAI_API_KEY", "openai") == "sk-from-env"
    assert resolve_key("sk-given", "OPENAI_API_KEY", "openai") == "sk-given"
    monkeypatch.delenv("OPENAI_API_KEY")
    with caplog.at_level(logging.DEBUG, logger="conduit"):
        built = api.model("openai/gpt-4o-mini")  # no key error: the stored key is used
    assert SECRET not in repr(built)
    assert SECRET not in caplog.text


def test_missing_key_names_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--no-log", "-m", "openai/gpt-4o-mini", "hi"]) == 1
    err = capsys.readouterr().err
    assert "conduit secrets set" in err
    assert err.count("\n") == 1


def test_bad_input(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    assert main(["secrets", "set", "openai"]) == 1
    monkeypatch.setattr(sys, "stdin", io.StringIO(SECRET))
    assert main(["secrets", "set", "not a name"]) == 1
    assert SECRET not in capsys.readouterr().err
    assert not secrets_path().exists()
