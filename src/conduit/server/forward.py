"""Forwarding: a JSON chat request for a deployment that speaks OpenAI's wire format (OpenAI
itself and every OpenAI-compatible server: vLLM, llama.cpp, Groq, …) is sent upstream as it
came, and the upstream's JSON answer goes back as it is (with the model group's name).

Streams are forwarded too: each upstream chunk goes back with the group's name as its
model; usage is always asked of the upstream (for the ledger) and its chunk is passed on
only when the caller asked for it (`stream_options.include_usage`).

That skips turning the request into Conduit's messages and options and the answer into a
`Response` and back, which is most of the gateway's own cost per request. The router still
picks the deployment and applies limits, retries, cooldowns and fallbacks
(`Router.aroute`). Other deployments (Anthropic, Gemini, the local model, …) and gateways
whose compat settings carry callbacks or budgets take the typed path.

Example:
    >>> from conduit.compat.router import Deployment
    >>> deployment = Deployment("g", {"model": "fake/echo"}, id="d1")
    >>> Forwarder().model_for(deployment, {}) is None
    True
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from conduit import _json
from conduit.errors import APIConnectionError
from conduit.server.errors import error_for
from conduit.server.stream import DONE, CoalescingWriter, encode_event

if TYPE_CHECKING:
    from conduit.compat.router import Deployment
    from conduit.providers.openai import OpenAIChatModel
    from conduit.transport import SSEEvent

__all__ = ["ForwardedStream", "Forwarder", "forwarding_allowed", "open_stream", "relay_forwarded"]


def forwarding_allowed() -> bool:
    """False while `conduit.compat` settings carry callbacks or budgets: those run on the
    typed path only.

    Example:
        >>> forwarding_allowed()
        True
    """
    from conduit.compat import config

    settings = config.snapshot()
    return not (
        settings.has_callbacks or settings.max_budget is not None or settings.budgets is not None
    )


class Forwarder:
    """Finds, per deployment, the OpenAI-wire model to forward to (None: not forwardable)."""

    def __init__(self) -> None:
        self._models: dict[str, OpenAIChatModel | None] = {}

    def model_for(self, deployment: Deployment, call: Mapping[str, Any]) -> OpenAIChatModel | None:
        """The deployment's model when it speaks OpenAI's wire format exactly."""
        if deployment.id in self._models:
            return self._models[deployment.id]
        from conduit.compat.chat import chat_model_for
        from conduit.providers.openai import OpenAIChatModel

        found: OpenAIChatModel | None = None
        if "mock_response" not in call:
            model = chat_model_for(deployment.model, call)
            # Subclasses (Azure) read more than the body; they take the typed path.
            if type(model) is OpenAIChatModel:
                found = model
        self._models[deployment.id] = found
        return found


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


async def relay_forwarded(
    request: web.Request,
    stream: ForwardedStream,
    *,
    model: str,
    wants_usage: bool,
    on_usage: Callable[[Mapping[str, Any]], None],
) -> tuple[web.StreamResponse, int]:
    """Send a forwarded stream's chunks to the caller as SSE, each with `model` as its
    model; the usage chunk goes to `on_usage` (and to the caller when `wants_usage`).
    Returns the response and the status to record."""
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    writer = CoalescingWriter(response)
    status = 200
    loads = _json.loads
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
                if usage:
                    on_usage(usage)
                    if not wants_usage and not chunk.get("choices"):
                        continue  # asked for the ledger only
                chunk["model"] = model
                await writer.send(encode_event(chunk))
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception as exc:
            status, body = error_for(exc)
            await writer.send(encode_event(body))
        finally:
            await stream.aclose()
        await writer.send(DONE)
        await writer.close()
    except BaseException:
        writer.cancel()
        raise
    await response.write_eof()
    return response, status
