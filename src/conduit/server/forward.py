"""Forwarding: a chat request for a deployment that speaks OpenAI's wire format (OpenAI
itself and every OpenAI-compatible server: vLLM, llama.cpp, Groq, …) is sent upstream as
it came, and the upstream's JSON answer goes back as it is (with the model group's name).

Streams are forwarded too: the upstream's events go back as bytes, whole events as
each network read delivered them, with the group's name as their model; usage is
always asked of the upstream (for the ledger and the budget) and its chunk is passed on
only when the caller asked for it (`stream_options.include_usage`). Neither path
decodes and re-encodes the answer: the model is renamed in the bytes and only the
usage object is parsed (`conduit.server.passthrough`).

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
from conduit.schema import Usage
from conduit.server.errors import error_for
from conduit.server.openai_wire import usage_of
from conduit.server.passthrough import delivered_chars, renamed, take_usage, usage_in
from conduit.server.stream import DONE, Relayed, encode_event

if TYPE_CHECKING:
    from conduit.providers.openai import OpenAIChatModel
    from conduit.routing import Deployment

__all__ = [
    "ForwardedStream",
    "open_stream",
    "openai_model",
    "relay_forwarded",
    "send_json",
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
    """An upstream SSE stream whose first events have arrived (so a failed start is a
    failed try for the router, as on the typed path), as bytes: whole events at a time
    (`HTTPClient.stream_sse_frames`)."""

    def __init__(self, frames: AsyncIterator[bytes], first: bytes | None) -> None:
        self.frames = frames
        self.first = first

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.first is None:
            return
        yield self.first
        async for frames in self.frames:
            yield frames

    async def aclose(self) -> None:
        """Close the upstream response."""
        aclose = getattr(self.frames, "aclose", None)
        if aclose is not None:
            await aclose()


async def open_stream(model: OpenAIChatModel, payload: Mapping[str, Any]) -> ForwardedStream:
    """Start forwarding `payload` as a stream; waits for the first events."""
    frames = model.stream_payload_frames(payload)
    try:
        first: bytes | None = await anext(aiter(frames))
    except StopAsyncIteration:
        first = None
    except BaseException:
        await ForwardedStream(frames, None).aclose()
        raise
    return ForwardedStream(frames, first)


async def send_json(model: OpenAIChatModel, payload: Mapping[str, Any]) -> tuple[bytes, Usage]:
    """Forward `payload` for a JSON answer: the answer's bytes as they came, and its
    usage (an answer that is not a JSON object is a connection error: a try that
    failed, for the router)."""
    raw = await model.send_payload_bytes(payload)
    if raw.lstrip()[:1] != b"{":
        raise APIConnectionError(
            f"the answer was not a JSON object: {raw[:200]!r}", provider=model.model_info.provider
        )
    try:
        usage = usage_of(usage_in(raw)) or Usage()
    except _json.JSONDecodeError:
        raise APIConnectionError(
            f"the answer was not valid JSON: {raw[:200]!r}", provider=model.model_info.provider
        ) from None
    return raw, usage


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
    # Frames come as the upstream's reads delivered them (already coalesced), so each is
    # one write; `write` waits only while the client is slower than the upstream.
    write = response.write
    status = 200
    try:
        frames = stream.first
        upstream = aiter(stream.frames)
        while frames is not None:
            frames = renamed(frames, model)
            frames, usage = take_usage(frames, wants_usage)
            if usage is not None:
                relayed.usage = usage_of(usage)
            if frames:
                relayed.chars += delivered_chars(frames)
                await write(frames)
            frames = await anext(upstream, None)
    except (ConnectionError, asyncio.CancelledError):
        raise
    except Exception as exc:
        relayed.error = exc
        status, body = error_for(exc)
        await write(encode_event(body))
    finally:
        await stream.aclose()
    relayed.status = status  # the answer is whole (a client may still hang up)
    if before_done is not None:
        await before_done()
    await write(DONE)
    await response.write_eof()
    return response
