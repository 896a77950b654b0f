"""Twenty everyday questions a new user might ask first (shared by the test and by
`scripts/bench_local.py`).

Example:
    >>> len(QUESTIONS)
    20
    >>> repeated_sentences("It rains all day. " * 3 + "Fine.", 3)
    ['it rains all day.']
"""

from __future__ import annotations

import re
from collections import Counter

__all__ = ["QUESTIONS", "repeated_sentences"]

QUESTIONS = [
    "What is the capital of France?",
    "What should I do if I have a headache?",
    "How do I boil an egg?",
    "What is 2+2?",
    "Give me three tips for sleeping better.",
    "Why is the sky blue?",
    "How many days are in a leap year?",
    "What is a good name for a cat?",
    "Translate 'thank you' into Spanish.",
    "How do I make a cup of tea?",
    "What is photosynthesis?",
    "Write a haiku about autumn.",
    "What is the difference between weather and climate?",
    "How can I save money on groceries?",
    "What is Python used for?",
    "Suggest a quick vegetarian dinner.",
    "How far is the Moon from the Earth?",
    "What does a CPU do?",
    "How do I stay focused while studying?",
    "Tell me a fun fact about octopuses.",
]


def repeated_sentences(text: str, times: int) -> list[str]:
    """Sentences (12 characters or more, compared without case) that occur `times` times
    or more in `text`."""
    sentences = [" ".join(part.split()).lower() for part in re.findall(r"[^.!?\n]+[.!?\n]?", text)]
    counts = Counter(sentence for sentence in sentences if len(sentence) >= 12)
    return [sentence for sentence, count in counts.items() if count >= times]
