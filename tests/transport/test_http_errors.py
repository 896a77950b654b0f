"""HTTP status → typed error, over real HTTP on 127.0.0.1 (aiohttp.web ↔ AiohttpTransport)."""

from __future__ import annotations

import pytest

from conduit import errors
from conduit.transport.aiohttp_transport import AiohttpTransport

from .conftest import WebServer, make_client, reply

OPENAI_ERROR = {"error": {"message": "bad thing", "type": "invalid_request_error", "code": None}}


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequestError),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (408, errors.TimeoutError),
        (409, errors.ProviderError),
        (413, errors.BadRequestError),
        (418, errors.BadRequestError),
        (422, errors.BadRequestError),
        (429, errors.RateLimitError),
        (500, errors.ServerError),
        (502, errors.ServerError),
        (503, errors.ServerError),
        (529, errors.ServerError),
    ],
)
async def test_status_maps_to_error_class(
    web_server: WebServer, transport: AiohttpTransport, status: int, cls: type[Exception]
) -> None:
    web_server.answer(reply(status, OPENAI_ERROR, headers={"x-request-id": "req_123"}))
    client = make_client(transport, max_retries=0)
    with pytest.raises(cls) as info:
        await client.post_json(web_server.url(), {"model": "m"})
    exc = info.value
    assert type(exc) is cls
    assert isinstance(exc, errors.ProviderError)
    assert exc.status_code == status
    assert exc.provider == "testprov"
    assert exc.request_id == "req_123"
    assert exc.message == "bad thing"
    assert exc.body is not None
    assert "bad thing" in exc.body
    assert "req_123" in str(exc)
    assert f"HTTP {status}" in str(exc)
    assert len(web_server.requests) == 1


@pytest.mark.parametrize(
    "header", ["x-request-id", "request-id", "x-amzn-requestid", "x-goog-request-id"]
)
async def test_request_id_headers(
    web_server: WebServer, transport: AiohttpTransport, header: str
) -> None:
    web_server.answer(reply(400, OPENAI_ERROR, headers={header: "abc-1"}))
    with pytest.raises(errors.BadRequestError) as info:
        await make_client(transport).post_json(web_server.url(), {})
    assert info.value.request_id == "abc-1"


async def test_no_request_id_header(web_server: WebServer, transport: AiohttpTransport) -> None:
    web_server.answer(reply(404, {"error": "model 'x' not found"}))
    with pytest.raises(errors.NotFoundError) as info:
        await make_client(transport).post_json(web_server.url(), {})
    assert info.value.request_id is None
    assert info.value.message == "model 'x' not found"  # Ollama's string shape


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (
            400,
            {
                "error": {
                    "message": "This model's maximum context length is 8192 tokens.",
                    "type": "invalid_request_error",
                    "code": "context_length_exceeded",
                }
            },
        ),
        (
            400,
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": "prompt is too long: 210000 tokens > 200000 maximum",
                },
            },
        ),
        (413, {"error": {"message": "Request too large", "code": "context_length_exceeded"}}),
        (
            400,
            {
                "error": {
                    "code": 400,
                    "message": "The input token count exceeds the context window",
                    "status": "INVALID_ARGUMENT",
                }
            },
        ),
    ],
)
async def test_context_window_bodies(
    web_server: WebServer, transport: AiohttpTransport, status: int, body: object
) -> None:
    web_server.answer(reply(status, body))
    with pytest.raises(errors.ContextWindowExceededError) as info:
        await make_client(transport).post_json(web_server.url(), {})
    assert isinstance(info.value, errors.BadRequestError)
    assert info.value.status_code == status


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"message": "filtered", "type": None, "code": "content_filter"}},
        {"error": {"message": "Your request was rejected", "code": "content_policy_violation"}},
        {"detail": "blocked by Responsible AI policy"},
    ],
)
async def test_content_filter_bodies(
    web_server: WebServer, transport: AiohttpTransport, body: object
) -> None:
    web_server.answer(reply(400, body))
    with pytest.raises(errors.ContentFilterError) as info:
        await make_client(transport).post_json(web_server.url(), {})
    assert info.value.status_code == 400


async def test_rate_limit_body_is_not_refined(
    web_server: WebServer, transport: AiohttpTransport
) -> None:
    # "too many tokens" is a context marker, but a 429 stays a rate limit.
    web_server.answer(reply(429, {"error": {"message": "too many tokens per minute"}}))
    with pytest.raises(errors.RateLimitError):
        await make_client(transport, max_retries=0).post_json(web_server.url(), {})


async def test_html_error_page(web_server: WebServer, transport: AiohttpTransport) -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body>" + "x" * 2000 + "</body>"
    web_server.answer(reply(502, text=page, content_type="text/html"))
    with pytest.raises(errors.ServerError) as info:
        await make_client(transport, max_retries=0).post_json(web_server.url(), {})
    exc = info.value
    assert exc.status_code == 502
    assert "HTTP 502 with a body that is not a JSON error" in exc.message
    assert "502 Bad Gateway" in exc.message
    assert len(exc.message) < 400  # a short excerpt, not the whole page
    assert exc.body is not None
    assert len(exc.body) <= 1200


async def test_empty_error_body(web_server: WebServer, transport: AiohttpTransport) -> None:
    web_server.answer(reply(401, text=""))
    with pytest.raises(errors.AuthenticationError) as info:
        await make_client(transport).post_json(web_server.url(), {})
    assert "(empty body)" in info.value.message


async def test_fastapi_detail_list(web_server: WebServer, transport: AiohttpTransport) -> None:
    detail = [{"loc": ["body", "model"], "msg": "field required", "type": "missing"}]
    web_server.answer(reply(422, {"detail": detail}))
    with pytest.raises(errors.BadRequestError) as info:
        await make_client(transport).post_json(web_server.url(), {})
    assert "field required" in info.value.message


async def test_error_message_and_body_are_redacted(
    web_server: WebServer, transport: AiohttpTransport
) -> None:
    key = "sk-test-0123456789abcdef"
    web_server.answer(reply(401, {"error": {"message": f"Incorrect API key provided: {key}"}}))
    client = make_client(transport, secrets=(key,), headers={"authorization": f"Bearer {key}"})
    with pytest.raises(errors.AuthenticationError) as info:
        await client.post_json(web_server.url(), {})
    exc = info.value
    for text in (str(exc), repr(exc), exc.message, exc.body or ""):
        assert key not in text
    assert "[REDACTED]" in exc.message
    # The key did go over the wire, in the header only.
    assert web_server.requests[0].headers["Authorization"] == f"Bearer {key}"


async def test_success_json(web_server: WebServer, transport: AiohttpTransport) -> None:
    web_server.answer(reply(200, {"id": "x", "n": [1, 2]}))
    client = make_client(transport, headers={"x-extra": "1"})
    answer = await client.post_json(web_server.url(), {"q": "hi"}, headers={"x-call": "2"})
    assert answer == {"id": "x", "n": [1, 2]}
    seen = web_server.requests[0]
    assert seen.method == "POST"
    assert seen.json() == {"q": "hi"}
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["Accept"] == "application/json"
    assert seen.headers["x-extra"] == "1"
    assert seen.headers["x-call"] == "2"


async def test_get_json(web_server: WebServer, transport: AiohttpTransport) -> None:
    web_server.answer(reply(200, {"data": []}))
    assert await make_client(transport).get_json(web_server.url("/v1/models")) == {"data": []}
    seen = web_server.requests[0]
    assert (seen.method, seen.path, seen.body) == ("GET", "/v1/models", b"")


async def test_get_json_not_json(web_server: WebServer, transport: AiohttpTransport) -> None:
    web_server.answer(reply(200, text="<html>login</html>", content_type="text/html"))
    with pytest.raises(errors.APIConnectionError) as info:
        await make_client(transport).get_json(web_server.url("/v1/models"))
    assert info.value.status_code == 200
    assert info.value.provider == "testprov"
