"""The loop guard: repeated sentences and repeated stretches end a generation."""

from __future__ import annotations

import pytest

from conduit.providers.local import LocalChatModel
from conduit.providers.local.loops import LoopGuard


def _run(guard: LoopGuard, pieces: list[str]) -> str:
    shown = "".join(guard.feed(piece) for piece in pieces)
    return shown + guard.flush()


def test_a_sentence_a_third_time_stops_and_is_never_shown() -> None:
    guard = LoopGuard()
    words = ("Paris is the capital of France. " * 5).split(" ")
    shown = _run(guard, [word + " " for word in words])
    assert guard.stopped
    assert shown.count("Paris is the capital of France.") == 2


def test_a_repeated_phrase_without_sentence_ends_stops() -> None:
    guard = LoopGuard()
    shown = _run(guard, ["la Femme, "] * 40)
    assert guard.stopped
    assert len(shown) < 150


def test_ordinary_text_passes_unchanged_even_when_held() -> None:
    text = (
        "Drink water. Rest in a dark room. Drink water slowly.\n"
        "1. Sleep well.\n2. Eat well.\n3. Sleep early.\n| a | b |\n|---|---|\n"
    )
    guard = LoopGuard()
    assert _run(guard, list(text)) == text  # token by token, one character each
    assert not guard.stopped


def test_short_sentences_may_repeat() -> None:
    guard = LoopGuard()
    assert _run(guard, ["Yes. "] * 5) == "Yes. " * 5
    assert not guard.stopped


@pytest.mark.slow
def test_the_embedded_model_stops_a_loop_with_a_reason(smol: LocalChatModel) -> None:
    """Greedy sampling with no repetition penalty loops on this question ("la Femme,
    la Femme, …"); the guard ends it long before max_tokens and says why."""
    response = smol.chat_sync(
        "What is the capital of France?",
        temperature=0,
        max_tokens=200,
        extra={"repeat_penalty": 1.0},
    )
    assert response.stop_reason == "repetition"
    assert 0 < response.usage.output_tokens < 200  # what was generated, shown or not
    assert response.usage.input_tokens > 0


def test_the_embedded_model_has_sensible_defaults() -> None:
    model = LocalChatModel("default")
    assert model.max_tokens == 512
    assert LocalChatModel("default", max_tokens=None).max_tokens is None
    assert not LocalChatModel("default", loop_guard=False).loop_guard
