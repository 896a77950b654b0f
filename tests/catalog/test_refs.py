"""`"provider/model"` strings, parsed once into a `ModelRef`."""

from __future__ import annotations

from typing import Any

import pytest

from conduit.catalog import ModelRef, parse_model_ref
from conduit.errors import ValidationError


@pytest.mark.parametrize(
    ("ref", "provider", "name"),
    [
        ("openai/gpt-4o-mini", "openai", "gpt-4o-mini"),
        ("openrouter/meta-llama/llama-3-8b", "openrouter", "meta-llama/llama-3-8b"),
        ("local/path/to/model.gguf", "local", "path/to/model.gguf"),
        ("  fake/echo  ", "fake", "echo"),
        ("OpenAI/GPT-4o", "openai", "GPT-4o"),  # provider names are case-insensitive
        ("ollama/llama3:8b", "ollama", "llama3:8b"),
    ],
)
def test_parse(ref: str, provider: str, name: str) -> None:
    parsed = parse_model_ref(ref)
    assert parsed == ModelRef(provider, name)
    assert str(parsed) == f"{provider}/{name}"


def test_the_provider_is_never_guessed_from_the_model_name() -> None:
    with pytest.raises(ValidationError, match="needs a provider prefix, like 'openai/gpt-4o'"):
        parse_model_ref("gpt-4o")
    with pytest.raises(ValidationError, match="like 'openai/claude-sonnet-4-5'"):
        parse_model_ref("claude-sonnet-4-5")


@pytest.mark.parametrize("ref", ["", "   ", "openai/", "/gpt-4o", "/"])
def test_incomplete_refs(ref: str) -> None:
    with pytest.raises(ValidationError, match="needs a provider prefix"):
        parse_model_ref(ref)


@pytest.mark.parametrize("ref", [None, 42, b"openai/gpt-4o", ["openai", "gpt"]])
def test_non_strings(ref: Any) -> None:
    with pytest.raises(ValidationError, match=f"not {type(ref).__name__}"):
        parse_model_ref(ref)


def test_model_ref_is_a_frozen_value() -> None:
    ref = parse_model_ref("openai/gpt-4o")
    assert ref == parse_model_ref("openai/gpt-4o")
    assert hash(ref) == hash(parse_model_ref("openai/gpt-4o"))
    assert repr(ref) == "ModelRef(provider='openai', name='gpt-4o')"
    with pytest.raises(AttributeError):
        ref.name = "other"  # type: ignore[misc]
