"""Forwarding: a chat request for a deployment that speaks OpenAI's wire format (OpenAI
itself and every OpenAI-compatible server: vLLM, llama.cpp, Groq, …) is sent upstream as
it came, and the upstream's JSON answer goes back as it is (with the model group's name).

Streams are forwarded too: each upstream chunk goes back with the group's name as its
model; usage is always asked of the upstream (for the ledger and the budget) and its
chunk is passed on only when the caller asked for it (`stream_options.include_usage`).

That skips turning the request into Conduit's messages and options and the answer into
a `Response` and back, which is most of the gateway's own cost per request. Everything
else is the spine's, as on the typed path: the core router picks the deployment and
applies its limits, retries, cooldowns and fallbacks (`Router.route`); the key's budget
is reserved and settled in the spend store, its rpm/tpm taken from the bucket store and
the request recorded by the usage recorder (see `conduit.server.app`).

A deployment forwards when its chat model, as the one resolver builds it, is exactly
`conduit.providers.openai.OpenAIChatModel` (subclasses such as Azure's read more than
the body); a group forwards when all its deployments and fallback groups' do.

Example:
    >>> from conduit.routing import Deployment
    >>> speaks_openai(Deployment("fake/echo"))
    False
    >>> speaks_openai(Deployment("openai/gpt-4o-mini", connection={"api_key": "sk-x"}))
    True
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from conduit import _json
from conduit.errors import APIConnectionError, ConduitError
from conduit.server.errors import error_for
from conduit.server.openai_wire import usage_of
from conduit.server.stream import DONE, CoalescingWriter, Relayed, encode_event

if TYPE_CHECKING:
    from conduit.providers.openai import OpenAIChatModel
    from conduit.routing import Deployment
    from conduit.transport import SSEEvent

__all__ = [
    "ForwardedStream",
    "open_stream",
    "openai_model",
    "relay_forwarded",
    "speaks_openai",
]


def openai_model(deployment: Deployment) -> OpenAIChatModel:
    """The deployment's chat model, built by the one resolver, when it speaks OpenAI's
    wire format exactly; otherwise `TypeError`."""
    from conduit.providers.openai import OpenAIChatModel

    model = deployment.chat_model
    if type(model) is not OpenAIChatModel:
        raise TypeError(f"{deployment.ref} does not speak OpenAI's wire format")
    return model


def speaks_openai(deployment: Deployment) -> bool:
    """Whether `deployment` forwards (its model builds, and is an `OpenAIChatModel`)."""
    try:
        openai_model(deployment)
    except (TypeError, ConduitError):
        return False
    return True


class ForwardedStream:
    """An upstream SSE stream whose first event has arrived (so a failed start is a failed
    try for the router, as on the typed path)."""

    def __init__(self, events: AsyncIterator[SSEEvent], first: SSEEvent | None) -> None:
        self.events = events
        self.first = first

    async def __aiter__(self) -> AsyncIterator[str]:
        if self.first is None:
            return
        yield self.first.data
        async for event in self.events:
            yield event.data

    async def aclose(self) -> None:
        """Close the upstream response."""
        aclose = getattr(self.events, "aclose", None)
        if aclose is not None:
            await aclose()


async def open_stream(model: OpenAIChatModel, payload: Mapping[str, Any]) -> ForwardedStream:
    """Start forwarding `payload` as a stream; waits for the first event."""
    events = model.stream_payload(payload)
    try:
        first: SSEEvent | None = await anext(aiter(events))
    except StopAsyncIteration:
        first = None
    except BaseException:
        await ForwardedStream(events, None).aclose()
        raise
    return ForwardedStream(events, first)


def _delta_chars(choices: Any) -> int:
    chars = 0
    for choice in choices:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict):
            continue
        content = delta.get("content")
        if isinstance(content, str):
            chars += len(content)
        for call in delta.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                chars += len(function["arguments"])
    return chars


async def relay_forwarded(
    request: web.Request,
    stream: ForwardedStream,
    *,
    model: str,
    wants_usage: bool,
    relayed: Relayed,
    before_done: Callable[[], Awaitable[None]] | None = None,
) -> web.StreamResponse:
    """Send a forwarded stream's chunks to the caller as SSE, each with `model` as its
    model; the usage chunk is kept in `relayed` (and sent on when `wants_usage`), as are
    the characters delivered and the status to record. Once the upstream's stream has
    ended, `relayed.status` says how, and `before_done()` runs (the request's books are
    closed there) before the last event, `data: [DONE]`, goes out."""
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    writer = CoalescingWriter(response)
    loads = _json.loads
    status = 200
    try:
        try:
            async for data in stream:
                try:
                    chunk = loads(data)
                except _json.JSONDecodeError:
                    chunk = None
                if not isinstance(chunk, dict):
                    raise APIConnectionError(
                        f"malformed stream chunk from upstream: {data[:200]!r}"
                    )
                usage = chunk.get("usage")
                choices = chunk.get("choices")
                if usage:
                    relayed.usage = usage_of(usage)
                    if not wants_usage and not choices:
                        continue  # asked for the ledger only
                if choices:
                    relayed.chars += _delta_chars(choices)
                chunk["model"] = model
                await writer.send(encode_event(chunk))
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception as exc:
            relayed.error = exc
            status, body = error_for(exc)
            await writer.send(encode_event(body))
        finally:
            await stream.aclose()
        relayed.status = status  # the answer is whole (a client may still hang up)
        if before_done is not None:
            await before_done()
        await writer.send(DONE)
        await writer.close()
    except BaseException:
        writer.cancel()
        raise
    await response.write_eof()
    return response
