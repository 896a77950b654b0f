"""`conduit logs` and conversations that go on: `ask -c/--cid`, `chat --continue`, all
in the one history store (issue 26)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import conduit.api as api
from conduit.cli.chat import chat_command
from conduit.cli.main import main
from conduit.providers.fake import FunctionModel
from conduit.schema import Response, TextBlock


class _TerminalStdin:
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CONDUIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CONDUIT_LEDGER", str(tmp_path / "usage.sqlite3"))
    monkeypatch.delenv("CONDUIT_NO_LOG", raising=False)
    monkeypatch.delenv("CONDUIT_MODEL", raising=False)
    monkeypatch.setattr(sys, "stdin", _TerminalStdin())


def _logs(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["logs", "--json", *args]) == 0
    result: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return result


def test_logs_list_search_and_filter(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "-m", "fake/echo", "the quick brown fox"]) == 0
    assert main(["ask", "-m", "fake/echo", "a lazy dog sleeps"]) == 0
    assert main(["ask", "-m", "fake/echo", "--no-log", "never kept"]) == 0
    everything = _logs(capsys)
    assert [e["prompt"] for e in everything] == ["the quick brown fox", "a lazy dog sleeps"]
    assert everything[0]["model"] == "fake/echo"
    assert everything[0]["usage"]["output_tokens"] > 0
    assert [e["response"] for e in _logs(capsys, "-q", "lazy")] == ["a lazy dog sleeps"]
    assert _logs(capsys, "-q", "fox?") != []  # punctuation is not query syntax
    assert _logs(capsys, "-q", "unicorn") == []
    assert len(_logs(capsys, "-m", "echo")) == 2
    assert _logs(capsys, "-m", "openai/gpt-4o") == []
    cid = everything[1]["conversation_id"]
    assert [e["prompt"] for e in _logs(capsys, "--cid", cid)] == ["a lazy dog sleeps"]
    assert _logs(capsys, "--since", "2999-01-01") == []
    assert len(_logs(capsys, "--until", "2999-01-01", "-n", "1")) == 1
    capsys.readouterr()
    assert main(["logs", "-q", "quick"]) == 0
    text = capsys.readouterr().out
    assert "> the quick brown fox" in text
    assert "fake/echo" in text


def test_ask_continue_keeps_model_and_system_prompt(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[Any]] = []

    def reply(messages: list[Any], options: object) -> Response:
        seen.append(messages)
        return Response(
            model="scripted", provider="fake", content=[TextBlock(text=f"answer {len(seen)}")]
        )

    scripted = FunctionModel(reply)
    refs: list[str] = []

    def build(ref: str, **kw: Any) -> FunctionModel:
        refs.append(ref)
        return scripted

    monkeypatch.setattr(api, "model", build)
    assert main(["ask", "-m", "fake/scripted", "-s", "You are a pirate.", "Hello"]) == 0
    assert main(["ask", "-c", "And then?"]) == 0
    assert refs == ["fake/scripted", "fake/scripted"]  # the model came from the log
    assert [(m.role, m.text) for m in seen[1]] == [
        ("system", "You are a pirate."),
        ("user", "Hello"),
        ("assistant", "answer 1"),
        ("user", "And then?"),
    ]
    cid = _logs(capsys)[0]["conversation_id"]
    assert main(["ask", "-m", "fake/scripted", "Something else"]) == 0
    assert main(["ask", "--cid", cid, "Third"]) == 0
    assert [m.text for m in seen[3]][:2] == ["You are a pirate.", "Hello"]
    assert len(_logs(capsys, "--cid", cid)) == 3


def test_continue_with_nothing_logged_says_what_to_do(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["ask", "-c", "hi"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("conduit: error: no conversation to continue — ")
    assert main(["ask", "--cid", "nope", "hi"]) == 1
    assert capsys.readouterr().err.startswith("conduit: error: ")


def test_chat_continue_keeps_the_system_prompt_and_model(tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(
        chat_command, ["-m", "fake/echo", "-s", "You are a pirate."], input="hello\n"
    )
    assert first.exit_code == 0, first.output
    again = runner.invoke(chat_command, ["--continue"], input="/system\n/model\nmore\n")
    assert again.exit_code == 0, again.output
    assert "conduit chat · fake/echo, continuing" in again.output
    assert "system: You are a pirate." in again.output
    assert "model: fake/echo" in again.output
