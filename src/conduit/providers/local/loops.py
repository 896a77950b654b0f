"""`LoopGuard`: ends a generation that keeps repeating itself.

Small local models sometimes fall into a loop ("la Femme, la Femme, la Femme, …") and
would write until the context window is full. The guard watches the text as it streams
and stops it when

- a sentence (at least `min_sentence` characters) comes a third time — that third copy
  is held back while it is being written, so it never reaches the reader; or
- the text ends in the same stretch repeated at least three times in a row, covering at
  least `min_span` characters (loops with no sentence end in them).

Text that merely starts like an earlier sentence is held only until it differs, so the
first token is never delayed.

Example:
    >>> guard = LoopGuard()
    >>> shown = "".join(guard.feed("I like green tea. ") for _ in range(5))
    >>> shown
    'I like green tea. I like green tea. '
    >>> guard.stopped
    True
"""

from __future__ import annotations

import re

__all__ = ["LoopGuard"]

_SENTENCE_END = re.compile(r"[.!?\n]")
_SPACES = re.compile(r"\s+")


def _normal(sentence: str) -> str:
    return _SPACES.sub(" ", sentence).strip().lower()


class LoopGuard:
    """Feed it streamed text; it returns what may be shown and sets `stopped` on a loop.

    Example:
        >>> guard = LoopGuard(min_span=20)
        >>> guard.feed("la Femme, " * 3)
        'la Femme, la Femme, la Femme, '
        >>> guard.stopped
        True
    """

    def __init__(
        self,
        *,
        repeats: int = 3,
        min_sentence: int = 12,
        min_span: int = 100,
        max_period: int = 300,
    ) -> None:
        self.repeats = repeats
        self.min_sentence = min_sentence
        self.min_span = min_span
        self.max_period = max_period
        self.stopped = False
        self._seen: dict[str, int] = {}
        self._sentence = ""  # the sentence being written (shown or held)
        self._held = ""  # the part of it not shown yet
        self._tail = ""  # the last few hundred characters shown

    def feed(self, text: str) -> str:
        """The part of `text` that may be shown now (nothing once `stopped`).

        Example:
            >>> LoopGuard().feed("Hello. ")
            'Hello. '
        """
        if self.stopped:
            return ""
        shown: list[str] = []
        while text and not self.stopped:
            end = _SENTENCE_END.search(text)
            cut = end.end() if end else len(text)
            piece, text = text[:cut], text[cut:]
            shown.append(self._add(piece, ended=end is not None))
        out = "".join(shown)
        if out and not self.stopped:
            self._tail = (self._tail + out)[-(self.repeats * self.max_period) :]
            if self._periodic():
                self.stopped = True
        return out

    def flush(self) -> str:
        """Whatever is still held, at the end of the generation (nothing once `stopped`).

        Example:
            >>> guard = LoopGuard()
            >>> guard.feed("I like green tea. I like green tea. I like")
            'I like green tea. I like green tea.'
            >>> guard.flush()
            ' I like'
        """
        held, self._held = self._held, ""
        return "" if self.stopped else held

    def _add(self, piece: str, *, ended: bool) -> str:
        self._sentence += piece
        self._held += piece
        key = _normal(self._sentence)
        if ended:
            self._sentence = ""
            if len(key) >= self.min_sentence:
                count = self._seen.get(key, 0) + 1
                self._seen[key] = count
                if count >= self.repeats:
                    self.stopped = True
                    self._held = ""
                    return ""
            held, self._held = self._held, ""
            return held
        if len(key) >= 1 and self._suspect(key):
            return ""  # may be a repeat: wait until it ends or differs
        held, self._held = self._held, ""
        return held

    def _suspect(self, partial: str) -> bool:
        return any(
            count >= self.repeats - 1 and seen.startswith(partial)
            for seen, count in self._seen.items()
        )

    def _periodic(self) -> bool:
        tail = self._tail
        size = len(tail)
        for period in range(1, min(self.max_period, size // self.repeats) + 1):
            needed = max(self.repeats * period, self.min_span)
            if needed > size:
                continue
            unit = tail[-period:]
            if tail[-needed:] == (unit * (needed // period + 1))[-needed:]:
                return True
        return False
