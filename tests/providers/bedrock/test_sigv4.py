"""Our SigV4 signer against botocore's own `SigV4Auth`: same request, credentials and
time, same `Authorization` header (and the other headers it adds)."""

from __future__ import annotations

from datetime import UTC, datetime
from unittest import mock

import botocore.auth
import botocore.credentials
import pytest
from botocore.awsrequest import AWSRequest

from conduit.providers.bedrock.sigv4 import Credentials, sign

NOW = datetime(2025, 3, 14, 15, 9, 26, tzinfo=UTC)
URLS = [
    "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse",
    "https://bedrock-runtime.eu-west-1.amazonaws.com/model/eu.amazon.nova-pro-v1%3A0/converse-stream",
    "https://bedrock-runtime.us-west-2.amazonaws.com/model/x/invoke?b=2&a=1&a=0",
    "http://127.0.0.1:8123/model/meta.llama3-1-8b-instruct-v1%3A0/converse",
    "https://vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com:8443/model/m/./converse",
]


def botocore_headers(
    url: str, headers: dict[str, str], body: bytes, token: str | None
) -> dict[str, str]:
    request = AWSRequest(method="POST", url=url, headers=dict(headers), data=body)
    creds = botocore.credentials.Credentials("AKIAIOSFODNN7EXAMPLE", "wJalr/K7MDENG+bPxRfi", token)
    with mock.patch.object(
        botocore.auth, "get_current_datetime", return_value=NOW.replace(tzinfo=None)
    ):
        botocore.auth.SigV4Auth(creds, "bedrock", "us-east-1").add_auth(request)
    return {k.lower(): v for k, v in request.headers.items()}


@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzEJr//session+token=="])
@pytest.mark.parametrize("url", URLS)
def test_signature_equals_botocores(url: str, token: str | None) -> None:
    headers = {
        "Content-Type": "application/json",
        "accept": "application/vnd.amazon.eventstream",
        "user-agent": "conduit",
        "x-custom": "  spaced   value ",
    }
    body = b'{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}'
    expected = botocore_headers(url, headers, body, token)

    ours = sign(
        "POST",
        url,
        headers,
        body,
        Credentials("AKIAIOSFODNN7EXAMPLE", "wJalr/K7MDENG+bPxRfi", token),
        region="us-east-1",
        now=NOW,
    )

    assert ours["authorization"] == expected["authorization"]
    assert ours["x-amz-date"] == expected["x-amz-date"]
    assert ours.get("x-amz-security-token") == expected.get("x-amz-security-token")


def test_an_empty_body_and_a_get_match_too() -> None:
    url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse"
    request = AWSRequest(method="GET", url=url, headers={})
    creds = botocore.credentials.Credentials("AKID", "SECRET")
    with mock.patch.object(
        botocore.auth, "get_current_datetime", return_value=NOW.replace(tzinfo=None)
    ):
        botocore.auth.SigV4Auth(creds, "bedrock", "us-east-1").add_auth(request)

    ours = sign("GET", url, {}, None, Credentials("AKID", "SECRET"), region="us-east-1", now=NOW)

    assert ours["authorization"] == request.headers["Authorization"]


def test_credentials_never_show_the_secret() -> None:
    creds = Credentials("AKIAIOSFODNN7EXAMPLE", "very-secret", "tok")
    assert "very-secret" not in repr(creds)
    assert "tok" not in repr(creds)
