"""Tracing: an OpenTelemetry span per call, following the GenAI semantic conventions.

The span is named `chat {model}` (kind CLIENT) and carries `gen_ai.operation.name`,
`gen_ai.provider.name`, `gen_ai.request.model` and the request's temperature, top_p and
max_tokens; when the answer comes, `gen_ai.response.id`, `gen_ai.response.model`,
`gen_ai.response.finish_reasons`, `gen_ai.usage.input_tokens` and
`gen_ai.usage.output_tokens` (and cache-read tokens when there are any). An error sets the
span's status to ERROR, records the exception and sets `error.type`. A stream's span lasts
until the stream's end. Conduit's own figures go along as `conduit.attempts`,
`conduit.cache_hit` and `conduit.cost_usd` when interceptors inside this one set them.

The span is recorded when the call ends, with the call's start time (so its attributes
go in at once and it is never "current": spans the transport would make are its
siblings, not its children).

OpenTelemetry is optional (`pip install 'conduit[tracing]'`): without the
`opentelemetry` package `Tracing()` does nothing. With it, spans go to the global tracer
provider unless you pass `tracer=`.

Example:
    >>> import asyncio
    >>> from conduit.interceptors import with_interceptors
    >>> from conduit.providers.fake import MockModel
    >>> model = with_interceptors(MockModel(["Hi"]), [Tracing()])
    >>> asyncio.run(model.chat("Hello")).text    # a span went to the global provider
    'Hi'
"""

from __future__ import annotations

import time
from typing import Any

from conduit.interceptors.chain import Context, Interceptor

__all__ = ["Tracing"]

_OPERATION = "chat"


def _otel() -> Any:
    try:
        from opentelemetry import trace
    except ImportError:
        return None
    return trace


class Tracing(Interceptor):
    """Open an OpenTelemetry span around each call (a no-op without OpenTelemetry).

    Example:
        >>> Tracing().enabled in (True, False)
        True
    """

    __slots__ = ("_trace", "tracer")

    def __init__(self, tracer: Any = None) -> None:
        self._trace = _otel()
        if self._trace is not None and tracer is None:
            tracer = self._trace.get_tracer("conduit.interceptors.tracing")
        self.tracer = tracer

    @property
    def enabled(self) -> bool:
        """Whether spans are made (OpenTelemetry is installed, or a tracer was given)."""
        return self.tracer is not None

    def enter(self, ctx: Context) -> None:
        if self.tracer is None:
            return
        info = ctx.model.model_info
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": _OPERATION,
            "gen_ai.provider.name": info.provider,
            "gen_ai.request.model": info.name,
        }
        options = ctx.options
        if options.temperature is not None:
            attributes["gen_ai.request.temperature"] = options.temperature
        if options.top_p is not None:
            attributes["gen_ai.request.top_p"] = options.top_p
        if options.max_tokens is not None:
            attributes["gen_ai.request.max_tokens"] = options.max_tokens
        if ctx.stream:
            attributes["conduit.stream"] = True
        # The span itself is made when the call ends, with this start time and every
        # attribute at once: one span call instead of one per attribute (each takes the
        # SDK's lock), and nothing to attach to the caller's context, which a stream's
        # events are read in and where attach/detach cannot be paired safely.
        ctx.state[self] = (time.time_ns(), attributes)

    def _span(self, ctx: Context, attributes: dict[str, Any], start: int) -> Any:
        for key in ("attempts", "cache_hit"):
            value = ctx.metadata.get(key)
            if value is not None:
                attributes[f"conduit.{key}"] = value
        if ctx.response is not None and ctx.response.cost is not None:
            attributes["conduit.cost_usd"] = ctx.response.cost
        name = f"{_OPERATION} {attributes['gen_ai.request.model']}"
        if self._trace is None:  # a tracer of your own without the OpenTelemetry API
            return self.tracer.start_span(name, attributes=attributes, start_time=start)
        return self.tracer.start_span(
            name, kind=self._trace.SpanKind.CLIENT, attributes=attributes, start_time=start
        )

    def leave(self, ctx: Context) -> None:
        started = ctx.state.pop(self, None)
        if started is None:
            return
        start, attributes = started
        response = ctx.response
        if response is not None:
            usage = response.usage
            if response.id:
                attributes["gen_ai.response.id"] = response.id
            if response.model:
                attributes["gen_ai.response.model"] = response.model
            if response.stop_reason:
                attributes["gen_ai.response.finish_reasons"] = [response.stop_reason]
            attributes["gen_ai.usage.input_tokens"] = usage.input_tokens
            attributes["gen_ai.usage.output_tokens"] = usage.output_tokens
            if usage.cache_read_tokens:
                attributes["gen_ai.usage.cache_read.input_tokens"] = usage.cache_read_tokens
        self._span(ctx, attributes, start).end()

    def error(self, ctx: Context) -> None:
        started = ctx.state.pop(self, None)
        if started is None:
            return
        start, attributes = started
        error = ctx.error
        if not isinstance(error, Exception):
            # The caller closed the stream or cancelled: not the model's failure.
            attributes["conduit.closed"] = True
            self._span(ctx, attributes, start).end()
            return
        attributes["error.type"] = type(error).__name__
        span = self._span(ctx, attributes, start)
        span.record_exception(error)
        if self._trace is not None:
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, str(error)))
        span.end()

    def __repr__(self) -> str:
        return f"Tracing(enabled={self.enabled})"
