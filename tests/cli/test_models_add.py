"""`conduit models add PATH --alias NAME`: any GGUF file as `local/NAME` (issue 26)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conduit.cli.main import main
from conduit.providers.local import LocalChatModel


@pytest.fixture(autouse=True)
def _data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CONDUIT_DATA_DIR", str(tmp_path / "data"))


def test_a_gguf_file_registered_under_an_alias(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "My-Model.Q4.gguf"
    file.write_bytes(b"GGUF" + bytes(60))
    assert main(["models", "add", str(file), "--alias", "Mine"]) == 0
    assert "local/mine" in capsys.readouterr().out
    model = LocalChatModel("mine")  # nothing loads until the first call
    assert model.path_on_disk == file.resolve()
    assert model.model_info.ref == "local/mine"
    assert main(["models", "list", "-p", "local"]) == 0
    assert f"local/mine  {file.resolve()}" in capsys.readouterr().out


def test_bad_files_and_names_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.gguf"
    text.write_text("hello")
    assert main(["models", "add", str(text), "--alias", "notes"]) == 1
    assert "not a GGUF model file" in capsys.readouterr().err
    assert main(["models", "add", str(tmp_path / "none.gguf"), "--alias", "x"]) == 1
    assert "no model file" in capsys.readouterr().err
    text.write_bytes(b"GGUF")
    assert main(["models", "add", str(text), "--alias", "default"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("conduit: error: alias 'default' cannot name a local model — ")
