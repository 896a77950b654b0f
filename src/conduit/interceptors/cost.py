"""Cost: what each answer cost in US dollars, reported to a function of yours.

Models priced by the catalog already put their cost in `Response.cost`. This
interceptor fills it in where it is missing (the catalog's prices for the model asked
for, `conduit.catalog.response_cost`), or replaces it with your own `pricing(ref,
usage)` (a negotiated rate, a self-hosted model's cost), and passes each answer's
`CostRecord` to `on_cost` (a plain or async function). An answer served by `Cache` cost
nothing: `Response.cost` is 0.0 and the record says `cached=True`.

Example:
    >>> import asyncio
    >>> from conduit.interceptors import with_interceptors
    >>> from conduit.providers.fake import MockModel
    >>> from conduit.schema import Response, Usage
    >>> def per_token(ref, usage):                 # $1 per million tokens, any model
    ...     return usage.total_tokens / 1_000_000
    >>> seen = []
    >>> answer = Response(usage=Usage(input_tokens=600_000, output_tokens=400_000))
    >>> model = with_interceptors(MockModel([answer]), [Cost(per_token, on_cost=seen.append)])
    >>> asyncio.run(model.chat("hi")).cost
    1.0
    >>> seen[0].ref, seen[0].cost_usd
    ('fake/mock', 1.0)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from conduit.interceptors.chain import Context, Interceptor
from conduit.schema import Usage

__all__ = ["Cost", "CostRecord", "Pricing", "default_pricing"]

_logger = logging.getLogger("conduit.interceptors.cost")

Pricing = Callable[[str, Usage], float | None]
"""`pricing(ref, usage) -> dollars`, or None when the model's prices are unknown."""


@dataclass(frozen=True, slots=True)
class CostRecord:
    """One answer's cost, as passed to `on_cost`.

    Example:
        >>> CostRecord("openai/gpt-4o-mini", Usage(input_tokens=10), 0.0001).cached
        False
    """

    ref: str
    usage: Usage
    cost_usd: float | None
    cached: bool = False
    request_id: str = ""


def default_pricing(ref: str, usage: Usage) -> float | None:
    """`conduit.catalog.cost_of(ref, usage)`: None when the catalog has no prices.

    Example:
        >>> default_pricing("nobody/unknown-model", Usage(input_tokens=1)) is None
        True
    """
    from conduit.catalog import cost_of

    return cost_of(ref, usage)


class Cost(Interceptor):
    """Price each answer with `pricing` (default `default_pricing`) and report it to
    `on_cost`.

    Example:
        >>> Cost(lambda ref, usage: 0.0)
        Cost()
    """

    __slots__ = ("on_cost", "pricing")

    def __init__(
        self,
        pricing: Pricing | None = None,
        *,
        on_cost: Callable[[CostRecord], Awaitable[None] | None] | None = None,
    ) -> None:
        self.pricing: Pricing = default_pricing if pricing is None else pricing
        self.on_cost = on_cost

    async def leave(self, ctx: Context) -> None:
        response = ctx.response
        if response is None:
            return
        ref = ctx.ref
        cached = ctx.metadata.get("cache_hit") is True
        if cached:
            cost: float | None = 0.0
        elif self.pricing is default_pricing and response.cost is not None:
            cost = response.cost  # priced by the model from the catalog already
        else:
            cost = self.pricing(ref, response.usage)
        if cost != response.cost:
            ctx.response = response = response.model_copy(update={"cost": cost})
        if cost is None:
            _logger.debug("no prices for %s; cost unknown", ref)
        if self.on_cost is not None:
            record = CostRecord(ref, response.usage, cost, cached, response.id)
            result = self.on_cost(record)
            if result is not None:
                await result
