"""`conduit ask --schema`, `-a FILE|URL` and `-f FILE` (issue 26)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

import conduit.api as api
from conduit.cli.main import main
from conduit.cli.schema_arg import compact_schema, parse_schema
from conduit.core.protocols import Capabilities, ModelInfo
from conduit.providers.fake import FunctionModel


class _TerminalStdin:
    def isatty(self) -> bool:
        return True


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setattr(sys, "stdin", _TerminalStdin())
    seen: dict[str, Any] = {"reply": "ok"}

    def reply(messages: list[Any], options: Any) -> str:
        seen["messages"], seen["options"] = messages, options
        return str(seen["reply"])

    model = FunctionModel(reply)
    seen["model"] = model
    monkeypatch.setattr(api, "model", lambda ref, **kw: model)
    return seen


def test_compact_schema_types_and_descriptions() -> None:
    schema = compact_schema("name, age int: in years, score float, ok bool")
    assert schema["properties"] == {
        "name": {"type": "string"},
        "age": {"type": "integer", "description": "in years"},
        "score": {"type": "number"},
        "ok": {"type": "boolean"},
    }
    assert schema["required"] == ["name", "age", "score", "ok"]
    assert compact_schema("a\nb int: one, two")["properties"]["b"]["description"] == "one, two"


def test_schema_from_file_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"type": "object", "properties": {"x": {"type": "integer"}}}')
    assert parse_schema(str(path))["properties"]["x"] == {"type": "integer"}
    assert main(["ask", "--no-log", "-m", "fake/echo", "--schema", "age years", "hi"]) == 1
    assert main(["ask", "--no-log", "-m", "fake/echo", "--schema", "{not json", "hi"]) == 1


def test_schema_sends_response_format_and_prints_json(
    seen: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    seen["reply"] = 'Here: {"name": "Ada", "age": 36}'
    assert main(["ask", "--no-log", "-m", "x/y", "--schema", "name, age int", "Who?"]) == 0
    assert json.loads(capsys.readouterr().out) == {"name": "Ada", "age": 36}
    fmt = seen["options"].response_format
    assert fmt.type == "json_schema"
    assert fmt.json_schema["required"] == ["name", "age"]


def _png(tmp_path: Path) -> Path:
    from PIL import Image

    path = tmp_path / "dot.png"
    Image.new("RGB", (4, 4), "red").save(path)
    return path


def test_attach_image_audio_and_fragment(
    seen: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wav = tmp_path / "clip.wav"
    wav.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28))
    notes = tmp_path / "notes.md"
    notes.write_text("Ada wrote the first program.\n")
    png = _png(tmp_path)
    args = ["ask", "--no-log", "-m", "x/y", "-a", str(png), "-a", str(wav), "-f", str(notes)]
    assert main([*args, "Who?"]) == 0
    message = seen["messages"][-1]
    kinds = [block.type for block in message.blocks]
    assert kinds == ["text", "image", "audio"]
    assert message.blocks[0].text == "Ada wrote the first program.\n\nWho?"
    assert message.blocks[1].media_type == "image/png"
    assert message.blocks[2].format == "wav"
    assert main(["ask", "--no-log", "-m", "x/y", "-a", "https://example.com/cat.jpg"]) == 0
    assert seen["messages"][-1].blocks[0].url == "https://example.com/cat.jpg"


def test_attach_errors(
    seen: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("plain")
    assert main(["ask", "--no-log", "-m", "x/y", "-a", str(text), "hi"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("conduit: error: -a:")
    assert "not an image or audio" in err
    assert main(["ask", "--no-log", "-m", "x/y", "-a", str(tmp_path / "none.png"), "hi"]) == 1
    assert "cannot read" in capsys.readouterr().err
    seen["model"]._info = ModelInfo("x", "tiny", Capabilities(vision=False))
    assert main(["ask", "--no-log", "-m", "x/tiny", "-a", str(_png(tmp_path)), "hi"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "does not take image input" in err


def test_fragment_with_piped_text(
    seen: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("fragment")
    monkeypatch.setattr(sys, "stdin", io.StringIO("piped"))
    assert main(["ask", "--no-log", "-m", "x/y", "-f", str(notes), "Q"]) == 0
    assert seen["messages"][-1].text == "fragment\n\npiped\n\nQ"
