"""Logging: a record per request, answer and error through the standard `logging` module.

Each record carries structured fields as attributes (`extra=`): `phase` ("request",
"response", "error", or "closed" for a stream its reader closed early or a cancelled
call, logged at `level`), `model`, `provider`, `stream`, `request_id`, `input_tokens`,
`output_tokens`, `total_tokens`, `cost_usd`, `duration_s`, `stop_reason`, `attempts`,
`cache_hit`, and for errors `error_type` and `status_code`. structlog's stdlib integration
(`structlog.stdlib.ExtraAdder`) and JSON formatters pick them up as they are; the message
text says the same for people. Put `Logging` outside `Cost` and `Retry` to see their
figures in the answer's record.

Message content is not logged unless `log_content=True` (`messages` on the request
record, `answer` on the response record). Whatever is logged passes the redactor first:
the `secrets` you give and anything shaped like an API key or bearer token come out as
`[REDACTED]`.

Example:
    >>> import asyncio, logging, sys
    >>> from conduit.interceptors import with_interceptors
    >>> from conduit.providers.fake import MockModel
    >>> log = logging.getLogger("example")
    >>> log.addHandler(logging.StreamHandler(sys.stdout)); log.setLevel(logging.INFO)
    >>> log.propagate = False
    >>> model = with_interceptors(MockModel(["Hi!"]), [Logging(log)])
    >>> _ = asyncio.run(model.chat("Hello"))   # doctest: +ELLIPSIS
    chat fake/mock
    chat fake/mock -> end_turn, 2+1 tokens in ... s
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from conduit.interceptors.chain import Context, Interceptor
from conduit.transport.redact import Redactor

__all__ = ["Logging"]


class Logging(Interceptor):
    """Log requests and answers at `level` and errors at `error_level` to `logger`
    (a `logging.Logger` or its name; default `"conduit"`).

    Example:
        >>> Logging("myapp.llm").logger.name
        'myapp.llm'
    """

    __slots__ = ("error_level", "level", "log_content", "logger", "redactor")

    def __init__(
        self,
        logger: logging.Logger | str = "conduit",
        *,
        level: int = logging.INFO,
        error_level: int = logging.WARNING,
        log_content: bool = False,
        secrets: Iterable[str | None] = (),
    ) -> None:
        self.logger = logging.getLogger(logger) if isinstance(logger, str) else logger
        self.level = level
        self.error_level = error_level
        self.log_content = log_content
        self.redactor = Redactor(secrets)

    def _fields(self, ctx: Context, phase: str) -> dict[str, Any]:
        info = ctx.model.model_info
        return {"phase": phase, "model": info.ref, "provider": info.provider, "stream": ctx.stream}

    def _duration(self, ctx: Context) -> float | None:
        started = ctx.state.pop(self, None)
        return None if started is None else time.perf_counter() - started

    def enter(self, ctx: Context) -> None:
        ctx.state[self] = time.perf_counter()
        if not self.logger.isEnabledFor(self.level):
            return
        fields = self._fields(ctx, "request")
        fields["message_count"] = len(ctx.messages)
        if self.log_content:
            fields["messages"] = [
                {"role": m.role, "content": self.redactor.redact(m.text)} for m in ctx.messages
            ]
        verb = "stream" if ctx.stream else "chat"
        self.logger.log(self.level, "%s %s", verb, fields["model"], extra=fields)

    def leave(self, ctx: Context) -> None:
        duration = self._duration(ctx)
        response = ctx.response
        if response is None or not self.logger.isEnabledFor(self.level):
            return
        usage = response.usage
        fields = self._fields(ctx, "response")
        fields.update(
            request_id=response.id or None,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            total_tokens=usage.total_tokens,
            cost_usd=response.cost,
            duration_s=duration,
            stop_reason=response.stop_reason,
            attempts=ctx.metadata.get("attempts"),
            cache_hit=ctx.metadata.get("cache_hit"),
        )
        if self.log_content:
            fields["answer"] = self.redactor.redact(response.text)
        text = (
            f"{'stream' if ctx.stream else 'chat'} {fields['model']} -> {response.stop_reason}, "
            f"{usage.input_tokens}+{usage.output_tokens} tokens in {duration or 0.0:.3f} s"
        )
        if fields["cost_usd"] is not None:
            text += f" (${fields['cost_usd']:.6f})"
        if fields["cache_hit"]:
            text += " (cached)"
        self.logger.log(self.level, "%s", text, extra=fields)

    def error(self, ctx: Context) -> None:
        duration = self._duration(ctx)
        error = ctx.error
        if error is None:
            return
        verb = "stream" if ctx.stream else "chat"
        if not isinstance(error, Exception):
            # Not a failure: the caller closed the stream early or the task was cancelled.
            if self.logger.isEnabledFor(self.level):
                what = "closed by the caller" if isinstance(error, GeneratorExit) else "cancelled"
                fields = self._fields(ctx, "closed")
                fields["duration_s"] = duration
                self.logger.log(
                    self.level,
                    "%s %s %s after %.3f s",
                    verb,
                    fields["model"],
                    what,
                    duration or 0.0,
                    extra=fields,
                )
            return
        if not self.logger.isEnabledFor(self.error_level):
            return
        fields = self._fields(ctx, "error")
        fields.update(
            error_type=type(error).__name__,
            status_code=getattr(error, "status_code", None),
            request_id=getattr(error, "request_id", None),
            duration_s=duration,
            attempts=ctx.metadata.get("attempts"),
        )
        self.logger.log(
            self.error_level,
            "%s %s failed after %.3f s: %s: %s",
            verb,
            fields["model"],
            duration or 0.0,
            fields["error_type"],
            self.redactor.redact(str(error)),
            extra=fields,
        )

    def __repr__(self) -> str:
        return f"Logging({self.logger.name!r})"
