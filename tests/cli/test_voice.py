"""One voice: every error path prints one `conduit: error: <what> — <what to do>` line,
no traceback (unless --traceback), and exits non-zero (issue 26)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from conduit.cli.main import main


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("OPENAI_API_KEY", "CONDUIT_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONDUIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CONDUIT_NO_LOG", "1")


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert err.startswith("conduit: error: "), err
    assert "Traceback" not in err
    return err


def test_missing_key_names_the_variable_once_and_no_python_argument(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["ask", "-m", "openai/gpt-4o", "hi"]) == 1
    line = _one_error_line(capsys)
    assert "OPENAI_API_KEY" in line
    assert "api_key=" not in line
    assert line.count("OPENAI_API_KEY") == 1
    assert " — " in line


def test_a_mistyped_model_is_unknown_with_a_suggestion(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["ask", "-m", "openai/gpt-40", "hi"]) == 1
    line = _one_error_line(capsys)
    assert "unknown model" in line
    assert "openai/gpt-4o" in line
    assert "API key" not in line


def test_unknown_commands_get_did_you_mean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["aks", "hi"]) == 2
    assert "Did you mean 'ask'?" in _one_error_line(capsys)
    assert main(["models", "lst"]) == 2
    assert "Did you mean 'list'?" in _one_error_line(capsys)


def test_rag_ask_refuses_a_store_that_does_not_exist(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store = tmp_path / "newfile.sqlite3"
    assert main(["rag", "ask", "--store", str(store), "What is it?"]) == 1
    line = _one_error_line(capsys)
    assert "no RAG store" in line
    assert "conduit rag index" in line
    assert not store.exists()


def test_image_errors_speak_the_same_voice(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["image", "-m", "openai/gpt-image-1", "a cat"]) == 1
    assert "OPENAI_API_KEY" in _one_error_line(capsys)


def test_a_bug_is_one_line_and_traceback_shows_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from conduit.cli import ask

    def broken(args: object) -> int:
        raise RuntimeError("unexpected state")

    monkeypatch.setattr(ask, "run", broken)
    assert main(["ask", "hi"]) == 1
    line = _one_error_line(capsys)
    assert "RuntimeError: unexpected state" in line
    assert "--traceback" in line
    assert main(["--traceback", "ask", "hi"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.strip().splitlines()[-1].startswith("conduit: error: RuntimeError")


def test_verbose_shows_conduits_log_on_every_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", open(__file__))  # noqa: SIM115 - closed below
    logger = logging.getLogger("conduit")
    handlers = list(logger.handlers)
    try:
        from conduit.cli import ask

        def logs(args: object) -> int:
            logging.getLogger("conduit.test").info("a record")
            return 0

        monkeypatch.setattr(ask, "run", logs)
        assert main(["-v", "ask", "hi"]) == 0
        assert "conduit: INFO conduit.test: a record" in capsys.readouterr().err
        assert logger.handlers == handlers  # put back when the command ends
    finally:
        sys.stdin.close()
        logger.handlers = handlers
        logger.setLevel(logging.NOTSET)
