"""`ask -c/--cid` and `chat --continue` go on with the conversation's options
(temperature, max_tokens, -o extras...); flags on the call that goes on win (issue 26)."""

from __future__ import annotations

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


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The options of every call, in order (a model that records them)."""
    calls: list[dict[str, Any]] = []

    def reply(messages: list[Any], options: Any) -> Response:
        calls.append(options.model_dump(exclude_none=True, exclude_defaults=True))
        return Response(model="rec", provider="fake", content=[TextBlock(text="ok")])

    recorder = FunctionModel(reply)
    monkeypatch.setattr(api, "model", lambda ref, **kw: recorder)
    return calls


def _sampling(options: dict[str, Any]) -> dict[str, Any]:
    keys = ("temperature", "max_tokens", "top_p", "seed", "stop", "extra")
    return {k: options[k] for k in keys if options.get(k)}


def test_ask_continue_keeps_the_options_and_flags_win(seen: list[dict[str, Any]]) -> None:
    first = ["ask", "-m", "fake/rec", "--temperature", "0.3", "-o", "max_tokens", "50"]
    assert main([*first, "-o", "top_k", "4", "-o", "stop", "END", "--seed", "7", "hi"]) == 0
    asked = {"temperature": 0.3, "max_tokens": 50, "seed": 7, "stop": ["END"]}
    asked["extra"] = {"top_k": 4}
    assert _sampling(seen[0]) == asked
    assert main(["ask", "-c", "again"]) == 0
    assert _sampling(seen[1]) == asked
    assert main(["ask", "-c", "--temperature", "0.9", "-o", "top_k", "8", "hotter"]) == 0
    hotter = {**asked, "temperature": 0.9, "extra": {"top_k": 8}}
    assert _sampling(seen[2]) == hotter
    assert main(["ask", "-c", "and now?"]) == 0  # goes on with the last ones used
    assert _sampling(seen[3]) == hotter
    assert main(["ask", "-m", "fake/rec", "a new one"]) == 0  # a new conversation: none
    assert _sampling(seen[4]) == {}


def test_ask_cid_picks_that_conversations_options(seen: list[dict[str, Any]]) -> None:
    from conduit.core.sync import run_sync
    from conduit.memory import message_store

    assert main(["ask", "-m", "fake/rec", "--temperature", "0.2", "first"]) == 0
    assert main(["ask", "-m", "fake/rec", "--temperature", "1.5", "second"]) == 0

    async def first_id() -> str:
        store = message_store()
        try:
            return next(c.id for c in await store.conversations() if c.title == "first")
        finally:
            await store.aclose()

    assert main(["ask", "--cid", run_sync(first_id()), "more"]) == 0
    assert seen[-1]["temperature"] == 0.2


def test_chat_continue_keeps_the_options(seen: list[dict[str, Any]]) -> None:
    runner = CliRunner()
    first = runner.invoke(
        chat_command, ["-m", "fake/rec", "--temperature", "0.3", "--max-tokens", "50"], input="a\n"
    )
    assert first.exit_code == 0, first.output
    again = runner.invoke(chat_command, ["--continue"], input="b\n")
    assert again.exit_code == 0, again.output
    assert _sampling(seen[1]) == {"temperature": 0.3, "max_tokens": 50}
    over = runner.invoke(chat_command, ["--continue", "--max-tokens", "9"], input="c\n")
    assert over.exit_code == 0, over.output
    assert _sampling(seen[2]) == {"temperature": 0.3, "max_tokens": 9}
    assert main(["ask", "-c", "from ask"]) == 0  # one history: ask goes on with them too
    assert _sampling(seen[3]) == {"temperature": 0.3, "max_tokens": 9}
