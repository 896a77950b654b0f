"""The embedded model, asked everyday questions through `conduit ask`, answers and stops
by itself: sensible sampling, a default answer length and the loop guard (issue 26)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pytest

from conduit.cli import ask
from tests.cli.everyday import QUESTIONS, repeated_sentences

pytestmark = pytest.mark.slow


class _TerminalStdin:
    def isatty(self) -> bool:
        return True


def test_twenty_everyday_questions_end_without_loops(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same code path as `conduit ask`, in one process (the model loads once);
    answers capped at 64 tokens to keep the test short: whether an answer loops shows
    early."""
    monkeypatch.setattr(sys, "stdin", _TerminalStdin())
    for question in QUESTIONS:
        args = argparse.Namespace(
            question=[question],
            model=None,
            system=None,
            max_tokens=64,
            temperature=None,
            seed=None,
            no_stream=False,
            no_log=True,
            timeout=120.0,
        )
        assert ask.run(args) == 0
        answer = capsys.readouterr().out
        assert answer.strip(), question
        assert repeated_sentences(answer, 3) == [], (question, answer)


pexpect = pytest.importorskip("pexpect")


@pytest.mark.skipif(
    not Path(sys.executable).with_name("conduit").exists(),
    reason="the conduit script is not installed",
)
@pytest.mark.parametrize(
    ("question", "flags"),
    [
        ("What is the capital of France?", ["--temperature", "0"]),  # looped for 10 min
        ("What is 2+2?", []),
    ],
)
def test_conduit_ask_in_a_terminal_ends_by_itself(
    tmp_path: Path, question: str, flags: list[str]
) -> None:
    """`conduit ask` with its defaults (no --max-tokens) in a pseudo-terminal ends on
    its own; 120 s is a hang guard, not a speed requirement."""
    script = Path(sys.executable).with_name("conduit")
    env = {**os.environ, "CONDUIT_DATA_DIR": str(tmp_path), "TERM": "dumb"}
    child = pexpect.spawn(
        str(script), ["ask", *flags, question], env=env, encoding="utf-8", timeout=120
    )
    try:
        child.expect(pexpect.EOF)
        answer = child.before
    finally:
        child.close()
    assert child.exitstatus == 0, answer
    assert answer.strip()
    assert repeated_sentences(answer, 3) == []
