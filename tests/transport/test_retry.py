"""RetryPolicy and parse_retry_after (RFC 9110 §10.2.3, plus the `retry-after-ms` extension)."""

from __future__ import annotations

import email.utils
import random
import time

import pytest

from conduit.errors import ProviderError, ValidationError
from conduit.transport import (
    HTTPClient,
    HTTPRequest,
    HTTPResponse,
    MockTransport,
    Redactor,
    RetryPolicy,
    json_response,
    parse_retry_after,
)
from conduit.transport.errors import error_for_status
from conduit.transport.retry import RETRYABLE_STATUS


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after": ""}, None),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after": " 2 "}, 2.0),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "inf"}, float("inf")),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "0"}, 0.0),
        ({"retry-after-ms": "-5"}, 0.0),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after-ms": "bogus", "retry-after": "9"}, 9.0),
        ({"retry-after-ms": "NaN", "retry-after": "4"}, 4.0),
        ({"retry-after-ms": "", "retry-after": "4"}, 4.0),
    ],
)
def test_parse_retry_after_numbers(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers.get) == expected


def test_parse_retry_after_http_date() -> None:
    now = time.time()
    future = email.utils.formatdate(now + 30, usegmt=True)  # whole seconds: int(now) + 30
    seconds = parse_retry_after({"retry-after": future}.get)
    parsed = time.time()
    assert seconds is not None
    assert int(now) + 30 - parsed <= seconds <= int(now) + 30 - now


def test_parse_retry_after_past_date_is_zero() -> None:
    past = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert parse_retry_after({"retry-after": past}.get) == 0.0


def test_parse_retry_after_date_without_zone_is_utc() -> None:
    # "-0000" gives a naive datetime; it must be read as UTC, not as local time.
    when = email.utils.formatdate(time.time() + 60)  # "... +0000"
    naive = when.rsplit(" ", 1)[0] + " -0000"
    seconds = parse_retry_after({"retry-after": naive}.get)
    assert seconds is not None
    assert 58 <= seconds <= 60


@pytest.mark.parametrize("value", ["Mon, 99 Foo 2020 00:00:00 GMT", "tomorrow", "1 2 3"])
def test_parse_retry_after_bad_date(value: str) -> None:
    assert parse_retry_after({"retry-after": value}.get) is None


def test_errors_for_these_statuses_say_they_are_retryable() -> None:
    policy = RetryPolicy()
    assert {408, 409, 429} == RETRYABLE_STATUS
    redactor = Redactor([])
    for status in (408, 409, 429, 500, 502, 503, 504, 529):
        error = error_for_status(status, b"", {}.get, provider="p", redactor=redactor)
        assert error.retryable, status
        assert policy.should_retry(error, retries_done=0)
        assert not policy.should_retry(error, retries_done=policy.max_retries)
    for status in (400, 401, 403, 404, 413, 422):
        error = error_for_status(status, b"", {}.get, provider="p", redactor=redactor)
        assert not error.retryable, status
        assert not policy.should_retry(error, retries_done=0)


@pytest.mark.parametrize(
    ("status", "header", "expected"),
    [
        (400, "true", True),
        (400, "TRUE", True),
        (400, " true ", True),
        (503, "false", False),
        (503, "False", False),
        (503, "maybe", True),
        (400, "maybe", False),
        (400, "", False),
    ],
)
async def test_x_should_retry_overrides(status: int, header: str, expected: bool) -> None:
    calls = []

    def handler(request: HTTPRequest) -> HTTPResponse:
        calls.append(request)
        if len(calls) == 1:
            return HTTPResponse(status, {"x-should-retry": header})
        return json_response({"ok": True})

    client = HTTPClient(
        MockTransport(handler),
        provider="p",
        retry=RetryPolicy(max_retries=1, initial_delay=0, jitter=False),
    )
    if expected:
        assert await client.post_json("http://127.0.0.1/x", {}) == {"ok": True}
        assert len(calls) == 2
    else:
        with pytest.raises(ProviderError) as info:
            await client.post_json("http://127.0.0.1/x", {})
        assert info.value.retryable is False
        assert len(calls) == 1


def test_a_policy_refuses_bad_numbers() -> None:
    for bad in (-1, 1.5, True, float("nan"), "2"):
        with pytest.raises(ValidationError, match="max_retries"):
            RetryPolicy.of(bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="initial_delay"):
        RetryPolicy(initial_delay=float("inf"))
    assert RetryPolicy.of(None) == RetryPolicy()


def test_backoff_without_jitter_doubles_up_to_max() -> None:
    policy = RetryPolicy(initial_delay=0.5, max_delay=3.0, jitter=False)
    assert [policy.backoff(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_backoff_full_jitter_stays_under_the_ceiling() -> None:
    random.seed(1234)
    policy = RetryPolicy(initial_delay=1.0, max_delay=4.0)
    for attempt in range(6):
        ceiling = min(2**attempt, 4.0)
        waits = [policy.backoff(attempt) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling / 2  # really spread over the range, not a constant


def test_delay_prefers_the_server_hint() -> None:
    policy = RetryPolicy(max_retry_after=10, jitter=False, initial_delay=1)
    assert policy.delay(0, 3.0) == 3.0
    assert policy.delay(0, 10.0) == 10.0
    assert policy.delay(0, 0.0) == 0.0
    assert policy.delay(0, 10.5) is None
    assert policy.delay(0, float("inf")) is None
    assert policy.delay(2, None) == 4.0


def test_policy_is_frozen() -> None:
    policy = RetryPolicy()
    assert (policy.max_retries, policy.max_retry_after) == (2, 60.0)
    with pytest.raises(AttributeError):
        policy.max_retries = 5  # type: ignore[misc]
