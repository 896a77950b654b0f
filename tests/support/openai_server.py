"""A small OpenAI-compatible server on 127.0.0.1 for end-to-end tests of docs and examples.

Answers `/v1/chat/completions` (JSON or SSE) and `/v1/embeddings` with payloads shaped
like OpenAI's API reference. It runs on its own event loop in a thread, so synchronous
code under test (`chat_sync`, `asyncio.run`) can call it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

from aiohttp import web

REPLY = "Hello from the test server."


def _completion_message(body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    tools = body.get("tools") or []
    last = (body.get("messages") or [{}])[-1]
    if tools and last.get("role") == "user" and body.get("tool_choice") != "none":
        fn = tools[0]["function"]
        required = fn.get("parameters", {}).get("required", [])
        args = json.dumps(dict.fromkeys(required, "Paris"))
        call = {
            "id": "call_test_1",
            "type": "function",
            "function": {"name": fn["name"], "arguments": args},
        }
        return {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
    fmt = body.get("response_format") or {}
    if fmt.get("type") in ("json_object", "json_schema"):
        return {"role": "assistant", "content": json.dumps({"name": "Ada"})}, "stop"
    return {"role": "assistant", "content": REPLY}, "stop"


def _usage(body: dict[str, Any], text: str) -> dict[str, Any]:
    prompt = sum(len(str(m.get("content") or "")) // 4 + 1 for m in body.get("messages", []))
    completion = len(text) // 4 + 1
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


async def chat_completions(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    if not request.headers.get("Authorization", "").startswith("Bearer "):
        return web.json_response(
            {
                "error": {
                    "message": "missing key",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "invalid_api_key",
                }
            },
            status=401,
        )
    message, finish = _completion_message(body)
    created = int(time.time())
    base = {"id": "chatcmpl-test", "created": created, "model": body["model"]}
    usage = _usage(body, message.get("content") or "")
    if not body.get("stream"):
        return web.json_response(
            {
                **base,
                "object": "chat.completion",
                "system_fingerprint": None,
                "choices": [
                    {
                        "index": 0,
                        "message": {**message, "refusal": None},
                        "logprobs": None,
                        "finish_reason": finish,
                    }
                ],
                "usage": usage,
            }
        )
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)

    async def send(choices: list[dict[str, Any]], **extra: Any) -> None:
        chunk = {**base, "object": "chat.completion.chunk", "choices": choices, **extra}
        await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

    if message.get("tool_calls"):
        call = message["tool_calls"][0]
        await send(
            [
                {
                    "index": 0,
                    "delta": {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": call["id"],
                                "type": "function",
                                "function": {"name": call["function"]["name"], "arguments": ""},
                            }
                        ],
                    },
                    "finish_reason": None,
                }
            ]
        )
        await send(
            [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "function": {"arguments": call["function"]["arguments"]}}
                        ]
                    },
                    "finish_reason": None,
                }
            ]
        )
    else:
        words = message["content"].split(" ")
        for i, word in enumerate(words):
            piece = word if i == 0 else " " + word
            await send([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
    await send([{"index": 0, "delta": {}, "finish_reason": finish}])
    await send([], usage=usage)
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


async def embeddings(request: web.Request) -> web.Response:
    body = await request.json()
    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
    dims = body.get("dimensions") or 8
    data = [
        {
            "object": "embedding",
            "index": i,
            "embedding": [((len(text) + k) % 7) / 7 for k in range(dims)],
        }
        for i, text in enumerate(inputs)
    ]
    tokens = sum(len(t) // 4 + 1 for t in inputs)
    return web.json_response(
        {
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


class OpenAITestServer:
    """Start with `start()`, read `base_url`, stop with `stop()`."""

    def __init__(self) -> None:
        self.base_url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    def start(self) -> OpenAITestServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=60)
        return self

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", chat_completions)
        app.router.add_post("/v1/embeddings", embeddings)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/v1"

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=60)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=60)
        self._loop.close()
