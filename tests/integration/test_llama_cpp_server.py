"""The OpenAI adapter against a real OpenAI-compatible server over real HTTP: llama.cpp's
own server (`python -m llama_cpp.server`) running the embedded SmolLM2 model on
127.0.0.1. What a fixture cannot show — the server's real framing, chunking and usage
numbers — shows here."""

from __future__ import annotations

import pytest

from conduit.providers.openai import OpenAIChatModel
from conduit.schema import Done, TextDelta, UsageEvent, assistant, system, user


@pytest.fixture
def model(server_url: str) -> OpenAIChatModel:
    return OpenAIChatModel("smollm2", provider="openai-compatible", base_url=server_url)


async def test_plain_chat(model: OpenAIChatModel) -> None:
    async with model:
        response = await model.chat("What is 2+2?", temperature=0, max_tokens=40)
    assert "4" in response.text
    assert response.stop_reason == "end_turn"
    assert response.usage.input_tokens > 0
    assert response.usage.output_tokens > 0
    assert response.model


async def test_system_prompt(model: OpenAIChatModel) -> None:
    async with model:
        response = await model.chat(
            [system("You are a pirate."), user("Say hello.")], temperature=0, max_tokens=30
        )
    assert any(word in response.text.lower() for word in ("pirate", "captain", "arr", "matey"))


async def test_multi_turn_history_reaches_the_model(model: OpenAIChatModel) -> None:
    async with model:
        alone = await model.chat("What is my name?", temperature=0, max_tokens=10)
        history = await model.chat(
            [
                user("My name is Ann."),
                assistant("Nice to meet you, Ann!"),
                user("What is my name?"),
            ],
            temperature=0,
            max_tokens=10,
        )
    # The two earlier turns add their text plus the template's framing to the prompt.
    assert history.usage.input_tokens >= alone.usage.input_tokens + 12


async def test_max_tokens_is_reported(model: OpenAIChatModel) -> None:
    async with model:
        response = await model.chat("Tell me a long story.", max_tokens=5)
    assert response.stop_reason == "max_tokens"
    assert response.usage.output_tokens == 5


async def test_streaming_text(model: OpenAIChatModel) -> None:
    async with model:
        events = [e async for e in model.stream("Name three colors.", temperature=0, max_tokens=30)]
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 3
    done = events[-1]
    assert isinstance(done, Done)
    assert done.response.text == "".join(d.text for d in deltas)
    assert done.response.stop_reason in {"end_turn", "max_tokens"}
    usage = [e for e in events if isinstance(e, UsageEvent)]
    assert all(u.usage.total_tokens > 0 for u in usage)


def test_sync_twin(model: OpenAIChatModel) -> None:
    response = model.chat_sync("What is 2+2?", temperature=0, max_tokens=40)
    model.close()
    assert "4" in response.text
