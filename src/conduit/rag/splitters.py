"""Splitters: cut text into overlapping chunks that keep their place in the source.

Every splitter works on spans of the original text, so chunks are exact substrings
with `start`/`end` offsets, consecutive chunks touch or overlap, and at most `overlap`
(in the splitter's own unit: characters or tokens) is repeated between neighbours.
Nothing is lost: the spans cover the whole text.

- `CharacterSplitter`: at one separator (default a blank line), then anywhere.
- `RecursiveSplitter`: paragraphs, then lines, then sentences, then words, then
  characters, descending only where a piece is still too long.
- `SentenceSplitter`: whole sentences, packed up to the size.
- `MarkdownSplitter`: by `#` headers first; each chunk carries its header path.
- `TokenSplitter`: sizes in tokens (`conduit.catalog.tokens.count_tokens`).

Example:
    >>> chunks = RecursiveSplitter(chunk_size=12, overlap=0).split_text("One two.\\n\\nThree four.")
    >>> chunks
    ['One two.\\n\\n', 'Three four.']
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from conduit.errors import ValidationError
from conduit.rag.documents import Document

__all__ = [
    "CharacterSplitter",
    "MarkdownSplitter",
    "RecursiveSplitter",
    "SentenceSplitter",
    "Span",
    "Splitter",
    "TokenSplitter",
]

SENTENCE_END = r"(?<=[.!?])[\"')\]]*\s+"
DEFAULT_SEPARATORS = (r"\n\s*\n", r"\n", SENTENCE_END, r"\s+")
_HEADER = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_FENCE = re.compile(r"^(```|~~~)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Span:
    """A chunk: `text[start:end]` of the source.

    Example:
        >>> Span(0, 2, "hi").end
        2
    """

    start: int
    end: int
    text: str


class Splitter:
    """Base: separators (regular expressions, coarse to fine) and a size measure.

    Subclasses choose the separators and the measure; all share the packing, so all keep
    the same guarantees.

    Example:
        >>> splitter = Splitter(chunk_size=4, overlap=0, separators=[r"\\s+"])
        >>> [s.text for s in splitter.spans("ab cd ef")]
        ['ab ', 'cd ', 'ef']
    """

    def __init__(
        self,
        chunk_size: int = 1000,
        overlap: int = 200,
        *,
        separators: Sequence[str] = DEFAULT_SEPARATORS,
        length: Callable[[str], int] = len,
    ) -> None:
        if chunk_size < 1:
            raise ValidationError(f"chunk_size must be at least 1, not {chunk_size}")
        if not 0 <= overlap < chunk_size:
            raise ValidationError(
                f"overlap must be at least 0 and below chunk_size ({chunk_size}), not {overlap}"
            )
        self.chunk_size = chunk_size
        self.overlap = overlap
        self._separators = [re.compile(pattern) for pattern in separators]
        self._length = length

    # -- public -------------------------------------------------------------

    def spans(self, text: str) -> list[Span]:
        """The chunks of `text` with their offsets (empty text gives no chunks)."""
        if not text:
            return []
        bounds = self._bounds(text, 0, len(text), 0)
        return [Span(s, e, text[s:e]) for s, e in self._pack(text, bounds)]

    def split_text(self, text: str) -> list[str]:
        """The chunks of `text` as strings."""
        return [span.text for span in self.spans(text)]

    def split_documents(self, documents: Iterable[Document]) -> list[Document]:
        """Chunks of each document; metadata is copied, and `start`/`end` (offsets in
        the source) and `chunk` (its number) are added. Blank chunks are dropped.

        Example:
            >>> docs = CharacterSplitter(5, 0).split_documents([Document("abcdefg")])
            >>> [(d.text, d.metadata["start"]) for d in docs]
            [('abcde', 0), ('fg', 5)]
        """
        out: list[Document] = []
        for doc in documents:
            base = int(doc.metadata.get("start", 0))
            number = 0
            for span, extra in self._labelled_spans(doc.text):
                if not span.text.strip():
                    continue
                meta = {
                    **doc.metadata,
                    **extra,
                    "start": base + span.start,
                    "end": base + span.end,
                    "chunk": number,
                }
                out.append(Document(span.text, meta))
                number += 1
        return out

    # -- internals ----------------------------------------------------------

    def _labelled_spans(self, text: str) -> list[tuple[Span, dict[str, object]]]:
        return [(span, {}) for span in self.spans(text)]

    def _size(self, text: str, start: int, end: int) -> int:
        return self._length(text[start:end])

    def _bounds(self, text: str, start: int, end: int, level: int) -> list[int]:
        """Cut points in [start, end] (both included) such that every piece fits, using
        the coarsest separator that works and descending only inside pieces too long."""
        if self._size(text, start, end) <= self.chunk_size:
            return [start, end]
        if level >= len(self._separators):
            return self._hard_bounds(text, start, end)
        cuts = [start]
        for match in self._separators[level].finditer(text, start, end):
            if start < match.end() < end:
                cuts.append(match.end())  # the separator stays with the piece before it
        cuts.append(end)
        out = [start]
        for a, b in itertools.pairwise(cuts):
            out.extend(self._bounds(text, a, b, level + 1)[1:])
        return out

    def _hard_bounds(self, text: str, start: int, end: int) -> list[int]:
        # No separator left: cut anywhere, as far as each piece still fits.
        out = [start]
        pos = start
        while pos < end:
            lo, hi = pos + 1, end
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if self._size(text, pos, mid) <= self.chunk_size:
                    lo = mid
                else:
                    hi = mid - 1
            pos = lo
            out.append(pos)
        return out

    def _furthest(self, text: str, bounds: list[int], i: int) -> int:
        """The last bound index j > i whose piece bounds[i]:bounds[j] fits (at least i+1)."""
        lo, hi = i + 1, len(bounds) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._size(text, bounds[i], bounds[mid]) <= self.chunk_size:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def _pack(self, text: str, bounds: list[int]) -> list[tuple[int, int]]:
        """Greedy packing of pieces into chunks, each next chunk starting as far back as
        the overlap allows while still reaching past the previous chunk's end."""
        chunks: list[tuple[int, int]] = []
        i = 0
        last = len(bounds) - 1
        while True:
            j = self._furthest(text, bounds, i)
            chunks.append((bounds[i], bounds[j]))
            if j == last:
                return chunks
            # earliest k in (i, j] whose tail bounds[k]:bounds[j] fits in the overlap
            lo, hi = i + 1, j
            while lo < hi:
                mid = (lo + hi) // 2
                if self._size(text, bounds[mid], bounds[j]) <= self.overlap:
                    hi = mid
                else:
                    lo = mid + 1
            k = lo
            while k < j and self._furthest(text, bounds, k) <= j:
                k += 1  # this start could not get past j: overlap less
            i = k


class CharacterSplitter(Splitter):
    """Split at one separator (a regular expression; default a blank line), and cut
    pieces that are still too long anywhere.

    Example:
        >>> CharacterSplitter(10, 0).split_text("aaa\\n\\nbbb")
        ['aaa\\n\\nbbb']
    """

    def __init__(self, chunk_size: int = 1000, overlap: int = 200, separator: str = r"\n\s*\n"):
        super().__init__(chunk_size, overlap, separators=[separator])


class RecursiveSplitter(Splitter):
    """Paragraphs, then lines, then sentences, then words, then characters: the coarsest
    separator that gets each piece under `chunk_size` (in characters).

    Example:
        >>> RecursiveSplitter(8, 0).split_text("Hi there. Bye now.")
        ['Hi ', 'there. ', 'Bye now.']
    """

    def __init__(
        self,
        chunk_size: int = 1000,
        overlap: int = 200,
        separators: Sequence[str] = DEFAULT_SEPARATORS,
    ) -> None:
        super().__init__(chunk_size, overlap, separators=separators)


class SentenceSplitter(Splitter):
    """Whole sentences packed up to `chunk_size` characters; an over-long sentence is cut
    at words, then characters.

    Example:
        >>> SentenceSplitter(20, 0).split_text("It rains. The sun is out! Why?")
        ['It rains. ', 'The sun is out! Why?']
    """

    def __init__(self, chunk_size: int = 1000, overlap: int = 0) -> None:
        super().__init__(chunk_size, overlap, separators=[SENTENCE_END, r"\s+"])


class TokenSplitter(Splitter):
    """Sizes counted in tokens of `model` (exact for OpenAI and local models, see
    `conduit.catalog.tokens.count_tokens`), or by any `counter(text) -> int`.

    Example:
        >>> TokenSplitter(3, 0, counter=lambda t: len(t.split())).split_text("a b c d e")
        ['a b c ', 'd e']
    """

    def __init__(
        self,
        chunk_size: int = 256,
        overlap: int = 32,
        *,
        model: str = "openai/gpt-4o-mini",
        counter: Callable[[str], int] | None = None,
    ) -> None:
        if counter is None:
            from conduit.api import count_tokens

            def counter(text: str) -> int:
                return count_tokens(model, text) if text else 0

        super().__init__(chunk_size, overlap, separators=DEFAULT_SEPARATORS, length=counter)


class MarkdownSplitter(Splitter):
    """Sections by `#` headers first (never inside code fences), then the recursive
    separators within a section. Each chunk's metadata gets `headers`: the titles above
    it, outermost first (`["Guide", "Install"]`); the header lines stay in the text.

    Example:
        >>> docs = MarkdownSplitter(100, 0).split_documents([Document("# A\\nx\\n## B\\ny")])
        >>> [d.metadata["headers"] for d in docs]
        [['A'], ['A', 'B']]
    """

    def __init__(self, chunk_size: int = 1000, overlap: int = 0) -> None:
        super().__init__(chunk_size, overlap, separators=DEFAULT_SEPARATORS)

    def _sections(self, text: str) -> list[tuple[int, int, list[str]]]:
        fences = [m.start() for m in _FENCE.finditer(text)]

        def in_fence(pos: int) -> bool:
            return sum(1 for f in fences if f < pos) % 2 == 1

        heads = [m for m in _HEADER.finditer(text) if not in_fence(m.start())]
        starts = [0] + [m.start() for m in heads if m.start() > 0] + [len(text)]
        path: list[tuple[int, str]] = []
        titles: dict[int, list[str]] = {}
        for m in heads:
            level = len(m.group(1))
            path = [(lvl, t) for lvl, t in path if lvl < level] + [(level, m.group(2).strip())]
            titles[m.start()] = [t for _, t in path]
        sections = []
        current: list[str] = []
        for a, b in itertools.pairwise(starts):
            current = titles.get(a, current if a else [])
            if a < b:
                sections.append((a, b, current))
        return sections

    def _labelled_spans(self, text: str) -> list[tuple[Span, dict[str, object]]]:
        out: list[tuple[Span, dict[str, object]]] = []
        for a, b, headers in self._sections(text):
            bounds = self._bounds(text, a, b, 0)
            for s, e in self._pack(text, bounds):
                out.append((Span(s, e, text[s:e]), {"headers": list(headers)}))
        return out

    def spans(self, text: str) -> list[Span]:
        """Chunks of `text`; no chunk crosses a header."""
        return [span for span, _ in self._labelled_spans(text)] if text else []
