"""RecordUsage: one usage event per call, in the one ledger.

Every call that passes this interceptor becomes one `TokenEvent` (`conduit.storage`):
the model asked for, tokens, cost (`Response.cost`, 0.0 for a cached answer), latency,
HTTP-like status (200, the provider's status for an error, 499 for a call its caller
cancelled or a stream it closed early), and whom it was for (the call's labels:
`key_id`, `user`, `tags`, `conversation_id`, over this interceptor's own defaults). A
stream closed early is recorded with the usage the model had reported, or an estimate of
the tokens delivered (four characters a token), so what was delivered is paid for.

The command line, the framework's `Model` and the gateway put this interceptor around
their models with the default ledger (`conduit.storage.ledger.open_ledger()`), so
`conduit usage` shows what all of them did.

Example:
    >>> import asyncio
    >>> from conduit.interceptors import with_interceptors
    >>> from conduit.providers.fake import MockModel
    >>> from conduit.storage.events_sqlite import SQLiteEventStore
    >>> async def main():
    ...     store = SQLiteEventStore(":memory:")
    ...     model = with_interceptors(MockModel(["hi"]), [RecordUsage(store, tags=["demo"])])
    ...     await model.chat("hello", extra={"labels": {"user": "alice"}})
    ...     [event] = await store.events()
    ...     await store.aclose()
    ...     return event.model, event.user, event.tags, event.status
    >>> asyncio.run(main())
    ('mock', 'alice', ('demo',), 200)
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence
from typing import Any

from conduit.errors import BudgetExceededError
from conduit.interceptors.chain import Context, Interceptor
from conduit.schema import Response, Usage
from conduit.storage.events import EventStore, TokenEvent, event_from_response
from conduit.storage.recorder import UsageRecorder

__all__ = ["CLIENT_CLOSED", "RecordUsage", "status_of"]

_logger = logging.getLogger("conduit.interceptors.usage")

CLIENT_CLOSED = 499
"""The status recorded for a call its caller cancelled, or a stream it closed early
(nginx's "client closed request")."""


def status_of(error: BaseException) -> int:
    """The status a failed call is recorded with: the provider's HTTP status, 499 when
    the caller went away, 429 for a spent budget (OpenAI's `insufficient_quota`), 400 for
    bad input, 500 otherwise.

    Example:
        >>> from conduit.errors import RateLimitError
        >>> status_of(RateLimitError("slow", status_code=429)), status_of(KeyError())
        (429, 500)
    """
    if isinstance(error, asyncio.CancelledError | GeneratorExit | KeyboardInterrupt):
        return CLIENT_CLOSED
    if isinstance(error, BudgetExceededError):
        return 429
    status = getattr(error, "status_code", None)
    if isinstance(status, int) and 100 <= status <= 599:
        return status
    category = getattr(error, "category", None)
    return 400 if category == "fix_input" else 500


class RecordUsage(Interceptor):
    """Record each call in `ledger` (an `EventStore`, or a `UsageRecorder` to share one
    writer); `tag`, `tags`, `user`, `key_id` and `conversation_id` are defaults that a
    call's labels override.

    Example:
        >>> from conduit.storage.events_sqlite import SQLiteEventStore
        >>> RecordUsage(SQLiteEventStore(":memory:"), tag="cli")
        RecordUsage(tag='cli')
    """

    __slots__ = ("defaults", "record_errors", "recorder")

    def __init__(
        self,
        ledger: EventStore | UsageRecorder,
        *,
        tag: str | None = None,
        tags: Sequence[str] = (),
        user: str | None = None,
        key_id: str | None = None,
        conversation_id: str | None = None,
        record_errors: bool = True,
    ) -> None:
        self.recorder = ledger if isinstance(ledger, UsageRecorder) else UsageRecorder(ledger)
        self.defaults: dict[str, Any] = {
            k: v
            for k, v in (
                ("tag", tag),
                ("tags", tuple(tags)),
                ("user", user),
                ("key_id", key_id),
                ("conversation_id", conversation_id),
            )
            if v
        }
        self.record_errors = record_errors

    def enter(self, ctx: Context) -> None:
        ctx.state[self] = time.perf_counter()

    def _labels(self, ctx: Context) -> dict[str, Any]:
        labels = {**self.defaults, **{k: v for k, v in ctx.labels.items() if v is not None}}
        if "tags" in labels:
            labels["tags"] = tuple(labels["tags"])
        return labels

    async def leave(self, ctx: Context) -> None:
        started: float = ctx.state.pop(self, time.perf_counter())
        response = ctx.response
        if response is None:
            return
        if ctx.metadata.get("cache_hit") is True:
            response.cost = 0.0
        info = ctx.model.model_info
        event = event_from_response(
            response,
            provider=info.provider,
            model=info.name,
            status=200,
            duration=response.duration or time.perf_counter() - started,
            **self._labels(ctx),
        )
        await self._write(event)

    async def error(self, ctx: Context) -> None:
        started: float = ctx.state.pop(self, time.perf_counter())
        error = ctx.error
        if error is None or not self.record_errors:
            return
        info = ctx.model.model_info
        status = status_of(error)
        delivered = ctx.delivered
        usage = delivered.usage or Usage(output_tokens=math.ceil(delivered.chars / 4))
        partial = Response(model=info.name, provider=info.provider, usage=usage)
        event = event_from_response(
            partial,
            provider=info.provider,
            model=info.name,
            status=status,
            duration=time.perf_counter() - started,
            **self._labels(ctx),
        )
        if status != CLIENT_CLOSED and not ctx.streaming:
            event = event.model_copy(update={"cost": None, "output_tokens": 0})
        await self._write(event)

    async def _write(self, event: TokenEvent) -> None:
        try:
            # Shielded: a second cancellation while the hook runs must not lose the row.
            await asyncio.shield(self.recorder.record(event))
        except Exception as exc:  # a ledger that is down must not fail the call
            _logger.warning("usage not recorded (%s: %s)", type(exc).__name__, exc)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.defaults.items())
        return f"RecordUsage({shown})"
