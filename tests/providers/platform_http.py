"""A local HTTP server on 127.0.0.1 for the cloud-platform adapters' real-HTTP tests:
answers each POST with what a handler returns (JSON, or raw bytes with a content type)
and records the path, query, headers and body of every request."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Answer = Callable[["Seen"], "tuple[str, bytes] | Any"]


@dataclass
class Seen:
    """One request as the server received it."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = field(default=None)


def sse(events: list[Any], *, named: bool = False, done: bool = False) -> tuple[str, bytes]:
    """Server-sent events (`event: <type>` lines when `named`, `[DONE]` when `done`)."""
    parts = []
    for event in events:
        data = json.dumps(event)
        parts.append(f"event: {event['type']}\ndata: {data}\n\n" if named else f"data: {data}\n\n")
    if done:
        parts.append("data: [DONE]\n\n")
    return "text/event-stream", "".join(parts).encode()


@asynccontextmanager
async def serve(answer: Answer) -> AsyncIterator[tuple[str, list[Seen]]]:
    """(the server's base URL, the requests it received) while the block runs."""
    seen: list[Seen] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        got = Seen(
            request.raw_path.split("?")[0],
            dict(request.query),
            {k.lower(): v for k, v in request.headers.items()},
            await request.json(),
        )
        seen.append(got)
        result = answer(got)
        if isinstance(result, tuple):
            content_type, payload = result
            response = web.StreamResponse(headers={"content-type": content_type})
            await response.prepare(request)
            for i in range(0, len(payload), 64):  # in pieces, as a real stream arrives
                await response.write(payload[i : i + 64])
            await response.write_eof()
            return response
        return web.json_response(result)

    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    finally:
        await runner.cleanup()
