"""Offline token counts: equal to tiktoken with OpenAI's own rank files."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

import conduit
from conduit.catalog import tokens
from conduit.catalog.tokens import count_tokens, encoding_for, is_exact
from conduit.errors import MissingDependencyError, ModelLoadError, ValidationError
from conduit.providers.fake import MockModel
from conduit.schema import FunctionCall, Message, ToolCall, user

# The example conversation from OpenAI's cookbook "How to count tokens with tiktoken",
# with the counts the API reported for it.
COOKBOOK = [
    {
        "role": "system",
        "content": "You are a helpful, pattern-following assistant that translates corporate "
        "jargon into plain English.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "New synergies will help drive top-line growth.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Things working well together will increase revenue.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "Let's circle back when we have more bandwidth to touch base on "
        "opportunities for increased leverage.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Let's talk later when we're less busy about how to do better.",
    },
    {
        "role": "user",
        "content": "This late pivot means we don't have time to boil the ocean for the client "
        "deliverable.",
    },
]

SAMPLES = [
    "tiktoken is great!",
    "hello world",
    "Résumé naïve café 東京 🚀",
    "def f(x):\n    return x ** 2\n",
    "<|endoftext|> is only text here",
    " leading and trailing spaces ",
    "",
]


@pytest.mark.parametrize(("model", "expected"), [("gpt-4", 6), ("gpt-4o", 6)])
def test_known_string(model: str, expected: int) -> None:
    assert count_tokens(f"openai/{model}", "tiktoken is great!") == expected


@pytest.mark.parametrize(
    ("model", "expected"),
    [("gpt-3.5-turbo", 129), ("gpt-4", 129), ("gpt-4o", 124), ("gpt-4o-mini", 124)],
)
def test_cookbook_conversation_matches_the_api(model: str, expected: int) -> None:
    assert count_tokens(f"openai/{model}", COOKBOOK) == expected


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_same_tokens_as_the_bpe_openai_reference(name: str) -> None:
    import warnings

    import tiktoken

    with warnings.catch_warnings():  # bpe_openai reads its files with a deprecated API
        warnings.simplefilter("ignore", DeprecationWarning)
        from bpe_openai import registry

        reference = tiktoken.Encoding(**getattr(registry, name)())
    ours = tokens._encoding(name)
    for text in SAMPLES:
        assert ours.encode(text, disallowed_special=()) == reference.encode(
            text, disallowed_special=()
        )
    assert ours.special_tokens_set == reference.special_tokens_set


def test_model_names_pick_their_encoding() -> None:
    assert encoding_for("gpt-4o-mini").name == "o200k_base"
    assert encoding_for("text-embedding-3-small").name == "cl100k_base"
    assert encoding_for("gpt-99-preview").name == "o200k_base"  # unknown: the newest


def test_tool_calls_count_their_json() -> None:
    call = ToolCall(id="c1", function=FunctionCall.from_arguments("get_weather", {"city": "Oslo"}))
    plain = count_tokens("openai/gpt-4o", [Message(role="assistant", content="ok")])
    with_call = count_tokens(
        "openai/gpt-4o", [Message(role="assistant", content="ok", tool_calls=[call])]
    )
    enc = encoding_for("gpt-4o")
    assert with_call - plain == len(enc.encode("get_weather")) + len(
        enc.encode(call.function.raw_arguments)
    )


def test_other_providers_get_an_estimate() -> None:
    assert not is_exact("anthropic/claude-sonnet-4-5")
    assert is_exact("openai/gpt-4o")
    assert is_exact("local/default")
    assert count_tokens("anthropic/claude-sonnet-4-5", "hello world") == 2
    assert count_tokens("anthropic/claude-sonnet-4-5", [user("hello world")]) == 3 + 1 + 2 + 3


def test_a_chat_model_object_is_accepted() -> None:
    model = MockModel(["x"])
    assert count_tokens(model, "hello world") == 2
    with pytest.raises(ValidationError, match="model string or a ChatModel"):
        count_tokens(42, "hi")  # type: ignore[arg-type]


def test_without_tiktoken_the_estimate_is_four_characters_a_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setattr(tokens, "_encodings", {})
    monkeypatch.setitem(sys.modules, "tiktoken", None)
    assert count_tokens("anthropic/claude", "x" * 10) == 3
    # "user" + 8 characters = 12 characters = 3 tokens, + 3 for the message, + 3 primer.
    assert count_tokens("anthropic/claude", [user("x" * 8)]) == 3 + 3 + 3
    with pytest.raises(MissingDependencyError, match=r"conduit\[tokens\]"):
        count_tokens("openai/gpt-4", "hi")


def test_missing_bpe_openai_is_an_install_instruction(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    monkeypatch.setattr(tokens, "_encodings", {})
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "bpe_openai" else real(name, *a),
    )
    with pytest.raises(MissingDependencyError, match="bpe-openai"):
        count_tokens("openai/gpt-4o", "hi")


def test_damaged_rank_files_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "o200k_base.tiktoken.gz").write_bytes(gzip.compress(b"aGk= 0\n"))
    monkeypatch.setattr(tokens, "_encodings", {})
    monkeypatch.setattr(tokens, "_bpe_data_dir", lambda: tmp_path)
    with pytest.raises(ModelLoadError, match="force-reinstall"):
        count_tokens("openai/gpt-4o", "hi")
    with pytest.raises(MissingDependencyError, match="cl100k_base"):
        count_tokens("openai/gpt-4", "hi")  # no such file there


def test_unknown_encoding_name() -> None:
    with pytest.raises(ValidationError, match="unknown tiktoken encoding"):
        tokens._encoding("nonsense_base")


def test_local_models_count_with_their_own_tokenizer() -> None:
    from conduit.providers.local import LocalChatModel

    model = LocalChatModel("default")
    text = "hello world"
    assert conduit.count_tokens("local/default", text) == model.engine().count_text(text)
    with pytest.raises(ValidationError, match="pass the model object"):
        count_tokens("local/default", text)  # the catalog alone cannot load a model
    messages = [user("What is 2+2?")]
    rendered = count_tokens(model, messages)
    assert rendered > count_tokens(model, "What is 2+2?")  # the template's framing counts


def test_tool_definitions_and_images_count_as_openai_renders_them() -> None:
    from conduit.catalog.tokens import count_tokens, image_tokens, tool_definitions_text

    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "city": {"type": "string", "description": "The city"},
                        "unit": {"type": "string", "enum": ["c", "f"]},
                    },
                    "required": ["city"],
                },
            },
        }
    ]
    messages = [{"role": "user", "content": "hello world"}]
    plain = count_tokens("openai/gpt-4o", messages)
    assert plain == 9
    # the same numbers LiteLLM's token_counter gives (tests/compat/test_differential.py)
    assert count_tokens("openai/gpt-4o", messages, tools=tools) == 57
    text = tool_definitions_text(tools)
    assert "type get_weather = (_: {" in text
    assert 'unit?: "c" | "f",' in text
    assert "city: string," in text
    with_system = [{"role": "system", "content": "x"}, *messages]
    base = count_tokens("openai/gpt-4o", with_system)
    assert count_tokens("openai/gpt-4o", with_system, tools=tools) - base == 57 - 9 - 4
    forced = {"type": "function", "function": {"name": "get_weather"}}
    assert count_tokens("openai/gpt-4o", messages, tool_choice=forced) > plain
    low = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "hello"},
                {"type": "image", "url": "https://example.invalid/a.png", "detail": "low"},
            ],
        }
    ]
    assert count_tokens("openai/gpt-4o", low) == count_tokens("openai/gpt-4o", "x") + 7 + 85
    png = b"\x89PNG\r\n\x1a\n" + bytes(8) + (4096).to_bytes(4, "big") + (2048).to_bytes(4, "big")
    assert image_tokens("high", png) == 85 + 170 * 6  # 2048x1024 -> 1536x768: 3x2 tiles
    assert image_tokens("high", b"not an image") == 85
