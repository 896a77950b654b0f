"""The event-stream decoder against botocore's own parser: frames built here decode the
same with both; a flipped byte anywhere is rejected."""

from __future__ import annotations

import json

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

from conduit.providers.bedrock.eventstream import EventStreamDecoder, EventStreamError, encode_frame
from tests.providers.bedrock.conftest import frames, load_fixture

HEADERS = {
    ":event-type": "contentBlockDelta",
    ":content-type": "application/json",
    ":message-type": "event",
    "flag": True,
    "count": 7,
    "blob": b"\x00\x01",
}


def botocore_messages(data: bytes) -> list[tuple[dict[str, object], bytes]]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return [(m.headers, m.payload) for m in buffer]


def test_frames_decode_identically_with_botocore() -> None:
    data = frames(load_fixture("stream_tool_use")) + encode_frame(HEADERS, b'{"x": 1}')

    ours = [(m.headers, m.payload) for m in EventStreamDecoder().feed(data)]

    assert ours == botocore_messages(data)
    assert len(ours) == len(load_fixture("stream_tool_use")) + 1


@pytest.mark.parametrize("size", [1, 5, 13, 64])
def test_frames_split_anywhere_decode_the_same(size: int) -> None:
    data = frames(load_fixture("stream_text"))
    decoder = EventStreamDecoder()
    got = []
    for i in range(0, len(data), size):
        got.extend(decoder.feed(data[i : i + size]))

    assert [(m.headers, m.payload) for m in got] == botocore_messages(data)
    assert not decoder.incomplete
    assert json.loads(got[1].payload)["delta"] == {"text": "Hello!"}


@pytest.mark.parametrize("where", [0, 5, 9, 14, 30, -6, -1])
def test_a_flipped_byte_is_rejected(where: int) -> None:
    data = bytearray(encode_frame(HEADERS, b'{"delta": {"text": "Hi"}}'))
    data[where] ^= 0x40

    with pytest.raises(EventStreamError):
        EventStreamDecoder().feed(bytes(data))
    with pytest.raises((ChecksumMismatch, Exception)):
        botocore_messages(bytes(data))


def test_a_header_of_unknown_type_is_damage() -> None:
    good = encode_frame({"a": "b"}, b"")
    # Rebuild the frame with the header's type byte set to 42, CRCs recomputed.
    raw = bytearray(good[12:-4])
    raw[2] = 42
    import struct
    import zlib

    prelude = struct.pack(">II", len(good), len(raw))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + bytes(raw)
    frame = body + struct.pack(">I", zlib.crc32(body))

    with pytest.raises(EventStreamError, match="unknown header value type"):
        EventStreamDecoder().feed(frame)


def test_every_header_value_type_decodes_like_botocore() -> None:
    import struct
    import uuid
    import zlib

    def header(name: str, kind: int, raw: bytes) -> bytes:
        return bytes([len(name)]) + name.encode() + bytes([kind]) + raw

    raw = b"".join(
        [
            header("t", 0, b""),
            header("f", 1, b""),
            header("b", 2, struct.pack(">b", -3)),
            header("s", 3, struct.pack(">h", -300)),
            header("i", 4, struct.pack(">i", 70000)),
            header("l", 5, struct.pack(">q", 2**40)),
            header("ts", 8, struct.pack(">q", 1_700_000_000_000)),
            header("u", 9, uuid.UUID(int=7).bytes),
        ]
    )
    total = 12 + len(raw) + 2 + 4
    prelude = struct.pack(">II", total, len(raw))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + raw + b"{}"
    frame = body + struct.pack(">I", zlib.crc32(body))

    (message,) = EventStreamDecoder().feed(frame)
    ((theirs, payload),) = botocore_messages(frame)

    assert message.payload == payload == b"{}"
    for name in ("t", "f", "b", "s", "i", "l"):
        assert message.headers[name] == theirs[name]
    assert message.headers["ts"] == 1_700_000_000_000
    assert message.headers["u"] == uuid.UUID(int=7)


def test_an_impossible_length_is_damage() -> None:
    import struct
    import zlib

    prelude = struct.pack(">II", 8, 0)
    prelude += struct.pack(">I", zlib.crc32(prelude))
    with pytest.raises(EventStreamError, match="impossible length"):
        EventStreamDecoder().feed(prelude + b"\x00" * 8)
