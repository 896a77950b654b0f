"""Error bodies of every common shape → (message, type, code) → typed errors."""

from __future__ import annotations

import pytest

from conduit import errors
from conduit.transport.errors import error_detail, error_for_event, error_for_status
from conduit.transport.redact import Redactor

NO_SECRETS = Redactor()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"error": {"message": "m", "type": "invalid_request_error", "code": "c"}},
            ("m", "invalid_request_error", "c"),
        ),
        (
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            ("Overloaded", "overloaded_error", None),
        ),
        (
            {"error": {"code": 429, "message": "Quota", "status": "RESOURCE_EXHAUSTED"}},
            ("Quota", "RESOURCE_EXHAUSTED", "429"),
        ),
        (
            [{"error": {"code": 500, "message": "g", "status": "INTERNAL"}}],
            ("g", "INTERNAL", "500"),
        ),
        ({"error": "model not found"}, ("model not found", None, None)),
        ({"detail": "Not authenticated"}, ("Not authenticated", None, None)),
        ({"detail": {"reason": "x"}}, ("{'reason': 'x'}", None, None)),
        ({"error": {"message": None, "detail": "d"}}, ("d", None, None)),
        ({"error": ["odd"]}, (None, None, None)),
        ({"error": {}}, (None, None, None)),
        ([], (None, None, None)),
        ("text", (None, None, None)),
        (None, (None, None, None)),
        (42, (None, None, None)),
    ],
)
def test_error_detail(body: object, expected: tuple[str | None, ...]) -> None:
    assert error_detail(body) == expected


def _status(
    status: int, body: bytes, headers: dict[str, str] | None = None
) -> errors.ProviderError:
    return error_for_status(
        status, body, (headers or {}).get, provider="p", redactor=NO_SECRETS, retry_after=None
    )


def test_error_for_status_fields() -> None:
    exc = _status(429, b'{"error": {"message": "slow"}}', {"request-id": "r"})
    assert type(exc) is errors.RateLimitError
    assert (exc.provider, exc.status_code, exc.request_id, exc.retry_after) == ("p", 429, "r", None)
    no_headers: dict[str, str] = {}
    with_retry = error_for_status(
        429, b"{}", no_headers.get, provider="p", redactor=NO_SECRETS, retry_after=2.5
    )
    assert with_retry.retry_after == 2.5
    assert "HTTP 429" in with_retry.message  # "{}" has no message: the status is described


def test_error_for_status_excerpt_is_bounded() -> None:
    exc = _status(500, b"x" * 10_000)
    assert len(exc.message) < 400
    assert exc.body is not None
    assert len(exc.body) == 1200


def test_error_for_status_bad_utf8() -> None:
    exc = _status(502, b"\xff\xfe bad gateway")
    assert "bad gateway" in exc.message


def test_other_4xx_are_bad_requests_and_409_is_generic() -> None:
    assert type(_status(418, b"")) is errors.BadRequestError
    assert type(_status(409, b"")) is errors.ProviderError
    assert type(_status(599, b"")) is errors.ServerError


def test_only_plain_bad_requests_are_refined() -> None:
    body = b'{"error": {"message": "content_filter triggered"}}'
    assert type(_status(400, body)) is errors.ContentFilterError
    assert type(_status(403, body)) is errors.PermissionDeniedError
    assert type(_status(500, body)) is errors.ServerError


@pytest.mark.parametrize(
    ("data", "cls"),
    [
        ('{"type":"error","error":{"type":"overloaded_error","message":"o"}}', errors.ServerError),
        ('{"error":{"type":"rate_limit_error","message":"r"}}', errors.RateLimitError),
        ('{"error":{"message":"q","code":"insufficient_quota"}}', errors.RateLimitError),
        ('{"error":{"type":"authentication_error","message":"a"}}', errors.AuthenticationError),
        ('{"error":{"type":"permission_error","message":"p"}}', errors.PermissionDeniedError),
        ('{"error":{"type":"not_found_error","message":"n"}}', errors.NotFoundError),
        ('{"error":{"type":"timeout_error","message":"t"}}', errors.TimeoutError),
        ('{"error":{"type":"invalid_request_error","message":"i"}}', errors.BadRequestError),
        (
            '{"error":{"type":"invalid_request_error","message":"prompt is too long"}}',
            errors.ContextWindowExceededError,
        ),
        (
            '{"error":{"type":"invalid_request_error","message":"blocked by the safety system"}}',
            errors.ContentFilterError,
        ),
        ('{"error":{"type":"something_new","message":"s"}}', errors.ServerError),
        (
            '[{"error":{"code":503,"message":"unavailable","status":"UNAVAILABLE"}}]',
            errors.ServerError,
        ),
        ("not json at all", errors.ServerError),
    ],
)
def test_error_for_event(data: str, cls: type[errors.ProviderError]) -> None:
    exc = error_for_event(data, provider="p", redactor=NO_SECRETS)
    assert type(exc) is cls
    assert exc.provider == "p"
    assert exc.status_code is None
    assert exc.body == data


def test_error_for_event_redacts() -> None:
    data = '{"error":{"message":"key sk-abcdefghijklmnopqrst is bad"}}'
    exc = error_for_event(data, provider="p", redactor=NO_SECRETS)
    assert "sk-abcdefghijklmnopqrst" not in str(exc)
    assert exc.body is not None
    assert "sk-abcdefghijklmnopqrst" not in exc.body
