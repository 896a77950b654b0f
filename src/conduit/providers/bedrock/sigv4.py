"""AWS Signature Version 4, for the requests Conduit sends to Bedrock.

Our own signer (botocore's builds several objects per request; this is a few hashes),
proved equal to botocore's `SigV4Auth` for the same request, credentials and time by the
tests. It follows https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
as botocore applies it to non-S3 services: the path is URI-encoded once more for the
canonical request, every header but a few hop-by-hop ones is signed, and the body's
SHA-256 is always part of the signature.

Example:
    >>> from datetime import datetime, timezone
    >>> creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    >>> headers = sign("POST", "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse",
    ...     {"content-type": "application/json"}, b"{}", creds, region="us-east-1",
    ...     service="bedrock", now=datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    >>> headers["x-amz-date"]
    '20250102T030405Z'
    >>> headers["authorization"].split(", ")[1]
    'SignedHeaders=content-type;host;x-amz-date'
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import quote, urlsplit

__all__ = ["Credentials", "canonical_request", "sign"]

ALGORITHM = "AWS4-HMAC-SHA256"
# Headers botocore leaves out of the signature (hop-by-hop, tracing, the user agent).
UNSIGNED = frozenset(
    {
        "authorization",
        "baggage",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "traceparent",
        "tracestate",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)


@dataclass(frozen=True, slots=True)
class Credentials:
    """An AWS access key, its secret and (for temporary credentials) the session token.

    The secret and the token never appear in `repr()`.
    """

    access_key: str
    secret_key: str
    token: str | None = None

    def __repr__(self) -> str:
        return f"Credentials(access_key={self.access_key[:4]}…)"


def _remove_dot_segments(path: str) -> str:
    out: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if len(out) > 1:
                out.pop()
        elif part != ".":
            out.append(part)
    normalized = "/".join(out)
    if path.endswith(("/.", "/..")):
        normalized += "/"
    return normalized if normalized.startswith("/") else "/" + normalized


def _host(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    port = parts.port
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return host if port is None or port == default else f"{host}:{port}"


def _query(query: str) -> str:
    if not query:
        return ""
    pairs = [pair.partition("=")[::2] for pair in query.split("&")]
    return "&".join(f"{key}={value}" for key, value in sorted(pairs))


def canonical_request(
    method: str, url: str, headers: Mapping[str, str], body: bytes | None
) -> tuple[str, str]:
    """(the canonical request, the signed-header list) for a request whose `headers`
    already include `x-amz-date` (and the token, if any)."""
    parts = urlsplit(url)
    signed: dict[str, str] = {}
    for name, value in headers.items():
        low = name.lower()
        if low not in UNSIGNED:
            value = " ".join(value.split())
            signed[low] = f"{signed[low]},{value}" if low in signed else value
    signed.setdefault("host", _host(url))
    names = sorted(signed)
    signed_names = ";".join(names)
    lines = [
        method.upper(),
        quote(_remove_dot_segments(parts.path or "/"), safe="/~"),
        _query(parts.query),
        "".join(f"{name}:{signed[name]}\n" for name in names),
        signed_names,
        hashlib.sha256(body or b"").hexdigest(),
    ]
    return "\n".join(lines), signed_names


@lru_cache(maxsize=32)
def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), day.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def sign(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    credentials: Credentials,
    *,
    region: str,
    service: str = "bedrock",
    now: datetime | None = None,
) -> dict[str, str]:
    """The headers to add to the request: `x-amz-date`, `x-amz-security-token` (with
    temporary credentials) and `authorization`."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    stamp = moment.strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    added = {"x-amz-date": stamp}
    if credentials.token:
        added["x-amz-security-token"] = credentials.token
    merged = {k: v for k, v in headers.items() if k.lower() not in added}
    merged.update(added)
    canonical, signed_names = canonical_request(method, url, merged, body)
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join((ALGORITHM, stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()))
    key = _signing_key(credentials.secret_key, day, region, service)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    added["authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={signed_names}, Signature={signature}"
    )
    return added
