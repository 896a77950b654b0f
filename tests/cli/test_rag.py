"""`conduit rag index` / `conduit rag ask`, through click's CliRunner."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from conduit.cli.rag import parse_where, rag
from conduit.odometer import SQLiteEventStore, TokenEvent


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    root.mkdir()
    (root / "cats.md").write_text("# Cats\n\nCats purr and sleep most of the day.")
    (root / "trains.md").write_text("# Trains\n\nTrains run on rails between stations.")
    (root / "notes.txt").write_text("Bananas are rich in potassium.")
    return root


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CONDUIT_DATA_DIR", str(tmp_path / "data"))
    return CliRunner()


def test_index_then_ask_with_the_default_store(
    runner: CliRunner, docs: Path, tmp_path: Path
) -> None:
    result = runner.invoke(rag, ["index", str(docs)])
    assert result.exit_code == 0, result.output
    assert "indexed 3 chunks from 3 files" in result.output
    assert (tmp_path / "data" / "rag.sqlite3").is_file()

    result = runner.invoke(
        rag, ["ask", "Do", "trains", "use", "rails?", "--model", "fake/echo", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert Path(data["sources"][0]["source"]).name == "trains.md"
    assert "Question: Do trains use rails?" in data["answer"]  # fake/echo repeats the prompt


def test_ask_streams_and_lists_sources(runner: CliRunner, docs: Path, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'x.db'}"
    assert (
        runner.invoke(rag, ["index", str(docs), "--store", store, "--chunk-size", "200"]).exit_code
        == 0
    )
    result = runner.invoke(
        rag, ["ask", "What do cats do?", "--store", store, "-m", "fake/echo", "-k", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "Sources:" in result.output
    assert "cats.md" in result.output.split("Sources:")[1]
    # The answer's call is in the one usage ledger; --no-log leaves it out.
    quiet = ["ask", "Trains?", "--store", store, "-m", "fake/echo", "--no-log"]
    assert runner.invoke(rag, quiet).exit_code == 0
    assert [(e.model, e.tag, e.tags) for e in _ledger(tmp_path / "data")] == [
        ("echo", "cli", ("rag",))
    ]


def _ledger(data: Path) -> list[TokenEvent]:
    async def read() -> list[TokenEvent]:
        store = SQLiteEventStore(data / "usage.sqlite3")
        try:
            return await store.events()
        finally:
            await store.aclose()

    return asyncio.run(read())


def test_filters_and_hybrid(runner: CliRunner, docs: Path) -> None:
    assert runner.invoke(rag, ["index", str(docs)]).exit_code == 0
    result = runner.invoke(
        rag,
        ["ask", "potassium", "-m", "fake/echo", "--json", "--hybrid", "--where", "type=text"],
    )
    assert result.exit_code == 0, result.output
    sources = json.loads(result.output)["sources"]
    assert [Path(s["source"]).name for s in sources] == ["notes.txt"]


def test_empty_store_and_bad_store_say_what_to_do(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(rag, ["ask", "anything", "-m", "fake/echo"])
    assert result.exit_code == 1
    assert "conduit rag index PATH" in result.output
    result = runner.invoke(rag, ["ask", "x", "--store", "mongo://db"])
    assert result.exit_code == 1
    assert "unknown vector store" in result.output
    result = runner.invoke(rag, ["index", str(tmp_path), "--store", "mongo://db"])
    assert result.exit_code == 1
    assert "unknown vector store" in result.output


def test_parse_where() -> None:
    assert parse_where(("a=1", "b=true", "c=x", "a=2.5", "a=y")) == {
        "a": [1, 2.5, "y"],
        "b": True,
        "c": "x",
    }
    with pytest.raises(click.BadParameter):
        parse_where(("novalue",))
