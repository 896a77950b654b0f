"""The AWS event-stream framing (`application/vnd.amazon.eventstream`) that
ConverseStream answers in, decoded incrementally with both CRC checks.

A frame: total length (4 bytes), headers length (4), prelude CRC32 (4), headers,
payload, message CRC32 (4), all big-endian
(https://docs.aws.amazon.com/transcribe/latest/dg/event-stream.html). A header: name
length (1), name, value type (1), value. A frame whose CRC does not match, or whose
lengths are impossible, is an `EventStreamError` (an `APIConnectionError`: the bytes
were damaged on the way).

Example:
    >>> frame = encode_frame({":event-type": "messageStop", ":message-type": "event"},
    ...                      b'{"stopReason":"end_turn"}')
    >>> decoder = EventStreamDecoder()
    >>> [m.headers[":event-type"] for m in decoder.feed(frame[:7]) + decoder.feed(frame[7:])]
    ['messageStop']
"""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conduit.errors import APIConnectionError

__all__ = ["EventStreamDecoder", "EventStreamError", "Message", "encode_frame"]

_PRELUDE = 12
_MIN_FRAME = 16
_MAX_FRAME = 24 * 1024 * 1024  # far above any Bedrock event; a bigger length is damage


class EventStreamError(APIConnectionError):
    """A damaged event-stream frame (CRC mismatch, impossible lengths, bad header)."""


@dataclass(frozen=True, slots=True)
class Message:
    """One decoded frame: its headers and payload."""

    headers: dict[str, Any]
    payload: bytes


def _headers(data: bytes) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    at, end = 0, len(data)
    try:
        while at < end:
            size = data[at]
            name = data[at + 1 : at + 1 + size].decode("utf-8")
            at += 1 + size
            kind = data[at]
            at += 1
            value: Any
            if kind in (0, 1):
                value = kind == 0
            elif kind == 2:
                value = struct.unpack_from(">b", data, at)[0]
                at += 1
            elif kind == 3:
                value = struct.unpack_from(">h", data, at)[0]
                at += 2
            elif kind == 4:
                value = struct.unpack_from(">i", data, at)[0]
                at += 4
            elif kind in (5, 8):
                value = struct.unpack_from(">q", data, at)[0]
                at += 8
            elif kind in (6, 7):
                length = struct.unpack_from(">H", data, at)[0]
                raw = data[at + 2 : at + 2 + length]
                if len(raw) != length:
                    raise ValueError("header value runs past the headers")
                value = raw.decode("utf-8") if kind == 7 else bytes(raw)
                at += 2 + length
            elif kind == 9:
                value = uuid.UUID(bytes=bytes(data[at : at + 16]))
                at += 16
            else:
                raise ValueError(f"unknown header value type {kind}")
            headers[name] = value
    except (IndexError, struct.error, ValueError, UnicodeDecodeError) as exc:
        raise EventStreamError(f"malformed event-stream headers: {exc}") from None
    if at != end:
        raise EventStreamError("malformed event-stream headers: they overrun their length")
    return headers


class EventStreamDecoder:
    """Feed bytes as they arrive; get each complete `Message` (CRCs checked)."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def incomplete(self) -> bool:
        """Whether bytes of an unfinished frame are waiting."""
        return bool(self._buffer)

    def feed(self, chunk: bytes) -> list[Message]:
        """The messages completed by `chunk`."""
        buffer = self._buffer
        buffer += chunk
        out: list[Message] = []
        while len(buffer) >= _PRELUDE:
            total, header_len, prelude_crc = struct.unpack_from(">III", buffer, 0)
            if zlib.crc32(buffer[:8]) != prelude_crc:
                raise EventStreamError("event-stream frame damaged: the prelude CRC does not match")
            if total < _MIN_FRAME or total > _MAX_FRAME or header_len > total - _MIN_FRAME:
                raise EventStreamError(f"event-stream frame with impossible length {total}")
            if len(buffer) < total:
                break
            frame = bytes(buffer[:total])
            del buffer[:total]
            (message_crc,) = struct.unpack_from(">I", frame, total - 4)
            if zlib.crc32(frame[:-4]) != message_crc:
                raise EventStreamError("event-stream frame damaged: the message CRC does not match")
            headers = _headers(frame[_PRELUDE : _PRELUDE + header_len])
            out.append(Message(headers, frame[_PRELUDE + header_len : -4]))
        return out


def _encode_header(name: str, value: Any) -> bytes:
    raw_name = name.encode()
    head = bytes([len(raw_name)]) + raw_name
    if isinstance(value, bool):
        return head + bytes([0 if value else 1])
    if isinstance(value, int):
        return head + b"\x04" + struct.pack(">i", value)
    if isinstance(value, bytes):
        return head + b"\x06" + struct.pack(">H", len(value)) + value
    raw = str(value).encode()
    return head + b"\x07" + struct.pack(">H", len(raw)) + raw


def encode_frame(headers: Mapping[str, Any], payload: bytes) -> bytes:
    """One frame (for tests and local stand-ins of ConverseStream): string, bytes, int
    and bool headers."""
    raw_headers = b"".join(_encode_header(k, v) for k, v in headers.items())
    total = _PRELUDE + len(raw_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(raw_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + raw_headers + payload
    return body + struct.pack(">I", zlib.crc32(body))
