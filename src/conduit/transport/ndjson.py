"""Newline-delimited JSON (NDJSON, JSON Lines): one JSON value per line, streamed.

Follows the NDJSON spec (https://github.com/ndjson/ndjson-spec): each value is one line
ended by `\\n`; a `\\r\\n` ending is accepted too, and blank lines are skipped. Ollama
streams `/api/chat` and `/api/generate` this way (`application/x-ndjson`), and reports a
failure after the answer has started as a line of its own, `{"error": "..."}`, because the
status line has already gone out (Ollama API docs, "Errors that occur while streaming").

Bytes may arrive split anywhere (inside a line, between `\\r` and `\\n`, inside a UTF-8
sequence); `NDJSONDecoder.feed` keeps the unfinished line until its `\\n` arrives, so any
split decodes to the same values.

Example:
    >>> d = NDJSONDecoder()
    >>> d.feed(b'{"a": 1}\\n{"b"')
    [b'{"a": 1}']
    >>> d.feed(b': 2}\\n')
    [b'{"b": 2}']
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Any

from conduit import _json
from conduit.errors import APIConnectionError
from conduit.transport.base import HTTPResponse
from conduit.transport.errors import EXCERPT, error_for_event
from conduit.transport.redact import Redactor

__all__ = ["NDJSONDecoder", "iter_ndjson"]

# Whitespace JSON allows around a value (RFC 8259 §2), stripped from each line.
_WHITESPACE = b" \t\r\n"
# Credential-shaped strings, removed from every message on top of the caller's `redact`.
_PATTERNS = Redactor()


class NDJSONDecoder:
    """Incremental splitter: `feed()` bytes, get the complete, non-blank lines so far.

    Lines come back as bytes with surrounding whitespace (and a `\\r` before the `\\n`)
    removed; parsing them is the caller's business (orjson parses bytes directly).

    Example:
        >>> d = NDJSONDecoder()
        >>> d.feed(b'1\\r\\n\\n[2')
        [b'1']
        >>> d.incomplete, d.flush(), d.incomplete
        (True, b'[2', False)
    """

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add bytes; return the lines they complete."""
        if not chunk:
            return []
        buf = self._buf + chunk if self._buf else chunk
        end = buf.rfind(b"\n")
        if end < 0:
            self._buf = buf
            return []
        self._buf = buf[end + 1 :]
        lines = []
        for line in buf[:end].split(b"\n"):
            line = line.strip(_WHITESPACE)
            if line:
                lines.append(line)
        return lines

    @property
    def incomplete(self) -> bool:
        """Whether bytes other than whitespace wait for a line end. At the end of a
        stream this means the last line had no `\\n` (cut off, or a lenient server)."""
        return bool(self._buf.strip(_WHITESPACE))

    def flush(self) -> bytes | None:
        """End of stream: the unterminated last line, if it holds anything, and reset."""
        line = self._buf.strip(_WHITESPACE)
        self._buf = b""
        return line or None


def _unchanged(text: str) -> str:
    return text


async def iter_ndjson(
    response: HTTPResponse,
    *,
    provider: str,
    redact: Callable[[str], str] = _unchanged,
) -> AsyncGenerator[Any, None]:
    """The values of a streamed NDJSON answer, parsed, in order; the response is closed
    when the iteration ends, fails or is closed early.

    - A line whose value is an object with an `error` member becomes the typed error for
      it (`ServerError` unless the error names a more precise kind).
    - A line that is not JSON, or a last line without its `\\n` that is not complete JSON
      (the connection was cut mid-line), is an `APIConnectionError` quoting an excerpt.
    - A failure of the byte stream itself is an `APIConnectionError` naming `provider`.

    Everything quoted passes through `redact` first: a server may echo the key back.

    Example:
        >>> import asyncio
        >>> from conduit.transport import HTTPResponse
        >>> async def body():
        ...     yield b'{"n": 1}\\n{"n"'
        ...     yield b': 2}\\n'
        >>> async def main():
        ...     return [v async for v in iter_ndjson(HTTPResponse(200, stream=body()),
        ...                                          provider="demo")]
        >>> asyncio.run(main())
        [{'n': 1}, {'n': 2}]
    """
    decoder = NDJSONDecoder()
    chunks = response.aiter_bytes()
    try:
        while True:
            failure = None
            try:
                chunk = await anext(chunks)
            except StopAsyncIteration:
                break
            except APIConnectionError as exc:
                failure = type(exc)(
                    _PATTERNS.redact(redact(exc.message)),
                    provider=provider,
                    status_code=exc.status_code,
                    request_id=exc.request_id,
                )
            if failure is not None:
                # Raised outside the `except`: the original error may quote what the
                # redactor removed, so it must not ride along as __context__.
                raise failure
            for line in decoder.feed(chunk):
                yield _parse(line, provider, redact, last=False)
        tail = decoder.flush()
        if tail is not None:
            yield _parse(tail, provider, redact, last=True)
    finally:
        await chunks.aclose()
        await response.aclose()


def _parse(line: bytes, provider: str, redact: Callable[[str], str], *, last: bool) -> Any:
    try:
        value = _json.loads(line)
    except _json.JSONDecodeError:
        excerpt = line[:EXCERPT].decode("utf-8", "replace")
        if last:
            message = f"the stream ended in the middle of a line (connection cut?): {excerpt!r}"
        else:
            message = f"a stream line is not valid JSON: {excerpt!r}"
        raise APIConnectionError(_PATTERNS.redact(redact(message)), provider=provider) from None
    if isinstance(value, dict) and value.get("error"):
        raise error_for_event(
            redact(line.decode("utf-8", "replace")), provider=provider, redactor=_PATTERNS
        )
    return value
