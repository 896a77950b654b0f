"""The gateway's books: one usage event per request in the one ledger, and the money
and limits of each request, through the spine's pieces.

Every request answered or refused after authentication is one `TokenEvent` (key, user,
tags, model group, provider, tokens, cost, latency, HTTP status), written by one
`UsageRecorder` (`conduit.storage.recorder`) into the ledger `conduit usage` reads. On
the typed path the `RecordUsage` interceptor writes it; on the forwarding path, for
embeddings and for refusals before a model is called, `Call.event` builds it the same
way (`event_from_response`).

`ServedModel` is a model group as the typed path calls it: the router's model for the
group, whose `model_info` names the provider of the deployment that answered once it
has (so the ledger says `fake` or `anthropic`, not `router`), with the group's name as
the model. Its errors are the gateway's answers (`as_gateway_error`), so the event
`RecordUsage` writes for a failed call has the status the client got (an unreachable
upstream is 502 in the ledger as on the wire, not 500).

`GatewayRecorder` is the `UsageRecorder` every event of a gateway goes through. It
prices the events whose cost nobody could say at the group's prices (a typed stream
closed before its end, when the router had not priced it yet), as the budget charged
them, and it is **durable before the answer ends**: `record()` returns once the event
is committed, in a group commit (the events of every request that ended meanwhile, one
transaction), and the gateway sends a request's last byte after that. So a gateway
killed at any moment has every answer its clients received whole in the ledger. While
the ledger is down the events wait in memory (bounded by `max_backlog`) and are written
when it is back; requests do not wait for it.

`GroupBudget` is what a budget must assume about a group before it knows which
deployment answers: the highest prices of its deployments (and of its fallback groups)
and their longest answer.

Example:
    >>> import asyncio
    >>> from conduit.storage.events import TokenEvent
    >>> from conduit.storage.events_sqlite import SQLiteEventStore
    >>> async def main():
    ...     store = SQLiteEventStore(":memory:")
    ...     recorder = UsageRecorder(store, flush_seconds=0)
    ...     await recorder.record(TokenEvent(provider="gw", model="chat", key_id="key_1",
    ...                                      input_tokens=3, cost=0.5, status=200))
    ...     rows = await key_usage(store, "key_1")
    ...     await store.aclose()
    ...     return [(r.key, r.events, r.cost) for r in rows]
    >>> asyncio.run(main())
    [(('key_1', 'chat'), 1, 0.5)]
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from conduit.core.protocols import ChatModel, ModelInfo
from conduit.errors import ConduitError
from conduit.schema import ChatOptions, Done, Prices, Response, StreamEvent, Usage
from conduit.server.dependencies import DependencyDown, unreachable
from conduit.server.errors import as_gateway_error
from conduit.storage.events import (
    EventFilter,
    EventStore,
    TokenEvent,
    UsageRow,
    event_from_response,
)
from conduit.storage.keys import VirtualKey
from conduit.storage.recorder import UsageRecorder

if TYPE_CHECKING:
    from conduit.routing import Deployment, Router
    from conduit.server.dependencies import Dependency

__all__ = [
    "Call",
    "GATEWAY_PROVIDER",
    "GatewayRecorder",
    "GroupBudget",
    "ServedModel",
    "UsageRecorder",
    "group_budget",
    "key_usage",
]

_log = logging.getLogger("conduit.server.usage")

GATEWAY_PROVIDER = "gateway"
"""The provider recorded for a request no deployment answered (refused, or failed on
every deployment tried)."""


_NO_USAGE = Usage()


@dataclass(slots=True)
class Call:
    """One request's books, filled in as it goes: who (`key`, `user`), what (`route`,
    `model`: the group asked for), who answered (`provider`), `usage`, `cost`,
    `status`; `recorded` once an interceptor wrote its event. What is still to settle
    when the request ends: `hold` (its budget reservation), `routed` (the router's
    tokens estimate), `paid` (whether the upstream answered or delivered something, so
    `cost` is owed) and `broke` (a deployment whose stream broke after it started, with
    its error, for the router's cooldowns); `closed` once its books are (see
    `conduit.server.books`). `id` is the request's: its ledger event's id, and the
    error id a 500 answers with and is logged under.

    Example:
        >>> call = Call(VirtualKey(id="key_1", prefix="p", tags=("ci",)), "/v1/chat/completions")
        >>> call.model, call.status = "chat", 429
        >>> event = call.event()
        >>> event.key_id, event.tags, event.status, event.provider
        ('key_1', ('ci',), 429, 'gateway')
    """

    key: VirtualKey
    route: str
    model: str = ""
    user: str | None = None
    provider: str = GATEWAY_PROVIDER
    usage: Usage = field(default_factory=lambda: _NO_USAGE)  # replaced, never changed
    cost: float | None = None
    status: int = 500
    recorded: bool = False
    started: float = field(default_factory=time.perf_counter)
    hold: Any = None
    routed: Any = None
    paid: bool = False
    broke: tuple[Deployment, BaseException] | None = None
    closed: bool = False
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def labels(self) -> dict[str, Any]:
        """Whom the call is for, as `ChatOptions.extra["labels"]` carries it (and the
        ledger's `key_id`, `user`, `tags`, `tag`).

        Example:
            >>> Call(VirtualKey(id="k", prefix="p", user="ann"), "/v1/embeddings").labels()
            {'key_id': 'k', 'user': 'ann'}
        """
        key = self.key
        out: dict[str, Any] = {}
        if key.id:
            out["key_id"] = key.id
        user = self.user or key.user
        if user:
            out["user"] = user
        if key.tags:
            out["tags"] = key.tags
            out["tag"] = key.tags[0]
        return out

    @property
    def seconds(self) -> float:
        """Seconds since the request came in."""
        return time.perf_counter() - self.started

    def event(self) -> TokenEvent:
        """The call as one ledger event (the one way: `event_from_response`)."""
        answer = Response(usage=self.usage, cost=self.cost)
        return event_from_response(
            answer,
            provider=self.provider,
            model=self.model or "(none)",
            status=self.status,
            duration=self.seconds,
            cost=self.cost,  # as priced here; never a catalog guess for a group's name
            id=self.id,
            **self.labels(),
        )


class ServedModel:
    """A model group as the gateway's typed path calls it (see the module's text);
    made per request, since it remembers who served that request.

    Example:
        >>> import asyncio
        >>> from conduit.routing import Router
        >>> from conduit.schema import user
        >>> served = ServedModel(Router({"chat": ["fake/echo"]}).model("chat"), "chat")
        >>> served.model_info.ref
        'gateway/chat'
        >>> asyncio.run(served.chat([user("hi")])).text
        'hi'
        >>> served.model_info.ref
        'fake/chat'
    """

    def __init__(self, model: ChatModel, group: str) -> None:
        self._model = model
        self.model_info = ModelInfo(
            provider=GATEWAY_PROVIDER, name=group, capabilities=model.model_info.capabilities
        )

    def _served(self, response: Response) -> None:
        route = response.metadata.get("route")
        ref = route.get("model") if isinstance(route, dict) else None
        provider = ref.partition("/")[0] if isinstance(ref, str) else response.provider
        if provider:
            self.model_info = dataclasses.replace(self.model_info, provider=provider)

    async def chat(
        self, messages: Any, options: ChatOptions | None = None, **kwargs: Any
    ) -> Response:
        """The group's answer (and who gave it, in `model_info`)."""
        try:
            response = await self._model.chat(messages, options, **kwargs)
        except ConduitError as exc:
            raise as_gateway_error(exc) from exc
        self._served(response)
        return response

    async def stream(
        self, messages: Any, options: ChatOptions | None = None, **kwargs: Any
    ) -> AsyncIterator[StreamEvent]:
        """The group's stream; at its `Done`, `model_info` names who gave it."""
        events = self._model.stream(messages, options, **kwargs)
        try:
            try:
                async for event in events:
                    if isinstance(event, Done):
                        self._served(event.response)
                    yield event
            except ConduitError as exc:
                raise as_gateway_error(exc) from exc
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()

    def __repr__(self) -> str:
        return f"ServedModel({self.model_info.ref!r})"


class GatewayRecorder(UsageRecorder):
    """A `UsageRecorder` that commits each event before `record()` returns, many at a
    time (see the module's text), and prices an event with tokens and no cost at
    `prices_for(event.model)` (the model group's prices; None: not known).
    `flush_seconds` > 0 waits that long before each commit to gather bigger batches;
    `dependency` tracks whether the ledger answers (one log line per outage).

    Example:
        >>> import asyncio
        >>> from conduit.storage.events_sqlite import SQLiteEventStore
        >>> async def main():
        ...     store = SQLiteEventStore(":memory:")
        ...     recorder = GatewayRecorder(store, 0, lambda group: Prices(input=1e6, output=0))
        ...     await recorder.record(TokenEvent(provider="p", model="g", input_tokens=2))
        ...     [event] = await store.events()  # committed when record() returned
        ...     await recorder.aclose()
        ...     await store.aclose()
        ...     return event.cost
        >>> asyncio.run(main())
        2.0
    """

    def __init__(
        self,
        store: EventStore,
        flush_seconds: float = 0.0,
        prices_for: Callable[[str], Prices | None] | None = None,
        *,
        dependency: Dependency | None = None,
        max_batch: int = 512,
        max_backlog: int = 100_000,
    ) -> None:
        super().__init__(store, flush_seconds, max_batch)
        self.prices_for = prices_for
        self.dependency = dependency
        self.max_backlog = max_backlog
        self.dropped = 0  # events lost to a full backlog during an outage
        self.rejected = 0  # events the ledger refused on their own (bad data), dropped
        self.batches = 0  # commits made
        self._queue: list[tuple[TokenEvent, asyncio.Future[None] | None]] = []
        self._writer: asyncio.Task[None] | None = None
        self._ready: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None

    @property
    def pending(self) -> int:
        """Events not committed yet."""
        return len(self._queue) + len(self._writing)

    def unwritten(self) -> list[TokenEvent]:
        """Events recorded but not committed yet (being written, or queued)."""
        return [*self._writing, *(event for event, _ in self._queue)]

    def _priced(self, event: TokenEvent) -> TokenEvent:
        if event.cost is None and event.total_tokens and self.prices_for is not None:
            prices = self.prices_for(event.model)
            if prices is None:
                return event
            usage = Usage(
                input_tokens=event.input_tokens,
                output_tokens=event.output_tokens,
                cache_read_tokens=min(event.cached_tokens, event.input_tokens),
            )
            cost = prices.cost(usage)
            if cost is not None:
                event = event.model_copy(update={"cost": cost})
        return event

    async def record(self, event: TokenEvent) -> None:
        """Keep one event (priced first when it has tokens and no cost); returns once it
        is committed, or at once while the ledger is down (it is written when it is
        back)."""
        event = self._priced(event)
        if self._closed:
            await self.store.record(event)
            return
        if self._ready is None:
            self._ready, self._lock = asyncio.Event(), asyncio.Lock()
        down = self.dependency is not None and not self.dependency.up
        done: asyncio.Future[None] | None = None
        if not down:
            done = asyncio.get_running_loop().create_future()
        self._queue.append((event, done))
        self._ready.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write_loop())
        if done is not None:
            # Shielded: a request cancelled meanwhile leaves its event to be written.
            await asyncio.shield(done)

    async def _write_loop(self) -> None:
        assert self._ready is not None
        delay = 0.5
        while not self._closed:
            await self._ready.wait()
            self._ready.clear()
            if self.flush_seconds > 0:
                await asyncio.sleep(self.flush_seconds)
            while self._queue:
                if await self._commit():
                    delay = 0.5
                    continue
                # The ledger is down: try again later; requests do not wait meanwhile.
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _commit(self) -> bool:
        """Write one batch; False (the batch kept, its waiters let go) when it failed."""
        assert self._lock is not None
        async with self._lock:
            if not self._queue:
                return True
            batch = self._queue[: self.max_batch]
            del self._queue[: len(batch)]
            events = [event for event, _ in batch]
            self._writing = events
            try:
                await self._store_many(events)
            except Exception as exc:
                # The ledger answered with an error (not an outage): one event's data may
                # be at fault; write them one by one so one bad row cannot stop the rest.
                kept = events if self._outage(exc) else await self._salvage(events)
                if not kept:
                    self.batches += 1
                    return True
                self._queue[:0] = [(event, None) for event in kept]
                overflow = len(self._queue) - self.max_backlog
                if overflow > 0:
                    del self._queue[:overflow]
                    self.dropped += overflow
                if self.dependency is None:
                    _log.warning("writing %d usage events failed (%s)", len(events), exc)
                return False
            finally:
                self._writing = []
                for _, done in batch:
                    if done is not None and not done.done():
                        done.set_result(None)
            self.batches += 1
            return True

    def _outage(self, exc: Exception) -> bool:
        return isinstance(exc, DependencyDown) or (self.dependency is None and unreachable(exc))

    async def _salvage(self, events: list[TokenEvent]) -> list[TokenEvent]:
        """Write `events` one at a time, dropping (and logging) each one the ledger
        refuses; the events left from an outage met on the way are returned."""
        for i, event in enumerate(events):
            try:
                await self._store_many([event])
            except Exception as exc:
                if self._outage(exc):
                    return events[i:]
                self.rejected += 1
                _log.error(
                    "the usage ledger refused an event for model %r (%s: %s); it is dropped",
                    event.model,
                    type(exc).__name__,
                    exc,
                )
        return []

    async def _store_many(self, events: list[TokenEvent]) -> None:
        if self.dependency is None:
            await self.store.record_many(events)
        else:
            await self.dependency.call(self.store.record_many, events)

    async def flush(self) -> None:
        """Commit every queued event now (raises when the ledger cannot be written)."""
        while self._queue:
            if not await self._commit():
                raise ConduitError(f"{len(self._queue)} usage events could not be written")

    async def aclose(self) -> None:
        """Write what is queued (as far as the ledger takes it) and stop."""
        self._closed = True
        writer, self._writer = self._writer, None
        if writer is not None and self._lock is not None:
            # Stopped between two writes (a write is never cut half-way).
            async with self._lock:
                writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        try:
            await self.flush()
        except ConduitError as exc:
            _log.warning("%s; they are lost", exc)


@dataclass(frozen=True, slots=True)
class GroupBudget:
    """What a budget assumes about a model group before a deployment is picked: the
    highest `prices` among its deployments and fallback groups (None: none known), and
    the longest answer one of them gives (`max_output_tokens`; None: not known)."""

    prices: Prices | None
    max_output_tokens: int | None

    def worst_case(self, input_tokens: int, output_tokens: int) -> float:
        """The most a call can cost in USD (0.0 when no price is known).

        Example:
            >>> GroupBudget(Prices(input=1.0, output=2.0), None).worst_case(1000, 500)
            0.002
        """
        if self.prices is None:
            return 0.0
        worst = self.prices.worst_case(input_tokens, output_tokens)
        return 0.0 if worst is None else worst


def _highest(prices: Sequence[Prices]) -> Prices | None:
    if not prices:
        return None

    def most(side: str) -> float | None:
        found = [p for p in (getattr(x, side) for x in prices) if p is not None]
        return max(found) if found else None

    return Prices(
        input=most("input"),
        output=most("output"),
        cached_input=most("cached_input"),
        cache_write=most("cache_write"),
    )


def _max_output(deployment: Deployment) -> int | None:
    from conduit.api import model_info

    if not isinstance(deployment.model, str):
        return deployment.model.model_info.max_output_tokens
    try:
        return model_info(deployment.ref).max_output_tokens
    except ConduitError:
        return None


def group_budget(router: Router, group: str) -> GroupBudget:
    """The `GroupBudget` of `group` in `router` (its deployments, then its fallbacks').

    Example:
        >>> from conduit.routing import Deployment, Router
        >>> router = Router({"g": [Deployment("fake/echo", prices=Prices(input=1.0, output=4.0)),
        ...                        Deployment("fake/echo", prices=Prices(input=3.0, output=2.0))]})
        >>> group_budget(router, "g").prices
        Prices(input=3.0, output=4.0, cached_input=None, cache_write=None)
    """
    groups = [group]
    for name in ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks"):
        groups += getattr(router, name).get(group, ())
    deployments = [d for g in dict.fromkeys(groups) for d in router.deployments(g)]
    prices = [p for p in (d.effective_prices for d in deployments) if p is not None]
    longest = [n for n in map(_max_output, deployments) if n]
    return GroupBudget(_highest(prices), max(longest) if longest else None)


async def key_usage(
    store: EventStore,
    key_id: str | None = None,
    *,
    since: datetime | None = None,
    by: Sequence[str] = ("key", "model"),
) -> list[UsageRow]:
    """Totals per key and model group (one key with `key_id`), computed in the database:
    what `conduit usage --key` prints."""
    return await store.totals(by, EventFilter(since=since, key_id=key_id))
