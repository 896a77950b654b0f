"""Saved prompt templates: `ask --save NAME`, `ask -t NAME`, `conduit templates` (issue 26)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

import conduit.api as api
from conduit.cli.main import main
from conduit.cli.templates import load_template, template_path
from conduit.providers.fake import FunctionModel


class _TerminalStdin:
    def isatty(self) -> bool:
        return True


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    monkeypatch.setenv("CONDUIT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(sys, "stdin", _TerminalStdin())
    seen: dict[str, Any] = {"refs": []}

    def reply(messages: list[Any], options: Any) -> str:
        seen["messages"], seen["options"] = messages, options
        return "ok"

    model = FunctionModel(reply)

    def build(ref: str, **kw: Any) -> FunctionModel:
        seen["refs"].append(ref)
        return model

    monkeypatch.setattr(api, "model", build)
    return seen


def test_save_then_use(seen: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    save = ["ask", "--save", "fr", "-m", "x/saved", "-s", "Be brief.", "--temperature", "0.2"]
    assert main([*save, "-o", "top_k", "20", "Translate to French: {{ input }}"]) == 0
    assert seen["refs"] == []  # saving does not ask
    assert load_template("fr") == {
        "model": "x/saved",
        "system": "Be brief.",
        "prompt": "Translate to French: {{ input }}",
        "options": {"temperature": 0.2, "extra": {"top_k": 20}},
    }
    assert main(["ask", "--no-log", "-t", "fr", "-o", "min_p", "0.1", "Good morning"]) == 0
    assert seen["refs"] == ["x/saved"]
    assert [m.text for m in seen["messages"]] == ["Be brief.", "Translate to French: Good morning"]
    assert seen["options"].temperature == 0.2
    assert seen["options"].extra == {"top_k": 20, "min_p": 0.1}
    # Flags win over the template's.
    assert main(["ask", "--no-log", "-t", "fr", "-m", "x/other", "-s", "Shout.", "Hi"]) == 0
    assert seen["refs"][-1] == "x/other"
    assert seen["messages"][0].text == "Shout."
    capsys.readouterr()
    assert main(["templates", "list"]) == 0
    assert main(["templates", "show", "fr"]) == 0
    assert main(["templates", "path"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "fr: Translate to French: {{ input }}"
    assert 'system = "Be brief."' in out
    assert out[-1] == str(template_path("fr").parent)


def test_prompt_without_input_comes_first(seen: dict[str, Any]) -> None:
    assert main(["ask", "--save", "terse", "Answer in one word."]) == 0
    assert main(["ask", "--no-log", "-m", "x/y", "-t", "terse", "Capital of France?"]) == 0
    assert seen["messages"][-1].text == "Answer in one word.\n\nCapital of France?"
    assert main(["ask", "--no-log", "-m", "x/y", "-t", "terse"]) == 0  # the template alone
    assert seen["messages"][-1].text == "Answer in one word."


def test_errors(seen: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--no-log", "-t", "missing", "hi"]) == 1
    assert main(["ask", "--save", "../evil", "hi"]) == 1
    assert main(["ask", "--save", "empty"]) == 1
    assert main(["templates", "show", "missing"]) == 1
    assert main(["ask", "--save", "vars", "Hello {{ name }}"]) == 0
    assert main(["ask", "--no-log", "-m", "x/y", "-t", "vars", "hi"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 6
    assert all(line.startswith("conduit: error: ") for line in err[:4] + err[5:])
    assert "'conduit templates list'" in err[0]
    assert "only {{ input }}" in err[-1]


def test_round_trip_of_awkward_values(seen: dict[str, Any]) -> None:
    from conduit.cli.templates import save_template

    template = {
        "system": 'He said "hi"\n\tthen — left \\ 🙂',
        "options": {
            "stop": ["END", "\n\n"],
            "temperature": 1e-05,
            "extra": {"grammar": {"a b": [1, True, None is None]}, "odd key": "x"},
        },
    }
    save_template("odd", template)
    assert load_template("odd") == template


def test_chat_uses_a_templates_system_model_and_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from conduit.cli.chat import chat_command
    from conduit.cli.templates import save_template

    monkeypatch.setenv("CONDUIT_CONFIG_DIR", str(tmp_path / "config"))
    save_template(
        "pirate", {"system": "You are a pirate.", "model": "fake/echo", "options": {"seed": 7}}
    )
    result = CliRunner().invoke(
        chat_command, ["-t", "pirate", "--no-save", "--no-log"], input="/system\n/model\n"
    )
    assert result.exit_code == 0, result.output
    assert "conduit chat · fake/echo" in result.output
    assert "You are a pirate." in result.output
