"""Redactor: known secrets and credential-shaped strings never get through."""

from __future__ import annotations

import pytest

from conduit.transport import Redactor, redact
from conduit.transport.redact import REDACTED


def test_known_secrets() -> None:
    r = Redactor(["hunter2-secret", None, "", "abc"])
    assert r.redact("pw hunter2-secret end") == f"pw {REDACTED} end"
    # Too short to be a secret (and would wreck ordinary text): left alone.
    assert r.redact("abc") == "abc"


def test_longest_secret_first() -> None:
    r = Redactor(["token", "token-extended"])
    assert r.redact("x token-extended y token") == f"x {REDACTED} y {REDACTED}"


@pytest.mark.parametrize(
    "key",
    [
        "sk-abcdefghijklmnop",
        "sk-proj-AbC_dEf-123456789",
        "sk-ant-api03-AAAAAAAAAAAAAAAA",
        "AIzaSyA1234567890abcdefghijklmnopq",
    ],
)
def test_key_shapes(key: str) -> None:
    text = f"Incorrect API key provided: {key}. See docs."
    out = redact(text)
    assert key not in out
    assert out == f"Incorrect API key provided: {REDACTED}. See docs."


@pytest.mark.parametrize(
    "header",
    ["Bearer abcdefgh12345678", "bearer abc.def-ghi_jkl~mno", "BEARER dG9rZW4rdG9rZW4vdG9rZW4=="],
)
def test_bearer_tokens(header: str) -> None:
    out = redact(f"authorization: {header}")
    assert out == f"authorization: {REDACTED}"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://generativelanguage.googleapis.com/v1beta/models/x:generate?key=SECRET123",
            f"https://generativelanguage.googleapis.com/v1beta/models/x:generate?{REDACTED}",
        ),
        ("http://h/p?alt=sse&key=SECRET123", f"http://h/p?alt=sse&{REDACTED}"),
        ("http://h/p?api_key=S1&x=1", f"http://h/p?{REDACTED}&x=1"),
        ("http://h/p?API-KEY=S1", f"http://h/p?{REDACTED}"),
        ("http://h/p?access_token=S1#frag", f"http://h/p?{REDACTED}#frag"),
        ("http://h/p?monkey=banana", "http://h/p?monkey=banana"),
    ],
)
def test_url_parameters(url: str, expected: str) -> None:
    assert redact(url) == expected


def test_short_or_plain_text_is_untouched() -> None:
    text = "task-list sk-short bearer me a key=value"
    assert redact(text) == text


def test_redact_function_takes_secrets() -> None:
    assert redact("my pass is open-sesame", ["open-sesame"]) == f"my pass is {REDACTED}"
