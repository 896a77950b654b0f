"""Errors through the Ollama adapter: Ollama's `{"error": "..."}` bodies become typed
errors, with a hint where Ollama needs one (pull the model, start the server)."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from conduit.errors import (
    APIConnectionError,
    BadRequestError,
    ContextWindowExceededError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TimeoutError,
)
from conduit.providers.ollama import OllamaChatModel, OllamaEmbedder
from conduit.transport import HTTPRequest, HTTPResponse, json_response
from tests.providers.ollama.conftest import chat_model, embedder, load_fixture, reply


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def _stream_all(model: OllamaChatModel) -> None:
    async for _ in model.stream("Hi"):
        pass


# ----------------------------------------------------------------- model not found


async def test_404_model_not_found_says_to_pull_it() -> None:
    model, _ = chat_model(reply("error_model_not_found", status=404))
    with pytest.raises(NotFoundError) as caught:
        await model.chat("Hi")
    error = caught.value
    assert error.status_code == 404
    assert error.provider == "ollama"
    assert 'model "llama3.2" not found, try pulling it first' in error.message
    assert "`ollama pull llama3.2`" in str(error)
    assert error.body is not None
    assert "not found" in error.body


async def test_404_while_streaming_says_to_pull_it() -> None:
    model, _ = chat_model(reply("error_model_not_found", status=404), name="qwen3:8b")
    with pytest.raises(NotFoundError, match=r"`ollama pull qwen3:8b`"):
        await _stream_all(model)


async def test_404_from_the_embedder_says_to_pull_it() -> None:
    model, _ = embedder(reply({"error": 'model "nomic-embed-text" not found'}, status=404))
    with pytest.raises(NotFoundError, match=r"`ollama pull all-minilm`"):
        await model.embed(["a"])


async def test_404_page_not_found_keeps_the_base_url_hint() -> None:
    """A wrong base URL (e.g. one ending in /v1) answers a plain-text 404."""
    model, _ = chat_model(lambda r: HTTPResponse(404, {}, b"404 page not found"))
    with pytest.raises(NotFoundError) as caught:
        await model.chat("Hi")
    assert "404 page not found" in str(caught.value)
    assert "Check the model name and base URL" in str(caught.value)


# ------------------------------------------------------------------- other statuses


@pytest.mark.parametrize(
    ("status", "body", "error_type", "text"),
    [
        (400, "error_bad_request", BadRequestError, "does not support tools"),
        (400, {"error": "invalid character '}' looking for beginning of value"}, BadRequestError,
         "invalid character"),
        (429, {"error": "too many requests"}, RateLimitError, "too many requests"),
        (500, "error_server", ServerError, "the model failed to generate a response"),
        (502, {"error": "cloud model unreachable"}, ServerError, "cloud model unreachable"),
    ],
)  # fmt: skip
async def test_error_bodies_map_by_status(
    status: int, body: Any, error_type: type[Exception], text: str
) -> None:
    model, _ = chat_model(reply(body, status=status))
    with pytest.raises(error_type, match=text) as caught:
        await model.chat("Hi")
    assert getattr(caught.value, "status_code", None) == status
    assert getattr(caught.value, "provider", None) == "ollama"


async def test_context_overflow_is_recognised() -> None:
    body = {"error": "the input length exceeds the context length"}
    model, _ = embedder(reply(body, status=400))
    with pytest.raises(ContextWindowExceededError):
        await model.embed(["a very long text"])


async def test_non_json_error_body() -> None:
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    model, _ = chat_model(lambda r: HTTPResponse(502, {"content-type": "text/html"}, html))
    with pytest.raises(ServerError, match="not a JSON error") as caught:
        await model.chat("Hi")
    assert "502 Bad Gateway" in str(caught.value)


async def test_a_500_is_retried_then_succeeds(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_sleep(_: float) -> None:
        return None

    monkeypatch.setattr("conduit.transport.client.asyncio.sleep", no_sleep)
    answers = [json_response(load_fixture("error_server"), status=500)]

    def handler(request: HTTPRequest) -> HTTPResponse:
        return answers.pop() if answers else json_response(load_fixture("chat_text"))

    model, transport = chat_model(handler, max_retries=1)
    assert (await model.chat("Hi")).text == "Hello! How are you today?"
    assert len(transport.requests) == 2


async def test_error_bodies_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-secret-key-456")
    body = {"error": "proxy refused token ollama-secret-key-456"}
    model, _ = chat_model(reply(body, status=400))
    with pytest.raises(BadRequestError) as caught:
        await model.chat("Hi")
    assert "ollama-secret-key-456" not in str(caught.value)
    assert "ollama-secret-key-456" not in (caught.value.body or "")


# ---------------------------------------------------------------- cannot connect


async def test_connection_refused_says_ollama_is_not_running() -> None:
    port = _closed_port()
    model = OllamaChatModel("llama3.2", base_url=f"127.0.0.1:{port}", max_retries=0)
    try:
        with pytest.raises(APIConnectionError) as caught:
            await model.chat("Hi")
        with pytest.raises(APIConnectionError, match="could not connect to Ollama"):
            await _stream_all(model)
    finally:
        await model.aclose()
    error = caught.value
    assert not isinstance(error, TimeoutError)
    assert f"could not connect to Ollama at http://127.0.0.1:{port}" in error.message
    assert "ollama serve" in error.message
    assert "OLLAMA_HOST" in error.message
    assert error.provider == "ollama"
    assert error.status_code is None
    assert error.__cause__ is None


async def test_connection_refused_from_the_embedder() -> None:
    port = _closed_port()
    model = OllamaEmbedder("all-minilm", base_url=f"http://127.0.0.1:{port}", max_retries=0)
    try:
        with pytest.raises(APIConnectionError, match="is it running"):
            await model.embed("Hi")
    finally:
        await model.aclose()


async def test_a_timeout_is_not_reported_as_ollama_not_running() -> None:
    def handler(request: HTTPRequest) -> HTTPResponse:
        raise TimeoutError("timed out waiting for POST http://127.0.0.1:11434/api/chat")

    model, _ = chat_model(handler)
    with pytest.raises(TimeoutError) as caught:
        await model.chat("Hi")
    assert "is it running" not in str(caught.value)
    assert caught.value.provider == "ollama"


async def test_a_connection_error_is_retried_before_giving_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def no_sleep(_: float) -> None:
        return None

    monkeypatch.setattr("conduit.transport.client.asyncio.sleep", no_sleep)

    def handler(request: HTTPRequest) -> HTTPResponse:
        raise APIConnectionError("could not reach POST http://127.0.0.1:11434/api/chat: reset")

    model, transport = chat_model(handler, max_retries=2)
    with pytest.raises(APIConnectionError, match="could not connect to Ollama"):
        await model.chat("Hi")
    assert len(transport.requests) == 3
