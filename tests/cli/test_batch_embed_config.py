"""`conduit batch`, `conduit embed`, `conduit config` and the group itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conduit.cli.batch import batch_command, read_inputs
from conduit.cli.config import config_command, config_report
from conduit.cli.embed import embed_command
from conduit.cli.main import cli, main
from conduit.errors import ValidationError


def _files(tmp_path: Path, lines: list[str]) -> tuple[Path, Path]:
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("\n".join(lines) + "\n")
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Say {{ word }}")
    return inputs, prompt


def test_batch_writes_answers_in_input_order(tmp_path: Path) -> None:
    inputs, prompt = _files(tmp_path, [json.dumps({"word": w}) for w in ["a", "b", "c"]])
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        batch_command,
        [str(inputs), "--prompt", str(prompt), "-m", "fake/echo", "-o", str(out), "-n", "2"],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["index"], r["ok"], r["text"]) for r in rows] == [
        (0, True, "Say a"),
        (1, True, "Say b"),
        (2, True, "Say c"),
    ]
    assert not (tmp_path / "out.jsonl.partial").exists()  # the journal is gone when done


def test_batch_to_stdout_and_failed_items_exit_3(tmp_path: Path) -> None:
    inputs, prompt = _files(tmp_path, ['{"word": "ok"}', '{"nothing": 1}'])
    prompt.write_text("{{ word }}")  # the second input lacks the variable
    result = CliRunner().invoke(
        batch_command, [str(inputs), "--prompt", str(prompt), "-m", "fake/echo", "-q"]
    )
    assert result.exit_code == 3
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert rows[0]["ok"]
    assert rows[0]["text"] == "ok"
    assert rows[1]["ok"] is False
    assert rows[1]["error"]["category"] == "fix_input"
    assert "1 ok, 1 failed" in result.stderr


def test_batch_resume_uses_the_journal(tmp_path: Path) -> None:
    inputs, prompt = _files(tmp_path, ['{"word": "x"}', '{"word": "y"}'])
    out = tmp_path / "out.jsonl"
    journal = tmp_path / "out.jsonl.partial"
    journal.write_text(
        json.dumps(
            {
                "index": 0,
                "ok": True,
                "type": "response",
                "value": {"content": [{"type": "text", "text": "from before"}]},
            }
        )
        + "\n"
    )
    result = CliRunner().invoke(
        batch_command,
        [str(inputs), "--prompt", str(prompt), "-m", "fake/echo", "-o", str(out), "--resume"],
    )
    assert result.exit_code == 0, result.output
    texts = [json.loads(line)["text"] for line in out.read_text().splitlines()]
    assert texts == ["from before", "Say y"]


def test_batch_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    assert read_inputs(["", '{"a": 1}']) == [{"a": 1}]
    with pytest.raises(ValidationError, match="line 2 is not JSON"):
        read_inputs(['{"a": 1}', "{oops"])
    with pytest.raises(ValidationError, match="line 1 must be a JSON object"):
        read_inputs(["[1, 2]"])
    inputs, prompt = _files(tmp_path, ['{"word": "x"}'])
    result = CliRunner().invoke(batch_command, [str(inputs), "--prompt", str(prompt), "--resume"])
    assert isinstance(result.exception, ValidationError)


def test_main_batch_verbose_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inputs, prompt = _files(tmp_path, ['{"word": "x"}'])
    status = main(["-vv", "batch", str(inputs), "--prompt", str(prompt), "-m", "fake/echo"])
    assert status == 0
    captured = capsys.readouterr()
    assert '"text": "Say x"' in captured.out
    assert "1 ok, 0 failed" in captured.err


def test_embed_arguments_and_stdin() -> None:
    runner = CliRunner()
    result = runner.invoke(embed_command, ["-m", "fake/hash", "owl", "heron"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["text"] for r in rows] == ["owl", "heron"]
    assert len(rows[0]["embedding"]) == 32
    piped = runner.invoke(embed_command, ["-m", "fake/hash", "--vectors-only"], input="a\n\nb\n")
    vectors = [json.loads(line) for line in piped.output.splitlines()]
    assert len(vectors) == 2
    assert all(isinstance(v, list) for v in vectors)
    empty = runner.invoke(embed_command, ["-m", "fake/hash"], input="")
    assert isinstance(empty.exception, ValidationError)


def test_embed_offline_with_the_local_model() -> None:
    result = CliRunner().invoke(embed_command, ["a sentence about owls"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)["embedding"]) == 384


def test_config_never_prints_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret-value")
    monkeypatch.setenv("CONDUIT_MODEL", "openai/gpt-4o-mini")
    runner = CliRunner()
    table = runner.invoke(config_command, [])
    as_json = runner.invoke(config_command, ["--json"])
    for result in (table, as_json):
        assert result.exit_code == 0
        assert "sk-very-secret-value" not in result.output
    data = json.loads(as_json.output)
    assert data["default_model"] == "openai/gpt-4o-mini"
    assert data["providers"]["openai"] == {
        "key_variable": "OPENAI_API_KEY",
        "key": "set",
        "base_url_variable": "OPENAI_BASE_URL",
        "base_url": "https://api.openai.com/v1",
    }
    assert data["providers"]["local"]["key"] == "not needed"
    assert "openai" in table.output
    assert "set" in table.output
    assert config_report({})["providers"]["anthropic"]["key"] == "not set"


def test_group_help_version_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "chat" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert "conduit" in capsys.readouterr().out
    assert main(["nosuchcommand"]) == 2
    assert "no such command" in capsys.readouterr().err
    assert main(["models"]) == 2
    assert main(["history"]) == 2
    assert "list" in capsys.readouterr().err
    assert set(cli.list_commands(None)) >= {"ask", "chat", "batch", "embed", "config"}
