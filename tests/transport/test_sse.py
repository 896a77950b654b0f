"""SSEDecoder: the WHATWG "event stream" parsing rules, and split-invariance.

https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conduit.transport import SSEDecoder, SSEEvent, iter_sse


def decode(*chunks: bytes) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for piece in chunks:
        events.extend(decoder.feed(piece))
    events.extend(decoder.flush())
    return events


def datas(*chunks: bytes) -> list[str]:
    return [e.data for e in decode(*chunks)]


def test_simple_event() -> None:
    assert decode(b"data: hello\n\n") == [SSEEvent("hello")]


def test_defaults() -> None:
    event = SSEEvent("x")
    assert (event.event, event.id, event.retry) == ("message", None, None)


@pytest.mark.parametrize("newline", [b"\n", b"\r", b"\r\n"])
def test_line_endings(newline: bytes) -> None:
    body = b"event: a" + newline + b"data: 1" + newline + b"data: 2" + newline + newline
    assert decode(body) == [SSEEvent("1\n2", "a")]


def test_mixed_line_endings() -> None:
    assert datas(b"data: a\r\n\rdata: b\n\r\ndata: c\r\r") == ["a", "b", "c"]


def test_bom_is_stripped_once() -> None:
    assert decode(b"\xef\xbb\xbfdata: x\n\n") == [SSEEvent("x")]
    # Only at the very start: a second BOM is part of the field name (unknown field).
    assert decode(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\n") == []


def test_bom_split_across_chunks() -> None:
    assert datas(b"\xef", b"\xbb", b"\xbfdata: x\n\n") == ["x"]
    assert datas(b"\xef\xbb", b"\xbfdata: y\n\n") == ["y"]


def test_almost_bom_is_kept() -> None:
    # A stream starting with bytes that only begin like a BOM: nothing is stripped.
    assert decode(b"\xef\xbb") == []
    assert datas(b"\xef", b"data: x\n\n") == []  # "\ufffddata" is an unknown field
    assert datas(b"d", b"ata: x\n\n") == ["x"]


def test_comments_ignored() -> None:
    assert datas(b": ping\n:\ndata: x\n: another\n\n") == ["x"]


def test_field_without_colon() -> None:
    # "data" alone appends an empty line to the data buffer: an event with empty data.
    assert decode(b"data\n\n") == [SSEEvent("")]
    assert datas(b"data\ndata\n\n") == ["\n"]
    # "event" alone sets the type to empty, which dispatches as "message".
    assert decode(b"event: x\nevent\ndata: 1\n\n") == [SSEEvent("1")]


def test_only_one_leading_space_is_removed() -> None:
    assert datas(b"data:  two spaces\n\ndata:none\n\ndata: \n\n") == [" two spaces", "none", ""]


def test_colon_in_value() -> None:
    assert datas(b"data: a: b:c\n\n") == ["a: b:c"]


def test_event_type_resets_after_dispatch() -> None:
    events = decode(b"event: first\ndata: 1\n\ndata: 2\n\n")
    assert [(e.event, e.data) for e in events] == [("first", "1"), ("message", "2")]


def test_blank_line_without_data_dispatches_nothing_and_resets_type() -> None:
    assert decode(b"event: lonely\n\ndata: 1\n\n") == [SSEEvent("1")]
    assert decode(b"\n\n\n") == []


def test_id_persists_and_nul_is_ignored() -> None:
    events = decode(b"id: 1\ndata: a\n\ndata: b\n\nid: x\x00y\ndata: c\n\nid\ndata: d\n\n")
    assert [(e.data, e.id) for e in events] == [("a", "1"), ("b", "1"), ("c", "1"), ("d", "")]


@pytest.mark.parametrize(
    ("line", "retry"),
    [
        (b"retry: 3000", 3000),
        (b"retry:0", 0),
        (b"retry: 30s", None),
        (b"retry: -1", None),
        (b"retry: 1.5", None),
        (b"retry: ", None),
        ("retry: \u00b2".encode(), None),  # a digit, but not an ASCII one
        ("retry: \u0663".encode(), None),  # ARABIC-INDIC DIGIT THREE
    ],
)
def test_retry_must_be_ascii_digits(line: bytes, retry: int | None) -> None:
    assert decode(line + b"\ndata: x\n\n") == [SSEEvent("x", retry=retry)]


def test_unknown_fields_ignored() -> None:
    assert decode(b"foo: bar\nDATA: no\nData: no\ndata: yes\nevent : no\n\n") == [SSEEvent("yes")]


def test_unterminated_event_discarded_at_flush() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: 1\n\ndata: 2\n") == [SSEEvent("1")]
    assert decoder.incomplete
    assert decoder.flush() == []
    assert not decoder.incomplete
    # The decoder can be reused after a flush: the discarded event does not leak.
    assert decoder.feed(b"data: 3\n\n") == [SSEEvent("3")]


def test_unterminated_line_at_flush() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: 1\n\nid: 9") == [SSEEvent("1")]
    assert decoder.incomplete
    assert decoder.flush() == []
    # The unterminated line was still processed (an id survives; data would not).
    assert decoder.feed(b"data: 2\n\n") == [SSEEvent("2", id="9")]


def test_incomplete() -> None:
    decoder = SSEDecoder()
    assert not decoder.incomplete
    decoder.feed(b"\xef\xbb")  # a partial BOM is not an event
    assert not decoder.incomplete
    decoder.feed(b"\xbfevent: x\n")  # a type without data is not an event either
    assert not decoder.incomplete
    decoder.feed(b"data: 1\n")
    assert decoder.incomplete
    decoder.feed(b"\n")
    assert not decoder.incomplete


def test_empty_chunks_are_harmless() -> None:
    assert datas(b"", b"data: 1", b"", b"\n", b"", b"\n", b"") == ["1"]


def test_crlf_split_between_chunks_is_one_line_break() -> None:
    assert datas(b"data: 1\r", b"\n", b"\r", b"\ndata: 2\r\n\r\n") == ["1", "2"]
    assert datas(b"data: 1\r", b"\n\r\n") == ["1"]


def test_cr_then_more_then_lf_chunk() -> None:
    # A "\r" followed by more bytes in the same chunk is a line break on its own; an
    # "\n" at the start of the next chunk is then a new line (the blank one here).
    assert datas(b"data: 1\rdata: 2", b"\n\n") == ["1\n2"]
    assert datas(b"data: 1\rdata: 2\n\n") == ["1\n2"]


def test_utf8_split_inside_a_character() -> None:
    body = "data: \u00e9\U0001f642\u65e5\n\n".encode()
    start = body.index(b"\xf0")
    assert datas(body[: start + 1], body[start + 1 : start + 3], body[start + 3 :]) == [
        "\u00e9\U0001f642\u65e5"
    ]


def test_invalid_utf8_is_replaced() -> None:
    assert datas(b"data: \xff\xfe\n\n") == ["\ufffd\ufffd"]


def test_other_unicode_line_breaks_are_data() -> None:
    # Only CR and LF end lines; U+2028, VT and FF are data.
    assert datas("data: a\u2028b\x0bc\x0cd\x1ce\n\n".encode()) == ["a\u2028b\x0bc\x0cd\x1ce"]


async def test_iter_sse() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"data: 1\n"
        yield b"\ndata: 2\n\nda"
        yield b"ta: cut"

    assert [e.data async for e in iter_sse(body())] == ["1", "2"]


# --- property: any split decodes the same -------------------------------------------

# Field values: any text that can be UTF-8 encoded, without the CR and LF that end lines.
_value = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)
_line = st.one_of(
    st.builds(lambda v: "data:" + v, _value),
    st.builds(lambda v: "data: " + v, _value),
    st.builds(lambda v: "event: " + v, _value),
    st.sampled_from(["event: delta", "id: 4", "id: a\x00b", "retry: 250", "retry: x"]),
    st.sampled_from([": comment", ":", "data", "unknown: 1", "", "", ""]),
    st.just("data: caf\u00e9 \U0001f642 \u65e5\u672c"),
)
_newline = st.sampled_from(["\n", "\r", "\r\n"])


@st.composite
def sse_streams(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.tuples(_line, _newline), max_size=25))
    text = "".join(line + nl for line, nl in lines)
    bom = draw(st.booleans())
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


@st.composite
def split_streams(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    """A stream and the same bytes cut into pieces: anywhere, and often right next to a
    CR or LF (the places a line-break decoder gets wrong)."""
    body = draw(sse_streams())
    breaks = [i + d for i, b in enumerate(body) if b in b"\r\n" for d in (0, 1)]
    anywhere = st.integers(min_value=0, max_value=len(body))
    near_breaks = st.sampled_from(breaks) if breaks else anywhere
    cuts = draw(st.lists(st.one_of(anywhere, near_breaks), max_size=10))
    bounds = [0, *sorted(set(cuts)), len(body)]
    return body, [body[a:b] for a, b in itertools.pairwise(bounds)]


@given(split_streams())
def test_any_split_decodes_the_same(case: tuple[bytes, list[bytes]]) -> None:
    body, pieces = case
    assert b"".join(pieces) == body
    whole = SSEDecoder()
    split = SSEDecoder()
    expected = whole.feed(body)
    got = [event for piece in pieces for event in split.feed(piece)]
    assert got == expected
    assert split.incomplete == whole.incomplete
    assert split.flush() == whole.flush()


TRICKY = [
    b"data: 1\rdata: 2\n\nevent: e\r\ndata: 3\r\r: c\ndata\n\n",
    b"\xef\xbb\xbfid: 1\r\ndata: caf\xc3\xa9\rretry: 5\n\rdata: \xf0\x9f\x99\x82\r\n\r\n",
    b"data: a\n\r\n\rdata: b\r\rdata: c",
]


@pytest.mark.parametrize("body", TRICKY)
def test_every_split_into_three_decodes_the_same(body: bytes) -> None:
    # Exhaustive where it is cheap: every pair of cut points.
    expected = decode(body)
    assert decode(*[body[i : i + 1] for i in range(len(body))]) == expected
    for i in range(len(body) + 1):
        for j in range(i, len(body) + 1):
            assert decode(body[:i], body[i:j], body[j:]) == expected, (i, j)


@given(body=sse_streams())
def test_byte_by_byte_decodes_the_same(body: bytes) -> None:
    assert decode(*[body[i : i + 1] for i in range(len(body))]) == decode(body)
