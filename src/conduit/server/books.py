"""Each request's books, the same on every route and path: its budget reserved before
the upstream call and settled after, the router's and the key's token estimates settled
to the real usage, and one event in the ledger, written before the answer's last byte.

`Books.reserve` holds the call's worst case under the key's budget (its input, plus its
longest possible answer at the highest prices of the group's deployments and
fallbacks); `Books.finish` closes the books once: it settles the budget at the cost
owed (what was delivered is paid for, a call that failed before anything was delivered
costs nothing), corrects the token estimates, records the request (unless the typed
path's `RecordUsage` did) and counts it in the metrics. It runs in a task of its own, so
a client that hangs up (which cancels the request's handler) cannot leave a budget held
or a request unrecorded; the routes call it before they send the answer's last byte, so
the ledger row is committed first.

Example:
    >>> _Hold(None, None, False).done
    True
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from conduit.interceptors.budget import DEFAULT_OUTPUT_TOKENS
from conduit.server.keys import spend_limits
from conduit.server.usage import GroupBudget, group_budget

if TYPE_CHECKING:
    from conduit.routing import Router
    from conduit.schema import Prices
    from conduit.server.keys import Admission
    from conduit.server.metrics import Metrics
    from conduit.server.usage import Call, GatewayRecorder
    from conduit.storage.spend import Reservation, SpendStore

__all__ = ["Books"]

_log = logging.getLogger("conduit.server")


class _Hold:
    """A budget reservation of one request on the paths without the `Budget`
    interceptor: `settle(cost)` once (a cost that is not known settles at the reserved
    amount when the call was priced, else 0), or `release()` when nothing is owed."""

    __slots__ = ("done", "priced", "reservation", "store")

    def __init__(self, store: Any, reservation: Reservation | None, priced: bool) -> None:
        self.store: SpendStore = store
        self.reservation = reservation
        self.priced = priced
        self.done = reservation is None

    async def settle(self, cost: float | None) -> None:
        if self.done:
            return
        self.done = True
        reservation = self.reservation
        assert reservation is not None
        if cost is None or not math.isfinite(cost) or cost < 0:
            cost = reservation.amount if self.priced else 0.0
        try:
            await self.store.settle(reservation, cost)
        except Exception as exc:  # the answer matters more; the hold expires as spent
            _log.warning("budget not settled (%s: %s)", type(exc).__name__, exc)

    async def release(self) -> None:
        await self.settle(0.0)


class Books:
    """The books of a gateway's requests (see the module's text), over its spend store,
    router, usage recorder and metrics; `default_max_tokens` is the longest answer
    assumed when a request does not say (None: the group's models', else 4,096).

    Example:
        >>> Books.__name__
        'Books'
    """

    def __init__(
        self,
        spend: SpendStore,
        router: Router,
        recorder: GatewayRecorder,
        metrics: Metrics,
        default_max_tokens: int | None = None,
    ) -> None:
        self.spend = spend
        self.router = router
        self.recorder = recorder
        self.metrics = metrics
        self.default_max_tokens = default_max_tokens
        self._budgets: dict[str, GroupBudget] = {}
        self.pending: set[asyncio.Future[None]] = set()  # books being closed

    def budget(self, group: str) -> GroupBudget:
        """What a budget assumes about `group` (cached)."""
        found = self._budgets.get(group)
        if found is None:
            found = self._budgets[group] = group_budget(self.router, group)
        return found

    def prices(self, group: str) -> Prices | None:
        """The highest prices of `group` (None: unknown, or no such group)."""
        return self.budget(group).prices if group in self.router.groups else None

    def longest_answer(self, group: str, max_tokens: int | None) -> int:
        """The most output tokens a call to `group` may cost: its `max_tokens`, else the
        gateway's `default_max_tokens`, else the longest answer of the group's models,
        else `DEFAULT_OUTPUT_TOKENS`."""
        return (
            max_tokens
            or self.default_max_tokens
            or self.budget(group).max_output_tokens
            or DEFAULT_OUTPUT_TOKENS
        )

    async def reserve(self, call: Call, input_tokens: int, output_tokens: int) -> None:
        """Reserve the call's worst case under the key's budget in `call.hold`
        (`BudgetExceededError`, 429, when it does not fit; nothing without a budget)."""
        limits = spend_limits(call.key)
        if not limits:
            return
        budget = self.budget(call.model)
        amount = budget.worst_case(input_tokens, output_tokens)
        # A client that hangs up while the reservation is made must not leave it held:
        # it is made in a task of its own and released if the request is gone.
        reserving = asyncio.ensure_future(self.spend.reserve(limits, amount))
        try:
            reservation = await asyncio.shield(reserving)
        except asyncio.CancelledError:
            self.later(self._release_when_made(reserving))
            raise
        call.hold = _Hold(self.spend, reservation, budget.prices is not None)

    async def _release_when_made(self, reserving: asyncio.Future[Reservation]) -> None:
        try:
            reservation = await reserving
        except Exception:
            return  # refused or failed: nothing is held
        await _Hold(self.spend, reservation, False).release()

    def later(self, work: Coroutine[Any, Any, None]) -> asyncio.Future[None]:
        """Run `work` in a task the gateway waits for when it stops."""
        task = asyncio.ensure_future(work)
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)
        return task

    async def finish(self, call: Call, admission: Admission | None) -> None:
        """Close the request's books once (later calls do nothing), in a task of its own;
        waits for it unless the caller is cancelled."""
        if call.closed:
            return
        call.closed = True
        await asyncio.shield(self.later(self._close(call, admission)))

    async def _close(self, call: Call, admission: Admission | None) -> None:
        try:
            usage = call.usage
            hold: _Hold | None = call.hold
            steps: list[tuple[str, Callable[[], Awaitable[None]]]] = []
            if hold is not None:
                owed = call.cost if call.paid else 0.0
                steps.append(("budget", lambda: hold.settle(owed)))
            if call.routed is not None and call.paid:
                steps.append(("router tokens", lambda: call.routed.settle(usage.total_tokens)))
            if call.broke is not None:
                broke = call.broke
                steps.append(("router cooldown", lambda: self.router.failed(*broke)))
            if admission is not None:
                # The worst case taken becomes what was used (nothing, for a request
                # refused or failed before anything came back).
                steps.append(("rate limit", lambda: admission.settle(usage.total_tokens)))
            if not call.recorded:
                event = call.event()
                steps.append(("usage", lambda: self.recorder.record(event)))
            for what, step in steps:
                try:
                    await step()
                except Exception as exc:
                    _log.warning("%s not settled (%s: %s)", what, type(exc).__name__, exc)
            self.metrics.observe(
                call.route,
                call.model,
                call.status,
                call.seconds,
                tokens=(usage.input_tokens, usage.output_tokens),
                cost=call.cost if call.paid or call.status < 400 else None,
            )
        finally:
            self.metrics.in_flight -= 1

    async def drain(self) -> None:
        """Wait for the books being closed."""
        if self.pending:
            await asyncio.gather(*self.pending, return_exceptions=True)
