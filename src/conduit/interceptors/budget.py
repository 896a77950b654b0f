"""Budget: spending limits in US dollars, reserved before each call and settled after it.

Before a call, `Budget` works out the most it can cost — its input (characters / 4 of
the messages and tool-call arguments) and its longest possible answer (the call's
`max_tokens`, else this interceptor's `max_output_tokens`, else the model's
`model_info.max_output_tokens`, else `DEFAULT_OUTPUT_TOKENS`) at the model's prices — and
reserves that much under every limit that applies, atomically, in a `SpendStore`
(`conduit.storage.spend`). When a limit cannot take it, the call fails with
`BudgetExceededError` and nothing is sent. After the answer the reservation is settled
at the answer's real cost (its `Response.cost`, which models the catalog prices set;
else the prices the reservation used; else `conduit.catalog.response_cost`; 0.0 for a
cache hit), so unused headroom goes back at once. A call that fails is released and costs nothing —
except a stream whose events already reached the caller: what was delivered is paid
for (the usage the model reported, or four characters a token of what was delivered,
plus the input).

Because concurrent calls see each other's reservations, no number of callers — tasks,
threads, processes on one SQLite file, machines on one PostgreSQL or Redis — can spend
past a limit, whichever face they came through.

Limits that apply to a call are the `limits` given here plus those `limits_for(labels)`
returns for the call's labels (`extra={"labels": {"key_id": ..., "user": ..., "tags":
[...]}}`, see `conduit.interceptors.Context.labels`).

Prices are the `prices` given here, else the model's (`model_info.prices`, from the
catalog). When neither is known the worst case cannot be computed: the call reserves
$0, so it still fails once a limit is already spent, but a budget cannot stop it from
passing the limit by its own cost.

Example:
    >>> import asyncio
    >>> from conduit.errors import BudgetExceededError
    >>> from conduit.interceptors import with_interceptors
    >>> from conduit.providers.fake import MockModel
    >>> from conduit.schema import Prices
    >>> from conduit.storage.spend import MemorySpendStore, SpendLimit
    >>> store = MemorySpendStore()
    >>> cap = SpendLimit("global", "*", max_usd=0.002)
    >>> model = with_interceptors(
    ...     MockModel(["ok"], repeat_last=True),
    ...     [Budget(store, [cap], prices=Prices(input=1.0, output=2.0), max_output_tokens=500)])
    >>> async def main():
    ...     await model.chat("hi")                  # reserves $0.001001, costs $0.000003
    ...     await model.chat("hi")
    ...     try:
    ...         await model.chat("x" * 4000)        # needs $0.002 of room: refused
    ...     except BudgetExceededError as exc:
    ...         print("refused:", exc.scope, exc.name)
    ...     return await store.spent(cap)
    >>> round(asyncio.run(main()), 6)
    refused: global *
    6e-06
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from conduit.core.checks import check_count
from conduit.errors import ValidationError
from conduit.interceptors.chain import Context, Interceptor
from conduit.schema import Message, Prices, Usage
from conduit.storage.spend import Reservation, SpendLimit, SpendStore, check_limits

__all__ = [
    "Budget",
    "DEFAULT_OUTPUT_TOKENS",
    "LimitsFor",
    "input_tokens",
]

_logger = logging.getLogger("conduit.interceptors.budget")

DEFAULT_OUTPUT_TOKENS = 4096
"""The longest answer assumed when neither the call, the `Budget` nor the model says."""

LimitsFor = Callable[[Mapping[str, Any]], Iterable[SpendLimit]]
"""`limits_for(labels) -> limits`: the limits a call's labels bring (its key, user,
tags)."""


def input_tokens(messages: list[Message]) -> int:
    """A cheap estimate of a call's input tokens: characters / 4 of the messages' text
    and of their tool calls' arguments.

    Example:
        >>> from conduit.schema import user
        >>> input_tokens([user("12345678"), user("1")])
        3
    """
    chars = 0
    for message in messages:
        content = message.content
        chars += len(content) if isinstance(content, str) else len(message.text)
        if message.tool_calls:
            chars += sum(len(call.function.raw_arguments) for call in message.tool_calls)
    return math.ceil(chars / 4)


@dataclass(slots=True)
class _Held:
    reservation: Reservation
    prices: Prices | None
    input_tokens: int


class Budget(Interceptor):
    """Reserve each call's worst-case cost under `limits` (and `limits_for(labels)`) in
    `store`, settle its real cost after (see the module's text).

    Example:
        >>> from conduit.storage.spend import MemorySpendStore, SpendLimit
        >>> Budget(MemorySpendStore(), [SpendLimit("user", "alice", 5.0, window=86_400)])
        Budget(MemorySpendStore(0 limits), 1 limits)
    """

    __slots__ = ("limits", "limits_for", "max_output_tokens", "prices", "store")

    def __init__(
        self,
        store: SpendStore,
        limits: Iterable[SpendLimit] = (),
        *,
        limits_for: LimitsFor | None = None,
        max_output_tokens: int | None = None,
        prices: Prices | None = None,
    ) -> None:
        if not all(callable(getattr(store, n, None)) for n in ("reserve", "settle", "release")):
            raise ValidationError(f"store must be a SpendStore, not {type(store).__name__}")
        if limits_for is not None and not callable(limits_for):
            raise ValidationError(f"limits_for must be a function, not {limits_for!r}")
        if (
            max_output_tokens is not None
            and check_count(max_output_tokens, "max_output_tokens") < 1
        ):
            raise ValidationError(
                f"max_output_tokens must be at least 1, not {max_output_tokens!r}"
            )
        if prices is not None and not isinstance(prices, Prices):
            raise ValidationError(f"prices must be a conduit.schema.Prices, not {prices!r}")
        self.store = store
        self.limits = check_limits(limits)
        self.limits_for = limits_for
        self.max_output_tokens = max_output_tokens
        self.prices = prices

    def worst_case(self, ctx: Context, tokens_in: int) -> tuple[float, Prices | None]:
        """The most this call can cost (0.0 when its prices are unknown), and the prices."""
        info = ctx.model.model_info
        prices = self.prices or info.prices
        if prices is None:
            return 0.0, None
        tokens_out = (
            ctx.options.max_tokens
            or self.max_output_tokens
            or info.max_output_tokens
            or DEFAULT_OUTPUT_TOKENS
        )
        price_in, price_out = prices.input, prices.output
        if price_in is not None and price_out is not None:  # Prices.worst_case, inlined
            return (tokens_in * price_in + tokens_out * price_out) / 1_000_000, prices
        worst = prices.worst_case(tokens_in, tokens_out)
        return (0.0 if worst is None else worst), prices

    async def enter(self, ctx: Context) -> None:
        limits = self.limits
        if self.limits_for is not None:
            more = self.limits_for(ctx.labels)
            if more:
                limits = limits + check_limits(more)
        if not limits:
            return
        tokens_in = input_tokens(ctx.messages)
        amount, prices = self.worst_case(ctx, tokens_in)
        reservation = await self.store.reserve(limits, amount)
        ctx.state[self] = _Held(reservation, prices, tokens_in)

    async def leave(self, ctx: Context) -> None:
        held: _Held | None = ctx.state.pop(self, None)
        if held is None:
            return
        response = ctx.response
        cost: float | None
        if response is None or ctx.metadata.get("cache_hit") is True:
            cost = 0.0  # answered from a cache further in: nothing went upstream
        else:
            # The answer's own cost (models the catalog prices set it), else the prices
            # the reservation used, else the catalog's price for the model asked for.
            cost = response.cost
            if cost is None and held.prices is not None:
                cost = held.prices.cost(response.usage)
            if cost is None:
                from conduit.catalog import response_cost  # loaded on first need

                cost = response_cost(response, ctx.ref)
        await self._settle(held, cost)

    async def error(self, ctx: Context) -> None:
        held: _Held | None = ctx.state.pop(self, None)
        if held is None:
            return
        if not ctx.streaming:
            # Nothing reached the caller: the call is refunded (retries reserve again).
            await self._settle(held, 0.0)
            return
        # Closed early, cancelled or broken after events reached the caller: what was
        # delivered is paid for. A usage the model reported may be from the start of the
        # stream (input only), so the delivered characters bound the output from below.
        delivered = ctx.delivered
        reported = delivered.usage
        output = math.ceil(delivered.chars / 4)
        if reported is None:
            usage = Usage(input_tokens=held.input_tokens, output_tokens=output)
        else:
            usage = Usage(
                input_tokens=reported.input_tokens or held.input_tokens,
                output_tokens=max(reported.output_tokens, output),
                cache_read_tokens=reported.cache_read_tokens,
                cache_creation_tokens=reported.cache_creation_tokens,
            )
        cost = None if held.prices is None else held.prices.cost(usage)
        await self._settle(held, cost)

    async def _settle(self, held: _Held, cost: float | None) -> None:
        reservation = held.reservation
        if cost is None or not math.isfinite(cost) or cost < 0:
            # Priced when reserved but not now (a usage the prices cannot price): the
            # reserved amount stands, the safe side.
            cost = reservation.amount if held.prices is not None else 0.0
        try:
            # Shielded: a caller cancelled again while the hook runs must not leave the
            # hold unsettled (the settle finishes in its own task).
            await asyncio.shield(self.store.settle(reservation, cost))
        except Exception as exc:  # the call's own outcome matters more; the hold expires
            _logger.warning(
                "budget not settled (%s: %s); the hold will count at its reserved amount",
                type(exc).__name__,
                exc,
            )

    def __repr__(self) -> str:
        shown = f"{self.store!r}, {len(self.limits)} limits"
        if self.limits_for is not None:
            shown += ", limits_for=..."
        return f"Budget({shown})"
