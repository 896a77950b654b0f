"""One usage ledger: what `conduit ask`, `chat`, `batch` and the framework's `Model` do is
recorded in the same file, and `conduit usage` shows it (issue 23, "Done when")."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conduit.cli.chat import chat_command
from conduit.cli.main import main
from conduit.odometer import SQLiteEventStore, TokenEvent


def _run(*args: str, data: Path, env: dict[str, str] | None = None, stdin: str = "") -> str:
    """`python -m conduit ARGS` (or `python -c CODE` with args ("-c", code)) with the
    data folder in `data`; returns stdout, failing the test on a non-zero exit."""
    command = (
        [sys.executable, *args] if args[0] == "-c" else [sys.executable, "-m", "conduit", *args]
    )
    environ = {**os.environ, "CONDUIT_DATA_DIR": str(data), **(env or {})}
    environ.pop("CONDUIT_LEDGER", None)
    environ.pop("CONDUIT_NO_LOG", None)
    done = subprocess.run(
        command, input=stdin, capture_output=True, text=True, env=environ, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _events(path: Path) -> list[TokenEvent]:
    async def read() -> list[TokenEvent]:
        store = SQLiteEventStore(path)
        try:
            return await store.events()
        finally:
            await store.aclose()

    return asyncio.run(read())


def _usage_json(data: Path, *args: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = json.loads(_run("usage", "--json", *args, data=data))
    return rows


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CONDUIT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CONDUIT_LEDGER", raising=False)
    monkeypatch.delenv("CONDUIT_NO_LOG", raising=False)
    return tmp_path


def test_conduit_ask_then_conduit_usage_shows_the_call(data: Path) -> None:
    assert _run("usage", data=data).strip() == "no usage recorded yet"
    assert _run("ask", "-m", "fake/echo", "hi", data=data) == "hi\n"
    table = _run("usage", data=data)
    assert "fake" in table
    assert "echo" in table
    assert _usage_json(data, "--by", "provider,model,tag,status") == [
        {
            "provider": "fake",
            "model": "echo",
            "tag": "cli",
            "status": 200,
            "events": 1,
            "input_tokens": 1,
            "output_tokens": 1,
            "cached_tokens": 0,
            "cost_usd": None,
        }
    ]


def test_model_query_then_conduit_usage_shows_it_in_the_same_ledger(data: Path) -> None:
    _run("ask", "-m", "fake/echo", "--no-stream", "from the command line", data=data)
    code = "from conduit import Model; print(Model('fake/echo').query('hi').text)"
    assert _run("-c", code, data=data) == "hi\n"
    by_tag = {row["tag"]: row["events"] for row in _usage_json(data, "--by", "tag")}
    assert by_tag == {"cli": 1, None: 1}
    ledger = data / "usage.sqlite3"
    # One usage ledger; the exchange's text is in the one history store (`conduit logs`).
    assert sorted(path.name for path in data.glob("*.sqlite3")) == [
        "history.sqlite3",
        "usage.sqlite3",
    ]
    assert [(e.provider, e.model, e.tag) for e in _events(ledger)] == [
        ("fake", "echo", "cli"),
        ("fake", "echo", None),
    ]


def test_conduit_chat_records_every_turn_under_its_conversation(data: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(chat_command, ["-m", "fake/echo"], input="one\ntwo\n/clear\nthree\n")
    assert done.exit_code == 0, done.output
    events = _events(data / "usage.sqlite3")
    assert [(e.model, e.tag, e.tags) for e in events] == [("echo", "cli", ("chat",))] * 3
    first, second, third = (e.conversation_id for e in events)
    assert first is not None
    assert first == second
    assert third is not None
    assert third != first
    rows = _usage_json(data, "--by", "conversation")
    assert sorted(row["events"] for row in rows) == [1, 2]
    # The conversation saved in the history store has the id the ledger shows.
    assert first in _run("history", "list", data=data)


def test_conduit_batch_records_every_item(data: Path) -> None:
    (data / "in.jsonl").write_text('{"w": "a"}\n{"w": "b"}\n{"w": "c"}\n')
    (data / "prompt.txt").write_text("Say {{ w }}")
    out = data / "out.jsonl"
    _run("batch", str(data / "in.jsonl"), "--prompt", str(data / "prompt.txt"), "-m",
         "fake/echo", "-q", "-o", str(out), data=data)  # fmt: skip
    assert [json.loads(line)["text"] for line in out.read_text().splitlines()] == [
        "Say a",
        "Say b",
        "Say c",
    ]
    events = _events(data / "usage.sqlite3")
    assert [(e.model, e.tag, e.tags, e.status) for e in events] == [
        ("echo", "cli", ("batch",), 200)
    ] * 3


def test_no_log_and_the_environment_turn_recording_off(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["ask", "-m", "fake/echo", "--no-log", "quiet"]) == 0
    monkeypatch.setenv("CONDUIT_NO_LOG", "1")
    assert main(["ask", "-m", "fake/echo", "also quiet"]) == 0
    runner = CliRunner()
    assert runner.invoke(chat_command, ["-m", "fake/echo", "--no-save"], input="x\n").exit_code == 0
    monkeypatch.delenv("CONDUIT_NO_LOG")
    chat = runner.invoke(chat_command, ["-m", "fake/echo", "--no-save", "--no-log"], input="y\n")
    assert chat.exit_code == 0
    capsys.readouterr()
    assert not (data / "usage.sqlite3").exists()  # not even opened
    assert main(["usage"]) == 0
    assert capsys.readouterr().out.strip() == "no usage recorded yet"


def test_a_failed_call_is_recorded_too(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import conduit.api as api
    from conduit.errors import RateLimitError
    from conduit.providers.fake import FunctionModel

    def fail(messages: object, options: object) -> str:
        raise RateLimitError("slow down", status_code=429)

    monkeypatch.setattr(api, "model", lambda ref, **kw: FunctionModel(fail))
    assert main(["ask", "-m", "x/y", "--no-stream", "hi"]) == 1
    assert "slow down" in capsys.readouterr().err
    assert [(e.model, e.status) for e in _events(data / "usage.sqlite3")] == [("function", 429)]


def test_usage_by_status_and_key_renders(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def fill() -> None:
        store = SQLiteEventStore(data / "usage.sqlite3")
        await store.record_many(
            [
                TokenEvent(provider="p", model="m", input_tokens=2, status=200, key_id="k1"),
                TokenEvent(provider="p", model="m", input_tokens=1, status=429, key_id="k1"),
            ]
        )
        await store.aclose()

    asyncio.run(fill())
    assert main(["usage", "--by", "status"]) == 0
    out = capsys.readouterr().out
    assert "200" in out
    assert "429" in out
    assert "total" in out
    assert main(["usage", "--by", "key,status,day"]) == 0
    assert "k1" in capsys.readouterr().out


def test_plot_with_nothing_recorded_is_a_clear_error_and_draws_nothing(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    target = data / "usage.png"
    assert main(["usage", "--plot", str(target)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("conduit: error: nothing to plot: no usage recorded")
    assert "make some calls first" in err
    assert not target.exists()
    assert main(["usage", "--plot", str(target), "--days", "1"]) == 1
    assert "for these filters" in capsys.readouterr().err
    assert not target.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "-m", "fake/echo", "--timeout", "-1", "hi"], "timeout must be a positive"),
        (["ask", "-m", "fake/echo", "--timeout", "nan", "hi"], "timeout must be a positive"),
        (["ask", "-m", "fake/echo", "--timeout", "soon", "hi"], "a number is needed"),
        (["chat", "--timeout", "0"], "timeout must be a positive"),
        (["batch", "x.jsonl", "--prompt", "p", "--max-retries", "-1"], "max_retries must be"),
        (["batch", "x.jsonl", "--prompt", "p", "--max-retries", "1.5"], "a whole number"),
        (["rag", "ask", "q", "--timeout", "inf"], "timeout must be a positive"),
        (["keys", "create", "--max-budget", "inf"], "max_budget must be a finite number"),
        (["keys", "create", "--rpm", "0"], "rpm must be a positive"),
        (["keys", "create", "--budget-window", "soon"], "budget_window looks like"),
    ],
)
def test_bad_numbers_are_one_line_usage_errors(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("conduit: error: Invalid value for '--"), err
    assert message in err
    assert err.count("\n") == 1
    assert "--help'" in err  # where to look


def test_a_timeout_is_applied_to_the_call(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import conduit.api as api
    from conduit.providers.fake import FunctionModel

    async def never(messages: object, options: object) -> str:
        await asyncio.Event().wait()
        return "never"

    monkeypatch.setattr(api, "model", lambda ref, **kw: FunctionModel(never))
    assert main(["ask", "-m", "x/y", "--timeout", "0.05", "--no-stream", "hi"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("conduit: error: ")
    assert "timeout" in err
    [event] = _events(data / "usage.sqlite3")
    assert event.status is not None
    assert event.status >= 400
