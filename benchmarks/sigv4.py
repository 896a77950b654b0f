"""SigV4 signing cost per request: Conduit's signer against botocore's `SigV4Auth`, and
ConverseStream frame decoding against botocore's `EventStreamBuffer`.

Each request is a typical Converse POST (a 2 KB JSON body, four headers, temporary
credentials); botocore is timed doing what its client does per request (build an
`AWSRequest`, `add_auth`). Decoding is a 200-frame stream fed in 1 KB chunks. Each
figure is the median over rounds.

Usage::

    .venv/bin/python benchmarks/sigv4.py          # ~5 s
    .venv/bin/python benchmarks/sigv4.py --quick
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable

import botocore.auth
import botocore.credentials
from botocore.awsrequest import AWSRequest
from botocore.eventstream import EventStreamBuffer

from conduit.providers.bedrock.eventstream import EventStreamDecoder, encode_frame
from conduit.providers.bedrock.sigv4 import Credentials, sign

URL = "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.amazon.nova-pro-v1:0/converse"
HEADERS = {
    "content-type": "application/json",
    "accept": "application/json",
    "user-agent": "conduit",
    "x-custom": "1",
}
BODY = json.dumps({"messages": [{"role": "user", "content": [{"text": "x" * 2000}]}]}).encode()
ACCESS, SECRET, TOKEN = (
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "t" * 300,
)


def per_call(fn: Callable[[], object], n: int, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - start) / n)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, rounds = (500, 3) if args.quick else (3000, 7)

    ours_creds = Credentials(ACCESS, SECRET, TOKEN)
    boto_signer = botocore.auth.SigV4Auth(
        botocore.credentials.Credentials(ACCESS, SECRET, TOKEN), "bedrock", "us-east-1"
    )

    def ours() -> object:
        return sign("POST", URL, HEADERS, BODY, ours_creds, region="us-east-1")

    def boto() -> object:
        request = AWSRequest(method="POST", url=URL, headers=dict(HEADERS), data=BODY)
        boto_signer.add_auth(request)
        return request

    frame = encode_frame(
        {
            ":event-type": "contentBlockDelta",
            ":content-type": "application/json",
            ":message-type": "event",
        },
        b'{"contentBlockIndex":0,"delta":{"text":"Hello there, friend"},"p":"abcdefghijkl"}',
    )
    stream = frame * 200
    chunks = [stream[i : i + 1024] for i in range(0, len(stream), 1024)]

    def decode_ours() -> object:
        decoder = EventStreamDecoder()
        return [m for c in chunks for m in decoder.feed(c)]

    def decode_boto() -> object:
        buffer = EventStreamBuffer()
        out = []
        for c in chunks:
            buffer.add_data(c)
            out.extend(buffer)
        return out

    print(f"python {platform.python_version()}, {platform.machine()}")
    sign_ours, sign_boto = per_call(ours, n, rounds), per_call(boto, n, rounds)
    print(
        f"sign one Converse request   conduit {sign_ours:7.1f} µs   botocore {sign_boto:7.1f} µs"
        f"   ({sign_boto / sign_ours:.1f}x)"
    )
    m = max(n // 50, 10)
    dec_ours, dec_boto = per_call(decode_ours, m, rounds), per_call(decode_boto, m, rounds)
    print(
        f"decode 200 frames (1 KB)    conduit {dec_ours:7.1f} µs   botocore {dec_boto:7.1f} µs"
        f"   ({dec_boto / dec_ours:.1f}x)"
    )


if __name__ == "__main__":
    main()
