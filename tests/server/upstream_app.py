"""A fake OpenAI-compatible upstream, run in its own process by the gateway's live tests
and benchmarks (`python -m tests.server.upstream_app`): it prints its base URL on its
first line of output and serves until it is stopped.

What it answers depends on the deployment's model name (the gateway sends the one in
its config):

- `words-N` (any other name: `words-8`): a reply of N words ("w0 w1 ..."), as JSON or
  as a stream of one chunk per word, then the finish chunk and, when asked
  (`stream_options.include_usage`), the usage chunk; usage is 1 token per 4 characters
  of the messages (at least 1 a message) and 1 token per word of the reply;
- `slow-N`: the same, 50 ms between words;
- `status-502`: a 502 whose error message names an internal URL (as a real proxy's
  upstream would);
- `hang`: never answers.

`GET /calls` says how many chat and embeddings requests came (`POST /calls` resets).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from aiohttp import web

INTERNAL_URL = "http://10.9.8.7:8000/internal/v1/chat/completions"
_calls = {"chat": 0, "embed": 0}


def _words(model: str) -> int:
    _, _, count = model.rpartition("-")
    return int(count) if count.isdigit() else 8


def _usage(body: dict[str, Any], words: int) -> dict[str, int]:
    prompt = sum(
        max(1, len(str(m.get("content") or "")) // 4)
        for m in body.get("messages") or []
        if isinstance(m, dict)
    )
    return {"prompt_tokens": prompt, "completion_tokens": words, "total_tokens": prompt + words}


async def chat(request: web.Request) -> web.StreamResponse:
    _calls["chat"] += 1
    body = await request.json()
    model = str(body.get("model") or "")
    if model == "status-502":
        error = {"message": f"upstream connect error at {INTERNAL_URL}", "type": "server_error"}
        return web.json_response({"error": error}, status=502)
    if model == "hang":
        await asyncio.sleep(3600)
    words = _words(model)
    delay = 0.05 if model.startswith("slow") else 0.0
    text = [f"w{i}" if i == 0 else f" w{i}" for i in range(words)]
    usage = _usage(body, words)
    base = {"id": "chatcmpl-up", "created": 0, "model": model}
    if not body.get("stream"):
        message = {"role": "assistant", "content": "".join(text), "refusal": None}
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
        return web.json_response(
            {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
        )
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)

    async def send(choices: list[dict[str, Any]], **extra: Any) -> None:
        chunk = {**base, "object": "chat.completion.chunk", "choices": choices, **extra}
        await response.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")

    for piece in text:
        await send([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
        if delay:
            await asyncio.sleep(delay)
    await send([{"index": 0, "delta": {}, "finish_reason": "stop"}])
    options = body.get("stream_options") or {}
    if options.get("include_usage"):
        await send([], usage=usage)
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


async def embeddings(request: web.Request) -> web.Response:
    _calls["embed"] += 1
    body = await request.json()
    texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
    data = [
        {"object": "embedding", "index": i, "embedding": [0.5, 0.25, 0.125]}
        for i, _ in enumerate(texts)
    ]
    tokens = sum(max(1, len(t) // 4) for t in texts)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return web.json_response(
        {"object": "list", "data": data, "model": body["model"], "usage": usage}
    )


async def calls(request: web.Request) -> web.Response:
    if request.method == "POST":
        _calls.update(chat=0, embed=0)
    return web.json_response(_calls)


async def main() -> None:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/v1/embeddings", embeddings)
    app.router.add_route("*", "/calls", calls)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    print(f"http://127.0.0.1:{runner.addresses[0][1]}/v1", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
