from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta

import pytest

from conduit.cli.main import main
from conduit.cli.usage import plot
from conduit.errors import ValidationError
from conduit.memory import SQLiteMessageStore
from conduit.odometer import SQLiteEventStore, TokenEvent, UsageReport
from conduit.schema import Response, TextBlock, Usage, user

NOW = datetime.now(UTC)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CONDUIT_DATA_DIR", str(tmp_path))

    async def fill() -> str:
        events = SQLiteEventStore(tmp_path / "usage.sqlite3")
        await events.record_many(
            [
                TokenEvent(provider="openai", model="gpt-4o", input_tokens=10, output_tokens=5,
                           cost=0.25, timestamp=NOW - timedelta(days=3), tag="a"),
                TokenEvent(provider="anthropic", model="claude", input_tokens=7, timestamp=NOW),
            ]
        )  # fmt: skip
        await events.aclose()
        history = SQLiteMessageStore(tmp_path / "history.sqlite3")
        chat = await history.create("Trip to Paris")
        reply = Response(model="gpt-4o", provider="openai", usage=Usage(input_tokens=3),
                         content=[TextBlock(text="Sure")])  # fmt: skip
        await history.append(chat.id, user("Book the Louvre"), reply)
        await history.aclose()
        return chat.id

    return tmp_path, asyncio.run(fill())


def test_usage_table_json_and_filters(data_dir, capsys) -> None:
    assert main(["usage"]) == 0
    out = capsys.readouterr().out
    assert "openai" in out
    assert "anthropic" in out
    assert "total" in out
    assert "0.250000" in out
    assert main(["usage", "--json", "--by", "tag", "--days", "1"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [{"tag": None, "events": 1, "input_tokens": 7, "output_tokens": 0,
                     "cached_tokens": 0, "cost_usd": None}]  # fmt: skip
    assert main(["usage", "--provider", "nobody"]) == 0
    assert "no usage recorded yet" in capsys.readouterr().out
    assert main(["usage", "--by", "colour"]) == 1
    assert "cannot group usage by 'colour'" in capsys.readouterr().err


def test_usage_without_rich_prints_plain(data_dir, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "rich.console", None)
    assert main(["usage", "--model", "gpt-4o"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["provider", "model", "events", "input", "output",
                                           "cached", "cost", "(USD)"]  # fmt: skip


def test_usage_plot(data_dir, capsys) -> None:
    target = data_dir[0] / "usage.png"
    assert main(["usage", "--plot", str(target)]) == 0
    assert target.read_bytes()[:4] == b"\x89PNG"
    assert "wrote" in capsys.readouterr().err
    with pytest.raises(ValidationError, match="by day"):
        plot(UsageReport(("model",), []), target)


def test_usage_plot_without_matplotlib_says_how_to_install(data_dir, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["usage", "--plot", "x.png"]) == 1
    assert 'pip install "conduit[plot]"' in capsys.readouterr().err


def test_history_commands(data_dir, capsys) -> None:
    _, chat_id = data_dir
    assert main(["history", "list"]) == 0
    assert "Trip to Paris" in capsys.readouterr().out
    assert main(["history", "show", chat_id]) == 0
    out = capsys.readouterr().out
    assert "user: Book the Louvre" in out
    assert "assistant: Sure  [gpt-4o, 3 tokens]" in out
    assert main(["history", "search", "louvre"]) == 0
    assert "#0" in capsys.readouterr().out
    assert main(["history", "search", "zzz"]) == 0
    assert "nothing found" in capsys.readouterr().out
    assert main(["history", "copy", chat_id, "--title", "B"]) == 0
    copy_id = capsys.readouterr().out.strip()
    assert main(["history", "delete", copy_id]) == 0
    assert "deleted" in capsys.readouterr().out
    assert main(["history", "delete", copy_id]) == 0
    assert "no conversation" in capsys.readouterr().out
    assert main(["history", "show", "missing"]) == 1
    assert "no conversation 'missing'" in capsys.readouterr().err
    assert main(["history", "prune", "--days", "1"]) == 0
    assert "deleted 0 conversation(s)" in capsys.readouterr().out
    assert main(["history"]) == 2


def test_usage_of_one_gateway_key(data_dir, capsys) -> None:
    async def add() -> None:
        events = SQLiteEventStore(data_dir[0] / "usage.sqlite3")
        await events.record(TokenEvent(provider="openai", model="gpt-4o", input_tokens=2,
                                       key_id="key_team", status=200))  # fmt: skip
        await events.aclose()

    asyncio.run(add())
    assert main(["usage", "--key", "key_team", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [
        {"key": "key_team", "model": "gpt-4o", "events": 1, "input_tokens": 2,
         "output_tokens": 0, "cached_tokens": 0, "cost_usd": rows[0]["cost_usd"]}
    ]  # fmt: skip
    assert main(["usage", "--key", "key_nobody"]) == 0
    assert "no usage recorded yet" in capsys.readouterr().out
