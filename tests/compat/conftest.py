"""Fixtures for the compat tests: the scripted OpenAI-compatible server (plus routes that
answer with a chosen error status), and settings reset between tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from aiohttp import web

from conduit.compat import config
from conduit.compat.budgeting import process_spend
from tests.support.openai_server import OpenAITestServer, chat_completions

# What each error route answers: status, OpenAI-shaped error body.
ERRORS: dict[str, tuple[int, str, str]] = {
    "400": (400, "invalid_request_error", "Invalid value for 'temperature'."),
    "401": (401, "invalid_request_error", "Incorrect API key provided."),
    "403": (403, "invalid_request_error", "You are not allowed to use this model."),
    "404": (404, "invalid_request_error", "The model `nope` does not exist."),
    "429": (429, "rate_limit_exceeded", "Rate limit reached for requests."),
    "500": (500, "server_error", "The server had an error."),
    "503": (503, "server_error", "The engine is currently overloaded."),
    "context": (
        400,
        "invalid_request_error",
        "This model's maximum context length is 8192 tokens. (context_length_exceeded)",
    ),
    "policy": (
        400,
        "invalid_request_error",
        "Your request was rejected as a result of the safety system.",
    ),
}


class CompatServer(OpenAITestServer):
    """The shared test server plus `/err/<name>/v1/chat/completions` and a counter of hits."""

    def __init__(self) -> None:
        super().__init__()
        self.hits: dict[str, int] = {}
        self.bodies: list[dict[str, object]] = []  # the chat requests, newest last
        self.root = ""

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/err/{name}/v1/chat/completions", self._error)
        from tests.support.openai_server import embeddings

        app.router.add_post("/v1/embeddings", embeddings)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.root = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.root}/v1"

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.hits["ok"] = self.hits.get("ok", 0) + 1
        self.bodies.append(await request.json())
        del self.bodies[:-100]
        return await chat_completions(request)

    async def _error(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.hits[name] = self.hits.get(name, 0) + 1
        status, kind, message = ERRORS[name]
        await asyncio.sleep(0)
        body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
        return web.Response(status=status, text=json.dumps(body), content_type="application/json")

    def error_base(self, name: str) -> str:
        return f"{self.root}/err/{name}/v1"


@pytest.fixture(scope="module")
def server() -> Iterator[CompatServer]:
    srv = CompatServer()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    config.reset()
    process_spend.reset()
    yield
    config.reset()
    process_spend.reset()
