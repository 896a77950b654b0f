"""`conduit ask`: arguments, stdin, model choice, errors, and the real local model."""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conduit.cli import ask
from conduit.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


class _Stdin(io.StringIO):
    def __init__(self, text: str, *, tty: bool) -> None:
        super().__init__(text)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.fixture(autouse=True)
def _terminal_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin("", tty=True))


def test_asks_and_prints_the_streamed_answer(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "-m", "fake/echo", "hello", "there"]) == 0
    assert capsys.readouterr().out == "hello there\n"


def test_no_stream_prints_the_whole_answer(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--model", "fake/echo", "--no-stream", "Hi"]) == 0
    assert capsys.readouterr().out == "Hi\n"


def test_piped_text_comes_before_the_question(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin("the notes\n", tty=False))
    assert main(["ask", "-m", "fake/echo", "Summarise"]) == 0
    assert capsys.readouterr().out == "the notes\n\nSummarise\n"


def test_stdin_alone_is_the_question(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin("What is 2+2?", tty=False))
    assert main(["ask", "-m", "fake/echo"]) == 0
    assert capsys.readouterr().out == "What is 2+2?\n"


def test_unreadable_stdin_is_ignored() -> None:
    class Closed(_Stdin):
        def read(self, *args: object) -> str:
            raise OSError("closed")

    assert ask.build_prompt(["Hi"], Closed("", tty=False)) == "Hi"


def test_options_reach_the_model(capsys: pytest.CaptureFixture[str]) -> None:
    from conduit.providers.fake import FunctionModel
    from conduit.schema import Response, TextBlock

    seen = {}

    def reply(messages: list, options: object) -> Response:  # type: ignore[type-arg]
        seen["messages"], seen["options"] = messages, options
        return Response(content=[TextBlock(text="ok")])

    import conduit.api as api

    model = FunctionModel(reply)
    original = api.model
    api.model = lambda ref, **kw: model  # type: ignore[assignment]
    try:
        code = main(
            [
                "ask",
                "-m",
                "x/y",
                "-s",
                "Be brief.",
                "--max-tokens",
                "9",
                "--temperature",
                "0.5",
                "--seed",
                "3",
                "--no-stream",
                "Hi",
            ]
        )
    finally:
        api.model = original
    assert code == 0
    assert capsys.readouterr().out == "ok\n"
    assert [m.role for m in seen["messages"]] == ["system", "user"]
    options = seen["options"]
    assert (options.max_tokens, options.temperature, options.seed) == (9, 0.5, 3)  # type: ignore[attr-defined]


def test_the_default_model_comes_from_the_environment() -> None:
    args = argparse.Namespace(model=None)
    assert ask.resolve_model(args, {}) == "local/default"
    assert ask.resolve_model(args, {"CONDUIT_MODEL": "openai/gpt-4o"}) == "openai/gpt-4o"
    assert ask.resolve_model(argparse.Namespace(model="fake/echo"), {"CONDUIT_MODEL": "x/y"}) == (
        "fake/echo"
    )


def test_conduit_model_variable_is_used(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONDUIT_MODEL", "fake/echo")
    assert main(["ask", "from env"]) == 0
    assert capsys.readouterr().out == "from env\n"


def test_no_question_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "-m", "fake/echo"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("conduit: error: ask what?")
    assert err.count("\n") == 1


def test_provider_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "-m", "nope/model", "Hi"]) == 1
    err = capsys.readouterr().err
    assert "unknown provider 'nope'" in err
    assert "Traceback" not in err


def test_missing_key_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "-m", "openai/gpt-4o", "Hi"]) == 1
    assert "OPENAI_API_KEY" in capsys.readouterr().err


def test_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(ask, "run", interrupted)
    assert main(["ask", "-m", "fake/echo", "Hi"]) == 130


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "ask" in capsys.readouterr().err


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conduit", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def test_the_real_local_model_answers_offline() -> None:
    done = _cli("ask", "What is 2+2?", "--temperature", "0", "--max-tokens", "40")
    assert done.returncode == 0, done.stderr
    assert "4" in done.stdout
    assert done.stderr == ""


def test_a_missing_extra_is_a_one_line_fix(tmp_path: Path) -> None:
    shadow = tmp_path / "llama_cpp"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("raise ImportError('No module named llama_cpp')\n")
    done = _cli("ask", "Hi", env={"PYTHONPATH": str(tmp_path)})
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert 'pip install "conduit[local]"' in done.stderr
    assert "Traceback" not in done.stderr
