"""Splitters: exact spans that cover the text, overlap bounded, sizes respected."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conduit.errors import ValidationError
from conduit.rag.documents import Document
from conduit.rag.splitters import (
    CharacterSplitter,
    MarkdownSplitter,
    RecursiveSplitter,
    SentenceSplitter,
    Splitter,
    TokenSplitter,
)

# Text made of words, sentence ends, line breaks and blank lines, so every separator
# level gets exercised.
PIECES = st.sampled_from(
    ["word", "Hi", "a", "longerword", ". ", "! ", " ", "\n", "\n\n", "# T\n", "é"]
)
TEXTS = st.lists(PIECES, max_size=60).map("".join)


def words(text: str) -> int:
    return len(text.split())


def make(kind: str, size: int, overlap: int) -> Splitter:
    if kind == "character":
        return CharacterSplitter(size, overlap)
    if kind == "recursive":
        return RecursiveSplitter(size, overlap)
    if kind == "sentence":
        return SentenceSplitter(size, overlap)
    if kind == "markdown":
        return MarkdownSplitter(size, overlap)
    return TokenSplitter(size, overlap, counter=lambda t: len(t.encode()))


KINDS = ["character", "recursive", "sentence", "markdown", "token"]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    text=TEXTS,
    kind=st.sampled_from(KINDS),
    size=st.integers(min_value=4, max_value=40),
    overlap_share=st.floats(min_value=0, max_value=0.9),
)
def test_no_text_lost_or_duplicated_beyond_the_overlap(
    text: str, kind: str, size: int, overlap_share: float
) -> None:
    overlap = int(size * overlap_share)
    splitter = make(kind, size, overlap)
    spans = splitter.spans(text)
    if not text:
        assert spans == []
        return
    measure = splitter._length
    assert spans[0].start == 0
    assert spans[-1].end == len(text)
    for span in spans:
        assert span.text == text[span.start : span.end]
        assert span.start < span.end
        # a piece only exceeds the size when one character already does (bytes of "é")
        assert measure(span.text) <= size or span.end - span.start == 1
    for before, after in itertools.pairwise(spans):
        assert before.start < after.start <= before.end  # no gap: nothing lost
        assert before.end < after.end  # always progress
        shared = text[after.start : before.end]
        assert measure(shared) <= overlap  # nothing repeated beyond the overlap


@settings(max_examples=60, deadline=None)
@given(text=TEXTS, size=st.integers(min_value=4, max_value=30))
def test_without_overlap_the_chunks_join_back_to_the_text(text: str, size: int) -> None:
    for kind in KINDS:
        assert "".join(make(kind, size, 0).split_text(text)) == text


def test_recursive_prefers_paragraphs_then_sentences() -> None:
    text = "First para one. Still first.\n\nSecond para here."
    assert RecursiveSplitter(30, 0).split_text(text) == [
        "First para one. Still first.\n\n",
        "Second para here.",
    ]
    assert RecursiveSplitter(18, 0).split_text(text) == [
        "First para one. ",
        "Still first.\n\n",
        "Second para here.",
    ]


def test_overlap_repeats_the_tail_of_the_previous_chunk() -> None:
    chunks = RecursiveSplitter(12, 6).split_text("aa bb cc dd ee ff")
    assert chunks == ["aa bb cc dd ", "cc dd ee ff"]


def test_sentence_splitter_keeps_sentences_whole() -> None:
    text = "One. Two is here! Three? Four."
    assert SentenceSplitter(18, 0).split_text(text) == ["One. Two is here! ", "Three? Four."]


def test_character_splitter_cuts_long_pieces_anywhere() -> None:
    assert CharacterSplitter(4, 0).split_text("abcdefghij") == ["abcd", "efgh", "ij"]


def test_token_splitter_counts_tokens_with_the_model() -> None:
    from conduit.catalog.tokens import count_tokens

    splitter = TokenSplitter(8, 2, model="openai/gpt-4o-mini")
    text = "The quick brown fox jumps over the lazy dog. " * 4
    chunks = splitter.split_text(text)
    assert len(chunks) > 1
    assert all(count_tokens("openai/gpt-4o-mini", c) <= 8 for c in chunks)


def test_markdown_splitter_keeps_headers_as_metadata() -> None:
    text = (
        "Intro line\n# Guide\nRead me.\n## Install\npip install\n"
        "```\n# not a header\n```\n# Other\nEnd"
    )
    docs = MarkdownSplitter(200, 0).split_documents([Document(text, {"source": "g.md"})])
    assert [(d.metadata["headers"], d.text.splitlines()[0]) for d in docs] == [
        ([], "Intro line"),
        (["Guide"], "# Guide"),
        (["Guide", "Install"], "## Install"),
        (["Other"], "# Other"),
    ]
    assert "# not a header" in docs[2].text
    assert all(d.metadata["source"] == "g.md" for d in docs)
    assert "".join(d.text for d in docs) == text


def test_split_documents_records_offsets_in_the_source() -> None:
    doc = Document("alpha beta\n\n  \n\ngamma", {"source": "x", "start": 100})
    chunks = RecursiveSplitter(11, 0).split_documents([doc])
    for chunk in chunks:
        start, end = chunk.metadata["start"] - 100, chunk.metadata["end"] - 100
        assert doc.text[start:end] == chunk.text
    assert [c.metadata["chunk"] for c in chunks] == list(range(len(chunks)))
    assert all(c.text.strip() for c in chunks)  # blank chunks dropped
    assert len({c.id for c in chunks}) == len(chunks)


@pytest.mark.parametrize(("size", "overlap"), [(0, 0), (10, 10), (10, -1)])
def test_bad_sizes_are_refused(size: int, overlap: int) -> None:
    with pytest.raises(ValidationError):
        RecursiveSplitter(size, overlap)
