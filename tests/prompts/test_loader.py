"""PromptLoader: lazy, confined to its directory."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from conduit.prompts import DirectoryLoader, PromptError, PromptLoader, UnsafeTemplateError


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    root = tmp_path / "prompts"
    (root / "chat").mkdir(parents=True)
    (root / "summarize.j2").write_text("Summarize in {{ words }} words:\n{{ text }}", "utf-8")
    (root / "chat" / "system.md").write_text("You are {{ persona }}.", "utf-8")
    (root / "notes.cfg").write_text("plain {{ x }}", "utf-8")
    (root / ".hidden.j2").write_text("secret", "utf-8")
    (tmp_path / "secret.j2").write_text("TOP SECRET {{ x }}", "utf-8")
    return root


def test_names_and_lazy_get(prompts: Path) -> None:
    loader = PromptLoader(prompts)
    assert loader.names() == ["chat/system", "notes.cfg", "summarize"]
    assert loader.directory == prompts.resolve()
    assert "summarize" in repr(loader) or "prompts" in repr(loader)
    p = loader["summarize"]
    assert p.input_schema == {"words", "text"}
    assert loader.get("summarize") is p  # cached
    assert loader.get("summarize.j2").render(words=5, text="t") == "Summarize in 5 words:\nt"
    assert loader.render("chat/system", persona="terse") == "You are terse."
    assert loader.render("notes.cfg", {"x": 1}) == "plain 1"


def test_changed_files_are_read_again(prompts: Path) -> None:
    loader = PromptLoader(prompts)
    first = loader.get("chat/system")
    path = prompts / "chat" / "system.md"
    path.write_text("Now {{ who }}.", "utf-8")
    later = time.time() + 5
    os.utime(path, (later, later))
    second = loader.get("chat/system")
    assert second is not first
    assert second.render(who="x") == "Now x."


def test_a_deleted_file_is_not_served_from_the_cache(prompts: Path) -> None:
    loader = PromptLoader(prompts)
    loader.get("summarize")
    (prompts / "summarize.j2").unlink()
    with pytest.raises(PromptError, match="no prompt 'summarize'"):
        loader.get("summarize")


def test_contains_and_not_found(prompts: Path) -> None:
    loader = PromptLoader(prompts)
    assert "summarize" in loader
    assert "missing" not in loader
    assert "../secret" not in loader
    assert 3 not in loader
    with pytest.raises(PromptError, match=r"no prompt .missing..*there are: chat/system"):
        loader.get("missing")
    with pytest.raises(PromptError, match="does not exist"):
        PromptLoader(prompts / "nope")


@pytest.mark.parametrize(
    "name",
    [
        "../secret",
        "../secret.j2",
        "chat/../../secret.j2",
        "/etc/passwd",
        "..\\secret.j2",
        "C:secret.j2",
        "",
        "a\x00b",
    ],
)
def test_path_traversal_is_refused(prompts: Path, name: str) -> None:
    loader = PromptLoader(prompts)
    with pytest.raises(UnsafeTemplateError, match="refused"):
        loader.get(name)


def test_symlinks_out_of_the_directory_are_refused(prompts: Path) -> None:
    link = prompts / "escape.j2"
    link.symlink_to(prompts.parent / "secret.j2")
    loader = PromptLoader(prompts)
    with pytest.raises(UnsafeTemplateError, match="outside"):
        loader.get("escape")
    inside = prompts / "alias.j2"
    inside.symlink_to(prompts / "summarize.j2")
    assert loader.get("alias").input_schema == {"words", "text"}


def test_includes_and_extends_stay_inside(prompts: Path) -> None:
    (prompts / "base.j2").write_text("[{% block body %}{% endblock %}]", "utf-8")
    (prompts / "child.j2").write_text(
        '{% extends "base.j2" %}{% block body %}{{ x }}{% endblock %}', "utf-8"
    )
    (prompts / "sneaky.j2").write_text('{% include "../secret.j2" %}', "utf-8")
    loader = PromptLoader(prompts)
    assert loader.render("child", x=1) == "[1]"
    with pytest.raises(UnsafeTemplateError):
        loader.get("sneaky")


def test_custom_suffixes(prompts: Path) -> None:
    loader = PromptLoader(prompts, suffixes=[".cfg"])
    assert loader.render("notes", x=2) == "plain 2"
    assert DirectoryLoader(prompts, [".cfg"]).list_templates() == [
        "chat/system.md",
        "notes",
        "summarize.j2",
    ]
