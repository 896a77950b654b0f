"""Errors through the Gemini adapter: each Google error body becomes the typed error the
caller can act on; retries; the key never leaks."""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

import pytest

from conduit.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    ContextWindowExceededError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    ServerError,
    TimeoutError,
)
from conduit.providers.gemini.errors import google_error_info, refine_error
from conduit.transport import HTTPRequest, HTTPResponse, json_response, sse_response
from tests.providers.gemini.conftest import (
    TEST_KEY,
    chat_model,
    collect_into,
    embedder,
    load_fixture,
)

CASES = [
    ("error_invalid_argument", BadRequestError, None),
    ("error_failed_precondition", BadRequestError, None),
    ("error_context_too_long", ContextWindowExceededError, None),
    ("error_api_key_invalid", AuthenticationError, None),
    ("error_unauthenticated", AuthenticationError, None),
    ("error_permission_denied", PermissionDeniedError, None),
    ("error_not_found", NotFoundError, None),
    ("error_resource_exhausted", RateLimitError, 26.0),
    ("error_internal", ServerError, None),
    ("error_unavailable", ServerError, None),
    ("error_deadline_exceeded", TimeoutError, None),
]


def _failing(fixture: str, **headers: str) -> Any:
    data = load_fixture(fixture)
    status = data["error"]["code"]
    headers = {"x-goog-request-id": "6b2f0c1d9e8a", **headers}
    return lambda request: json_response(data, status=status, headers=headers)


@pytest.mark.parametrize(("fixture", "cls", "retry_after"), CASES)
async def test_error_through_chat(
    fixture: str, cls: type[ProviderError], retry_after: float | None
) -> None:
    model, transport = chat_model(_failing(fixture))
    with pytest.raises(cls) as info:
        await model.chat("Hi")
    exc = info.value
    assert type(exc) is cls
    error = load_fixture(fixture)["error"]
    assert exc.status_code == error["code"]
    assert exc.provider == "gemini"
    assert exc.request_id == "6b2f0c1d9e8a"
    assert exc.retry_after == retry_after
    assert exc.message == error["message"]
    assert exc.body is not None
    assert error["status"] in exc.body
    assert len(transport.requests) == 1  # max_retries=0


@pytest.mark.parametrize(("fixture", "cls", "retry_after"), CASES)
async def test_error_through_stream(
    fixture: str, cls: type[ProviderError], retry_after: float | None
) -> None:
    model, _ = chat_model(_failing(fixture))
    with pytest.raises(cls):
        async for _event in model.stream("Hi"):
            pass


@pytest.mark.parametrize(
    ("fixture", "cls"),
    [("error_api_key_invalid", AuthenticationError), ("error_resource_exhausted", RateLimitError)],
)
async def test_error_through_embeddings(fixture: str, cls: type[ProviderError]) -> None:
    model, _ = embedder(_failing(fixture))
    with pytest.raises(cls):
        await model.embed(["a", "b"])
    with pytest.raises(cls):
        await model.embed("a")


async def test_retry_after_header_wins_over_retry_info() -> None:
    model, _ = chat_model(_failing("error_resource_exhausted", **{"retry-after": "3"}))
    with pytest.raises(RateLimitError) as info:
        await model.chat("Hi")
    assert info.value.retry_after == 3.0


async def test_error_body_that_is_not_json() -> None:
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    model, _ = chat_model(lambda request: HTTPResponse(502, {"content-type": "text/html"}, html))
    with pytest.raises(ServerError, match="502 Bad Gateway"):
        await model.chat("Hi")


async def test_error_body_that_is_empty() -> None:
    model, _ = chat_model(lambda request: HTTPResponse(404, {}, b""))
    with pytest.raises(NotFoundError, match="empty body"):
        await model.chat("Hi")


@pytest.mark.parametrize(
    ("first", "status"), [("error_resource_exhausted", 429), ("error_unavailable", 503)]
)
async def test_retries_then_succeeds(first: str, status: int) -> None:
    answers = iter(
        [
            json_response(load_fixture(first), status=status, headers={"retry-after": "0"}),
            json_response(load_fixture("error_internal"), status=500, headers={"retry-after": "0"}),
            json_response(load_fixture("generate_text")),
        ]
    )
    model, transport = chat_model(lambda request: next(answers), max_retries=2)
    response = await model.chat("Hi")
    assert response.text == "Hello! How can I help you today?"
    assert len(transport.requests) == 3
    # Every attempt sends the same body.
    assert len({r.content for r in transport.requests}) == 1


async def test_stream_retries_before_the_first_byte() -> None:
    chunks = load_fixture("stream_text")
    answers = iter(
        [
            json_response(
                load_fixture("error_unavailable"), status=503, headers={"retry-after": "0"}
            ),
            sse_response(chunks, done=False),
        ]
    )
    model, transport = chat_model(lambda request: next(answers), max_retries=1)
    events = [e async for e in model.stream("Hi")]
    assert events[-1].type == "done"
    assert len(transport.requests) == 2


async def test_bad_request_is_not_retried() -> None:
    model, transport = chat_model(_failing("error_invalid_argument"), max_retries=2)
    with pytest.raises(BadRequestError):
        await model.chat("Hi")
    assert len(transport.requests) == 1


async def test_connection_failure() -> None:
    def handler(request: HTTPRequest) -> HTTPResponse:
        raise APIConnectionError("connection reset by peer")

    model, transport = chat_model(handler)
    with pytest.raises(APIConnectionError, match="connection reset") as info:
        await model.chat("Hi")
    assert info.value.provider == "gemini"
    assert len(transport.requests) == 1


# ------------------------------------------------------------------ mid-stream errors


@pytest.mark.parametrize(
    ("fixture", "cls"),
    [
        ("error_resource_exhausted", RateLimitError),
        ("error_invalid_argument", BadRequestError),
        ("error_internal", ServerError),
    ],
)
async def test_error_event_inside_the_stream(fixture: str, cls: type[ProviderError]) -> None:
    first = load_fixture("stream_text")[0]
    model, _ = chat_model(lambda request: sse_response([first, load_fixture(fixture)], done=False))
    seen: list[Any] = []
    with pytest.raises(cls) as info:
        await collect_into(seen, model.stream("Hi"))
    assert [e.text for e in seen] == ["Hello"]
    assert info.value.status_code == load_fixture(fixture)["error"]["code"]


# ------------------------------------------------------------------------ no leaks


async def test_the_key_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    echoed = {
        "error": {
            "code": 400,
            "message": f"API key not valid: {TEST_KEY}",
            "status": "INVALID_ARGUMENT",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
            ],
        }
    }
    answers = iter(
        [
            json_response(
                {"error": {"code": 503, "message": TEST_KEY, "status": "UNAVAILABLE"}},
                status=503,
                headers={"retry-after": "0"},
            ),
            json_response(echoed, status=400),
        ]
    )
    model, transport = chat_model(lambda request: next(answers), max_retries=1)
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as info:
        await model.chat("Hi")
    exc = info.value
    for text in (
        str(exc),
        repr(exc),
        repr(exc.args),
        exc.body or "",
        "".join(traceback.format_exception(exc)),
        caplog.text,
        repr(model),
    ):
        assert TEST_KEY not in text
    assert "[REDACTED]" in exc.message
    for request in transport.requests:
        assert TEST_KEY not in request.url


# ------------------------------------------------------------------- the mapping


def test_google_error_info_reads_a_cut_excerpt() -> None:
    body = json.dumps(load_fixture("error_resource_exhausted"))
    # The QuotaFailure comes first, so cut after the status but inside the details.
    cut = body[: body.index("retryDelay") + len('retryDelay": "26s"')]
    assert not cut.endswith("}")
    info = google_error_info(cut)
    assert info["status"] == "RESOURCE_EXHAUSTED"
    assert info["code"] == 429
    assert info["retry_delay"] == 26.0
    cut_early = body[: body.index('"details"')]
    assert google_error_info(cut_early)["retry_delay"] is None


def test_google_error_info_edge_cases() -> None:
    assert google_error_info(None)["status"] is None
    assert google_error_info(b"[]")["status"] is None
    wrapped = [{"error": {"code": "429", "status": 5, "details": ["x", {"retryDelay": "soon"}]}}]
    info = google_error_info(json.dumps(wrapped).encode())
    assert info == {"status": None, "reasons": set(), "retry_delay": None, "code": None}
    assert (
        google_error_info('{"error": {"details": [{"retryDelay": "1.5s"}]}}')["retry_delay"] == 1.5
    )
    assert (
        google_error_info('{"error": {"details": [{"retryDelay": "xs"}]}}')["retry_delay"] is None
    )


def test_refine_error_leaves_others_alone() -> None:
    conn = APIConnectionError("reset", provider="gemini")
    assert refine_error(conn, '{"error": {"status": "INTERNAL"}}') is conn
    plain = ServerError("oops", provider="gemini", status_code=500, body='{"detail": "x"}')
    assert refine_error(plain) is plain
    same = ServerError(
        "busy", provider="gemini", status_code=503, body='{"error": {"status": "UNAVAILABLE"}}'
    )
    assert refine_error(same) is same
    # An unknown status keeps the transport's class.
    odd = ProviderError(
        "conflict", provider="gemini", status_code=409, body='{"error": {"status": "ABORTED"}}'
    )
    assert type(refine_error(odd)) is ProviderError


def test_refine_error_fills_the_status_from_the_body() -> None:
    event = ServerError(
        "quota", provider="gemini", body=json.dumps(load_fixture("error_resource_exhausted"))
    )
    refined = refine_error(event)
    assert type(refined) is RateLimitError
    assert (refined.status_code, refined.retry_after) == (429, 26.0)


def test_refine_error_keeps_the_transports_finer_reading() -> None:
    filtered = ContentFilterError(
        "blocked by the safety system",
        provider="gemini",
        status_code=400,
        body='{"error": {"status": "INVALID_ARGUMENT"}}',
    )
    assert refine_error(filtered) is filtered
