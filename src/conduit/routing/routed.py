"""`Routed`: what a router call returns (the attempt's value, the deployment that
answered, its group and the tries made), and `Attempt`, one try of a call.

Example:
    >>> import asyncio
    >>> from conduit.routing import Router
    >>> router = Router({"g": ["fake/echo"]})
    >>> routed = asyncio.run(router.route("g", lambda d: d.chat_model.chat("hi")))
    >>> routed.group, routed.tries, routed.fell_back
    ('g', 1, False)
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from conduit.core.checks import check_count
from conduit.core.sync import run_sync
from conduit.routing.deployment import Deployment
from conduit.routing.slots import Slots

if TYPE_CHECKING:
    from conduit.routing.router import Router

__all__ = ["Attempt", "Routed"]

T = TypeVar("T")

Attempt = Callable[[Deployment], Awaitable[T]]
"""`attempt(deployment) -> awaitable`: one try of a call on one deployment (`route`)."""


@dataclass(slots=True, eq=False)
class Routed(Generic[T]):
    """What `Router.route` returns: the attempt's `value` and where it came from.

    - `deployment`: the deployment that answered (its `id`, `ref`, `cost(usage)`).
    - `group`: the group it belongs to; `requested`: the group asked for (they differ
      when a fallback answered: `fell_back`).
    - `tries`: tries made, failed ones and fallbacks included.

    When the value is a `Response` the router settles it itself (tpm buckets, cost,
    `metadata["route"]`). Otherwise call `settle(tokens)` with the call's real total
    tokens once known (for a stream, at its end): the estimate taken from the
    deployment's tpm bucket is corrected by the difference. Unsettled, the estimate
    stands.

    Example:
        >>> import asyncio
        >>> from conduit.routing import Router
        >>> router = Router({"g": ["fake/echo"]})
        >>> async def main():
        ...     routed = await router.route("g", lambda d: d.chat_model.chat("hi"))
        ...     return routed.deployment.id, routed.value.text, routed.fell_back
        >>> asyncio.run(main())
        ('g/fake/echo', 'hi', False)
    """

    value: T
    deployment: Deployment
    group: str
    requested: str
    tries: int
    _router: Router = field(repr=False)
    _estimate: int = field(default=0, repr=False)
    _settled: bool = field(default=False, repr=False)
    _held: bool = field(default=False, repr=False)
    _slots: Slots | None = field(default=None, repr=False)

    @property
    def fell_back(self) -> bool:
        """Whether a fallback group answered (`group != requested`)."""
        return self.group != self.requested

    async def settle(self, tokens: int) -> None:
        """Correct the deployment's tpm bucket (and `usage-based` count) from the
        estimate to the real total `tokens`; only the first call counts."""
        check_count(tokens, "tokens")
        if self._settled:
            return
        self._settled = True
        await self._router._settle(self.deployment, self._estimate, tokens)

    def settle_sync(self, tokens: int) -> None:
        """`settle` for synchronous code."""
        run_sync(self.settle(tokens))

    def _release(self) -> None:
        """Stop counting the call as in flight (`router.model()` streams hold it until
        they end); only the first call counts."""
        if self._held:
            self._held = False
            self._router._done(self.deployment.id or "", self._slots)


def _rank(deployment: Deployment) -> float:
    """Lower orders first; deployments without an order after all that have one."""
    return math.inf if deployment.order is None else deployment.order
