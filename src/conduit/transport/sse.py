"""Server-sent events decoder, following the WHATWG HTML spec's "event stream" parsing rules.

https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

Bytes may arrive split anywhere (inside a line, between `\\r` and `\\n`, inside a UTF-8
sequence); `SSEDecoder.feed` buffers until a line is complete, so any split decodes to
the same events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

__all__ = ["SSEDecoder", "SSEEvent", "SSEFramer", "iter_sse"]


@dataclass(slots=True)
class SSEEvent:
    """One dispatched event: its type (`message` by default), data, id and retry."""

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Incremental decoder: `feed()` bytes, get the events completed so far.

    Example:
        >>> d = SSEDecoder()
        >>> d.feed(b"data: hel")
        []
        >>> [e.data for e in d.feed(b"lo\\n\\n: comment\\ndata: a\\ndata: b\\n\\n")]
        ['hello', 'a\\nb']
    """

    __slots__ = ("_buf", "_data", "_event", "_id", "_pending_cr", "_retry", "_started")

    def __init__(self) -> None:
        self._buf = b""
        self._pending_cr = False
        self._started = False
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Add bytes; return the events they complete."""
        if not chunk:
            return []
        if self._pending_cr:
            # A CR ended the previous chunk: an LF right after it is the same line break.
            self._pending_cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        buf = self._buf + chunk if self._buf else chunk
        if not self._started:
            if len(buf) < 3 and b"\xef\xbb\xbf".startswith(buf):
                self._buf = buf
                return []
            self._started = True
            if buf.startswith(b"\xef\xbb\xbf"):
                buf = buf[3:]
        end = max(buf.rfind(b"\n"), buf.rfind(b"\r"))
        if end < 0:
            self._buf = buf
            return []
        if end == len(buf) - 1 and buf[end] == 0x0D:
            # The buffer ends on "\r": if the next chunk starts with "\n", the two are
            # one line break ("\r\n" split between chunks), not two.
            self._pending_cr = True
        self._buf = buf[end + 1 :]
        events: list[SSEEvent] = []
        for line in buf[: end + 1].splitlines():
            self._line(line, events)
        return events

    @property
    def incomplete(self) -> bool:
        """Whether the bytes so far end inside an event: data lines not yet ended by the
        blank line that dispatches them, or an unterminated line. At the end of a stream
        this means the stream was cut off mid-event."""
        return bool(self._data) or (self._started and bool(self._buf))

    def flush(self) -> list[SSEEvent]:
        """End of stream: pending input is dropped. Events are only dispatched by a blank
        line, so an event cut off before one is discarded, as the spec requires; the
        list returned is therefore always empty (kept for symmetry with `feed`)."""
        events: list[SSEEvent] = []
        if self._buf:
            self._line(self._buf, events)
            self._buf = b""
        self._data = []
        self._event = ""
        return events

    def _line(self, raw: bytes, events: list[SSEEvent]) -> None:
        if not raw:
            if self._data:
                events.append(
                    SSEEvent("\n".join(self._data), self._event or "message", self._id, self._retry)
                )
            self._data = []
            self._event = ""
            return
        line = raw.decode("utf-8", "replace")
        if line[0] == ":":
            return
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\x00" not in value:
                self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            # "only ASCII digits": str.isdigit alone also accepts "²" or "٣", which int() rejects.
            self._retry = int(value)
        # Any other field name is ignored (spec).


class SSEFramer:
    """Incremental framer: `feed()` bytes, get back the whole events completed so far
    as bytes (each ended by a blank line, line breaks made `\\n`), without decoding
    them: what a relay that passes events through needs. `incomplete` says whether the
    bytes so far end inside an event.

    Example:
        >>> f = SSEFramer()
        >>> f.feed(b"data: 1\\r\\n\\r\\ndata: ")
        b'data: 1\\n\\n'
        >>> f.feed(b"2\\n\\n"), f.incomplete
        (b'data: 2\\n\\n', False)
    """

    __slots__ = ("_buf", "_pending_cr", "_started")

    def __init__(self) -> None:
        self._buf = b""
        self._pending_cr = False
        self._started = False

    @property
    def incomplete(self) -> bool:
        """Whether bytes of an event not ended yet are held (blank lines aside)."""
        return bool(self._buf.strip(b"\n"))

    def feed(self, chunk: bytes) -> bytes:
        """Add bytes; return the whole events they complete (b"" when none)."""
        if self._pending_cr:
            # A CR ended the previous chunk: an LF right after it is the same line break.
            self._pending_cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if b"\r" in chunk:
            self._pending_cr = chunk.endswith(b"\r")
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        buf = self._buf + chunk if self._buf else chunk
        if not self._started:
            if len(buf) < 3 and b"\xef\xbb\xbf".startswith(buf):
                self._buf = buf
                return b""
            self._started = True
            if buf.startswith(b"\xef\xbb\xbf"):
                buf = buf[3:]
        end = buf.rfind(b"\n\n")
        if end < 0:
            self._buf = buf
            return b""
        self._buf = buf[end + 2 :]
        return buf[: end + 2]


async def iter_sse(chunks: AsyncIterator[bytes]) -> AsyncIterator[SSEEvent]:
    """Decode an async byte stream into events.

    Example:
        >>> import asyncio
        >>> async def body():
        ...     yield b"data: 1\\n\\nda"
        ...     yield b"ta: 2\\n\\n"
        >>> async def collect():
        ...     return [e.data async for e in iter_sse(body())]
        >>> asyncio.run(collect())
        ['1', '2']
    """
    decoder = SSEDecoder()
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            yield event
    decoder.flush()  # an event cut off before its blank line is discarded, per the spec
