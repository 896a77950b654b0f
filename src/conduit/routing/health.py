"""What a router learns from each try: failures that cool a deployment down (`failed`),
and the tokens a call really used, settled against its rpm/tpm buckets and the
`usage-based` counts (`_settle`, `_give_back`). `_Health` is that part of `Router`.

Example:
    >>> import asyncio
    >>> from conduit.errors import ServerError
    >>> from conduit.routing import Router
    >>> router = Router({"g": ["fake/echo", "fake/echo"]}, allowed_fails=0)
    >>> first = router.deployments("g")[0]
    >>> asyncio.run(router.failed(first, ServerError("boom")))
    >>> asyncio.run(router.state.cooling([first.id]))
    [True]
"""

from __future__ import annotations

from conduit.routing.calls import _Group
from conduit.routing.deployment import Deployment
from conduit.routing.failures import is_callers_failure, is_hard_failure
from conduit.storage.buckets import Bucket, BucketStore
from conduit.storage.router_state import RouterState

__all__: list[str] = []

_FAIL_WINDOW = 60.0  # seconds: `allowed_fails` counts failures within a minute
_USAGE_WINDOW = 60.0  # seconds: `usage-based` compares tokens used within a minute


class _Health:
    """Failure counts, cooldowns and token settling of `Router` (its state is the
    router's own)."""

    strategy: str
    state: RouterState
    buckets: BucketStore
    cooldown_seconds: float
    allowed_fails: int
    _group_of: dict[str, _Group]
    _limits: dict[str, list[tuple[Bucket, bool]]]

    async def failed(self, deployment: Deployment, error: BaseException) -> None:
        """Count a failure of `deployment`: cool it down after a hard
        failure, or after more than `allowed_fails` failures in a minute (never the only
        deployment of its group, and never for the request's own fault). The router
        calls this for every failed try; call it for a failure it did not see (a stream
        that broke after its first event reached you).

        Example:
            >>> import asyncio
            >>> from conduit.errors import AuthenticationError
            >>> from conduit.routing import Router
            >>> router = Router({"g": ["fake/echo", "fake/echo"]})
            >>> first = router.deployments("g")[0]
            >>> asyncio.run(router.failed(first, AuthenticationError("bad key")))
            >>> asyncio.run(router.state.cooling([first.id]))
            [True]
        """
        if not self.cooldown_seconds:
            return
        dep_id = deployment.id or ""
        group = self._group_of.get(dep_id)
        if group is None or len(group.deployments) < 2:
            return  # never cool down the only deployment of a group
        if is_hard_failure(error):
            retry_after = getattr(error, "retry_after", None) or 0.0
            await self.state.cool(dep_id, max(self.cooldown_seconds, retry_after))
            return
        if is_callers_failure(error):
            return
        fails = await self.state.incr(f"fails:{dep_id}", 1, _FAIL_WINDOW)
        if fails > self.allowed_fails:
            await self.state.cool(dep_id, self.cooldown_seconds)

    async def _settle(self, dep: Deployment, estimate: int, tokens: int) -> None:
        if tokens == estimate:
            return
        limits = self._limits.get(dep.id)  # type: ignore[arg-type]
        if limits is not None:
            for bucket, is_tokens in limits:
                if is_tokens:
                    await self.buckets.give(bucket, estimate - tokens)
        if self.strategy == "usage-based":
            await self.state.incr(f"tokens:{dep.id}", tokens - estimate, _USAGE_WINDOW)

    async def _give_back(self, dep: Deployment, estimate: int) -> None:
        limits = self._limits.get(dep.id)  # type: ignore[arg-type]
        if limits is not None:
            for bucket, is_tokens in limits:
                await self.buckets.give(bucket, estimate if is_tokens else 1)
        if self.strategy == "usage-based" and estimate:
            await self.state.incr(f"tokens:{dep.id}", -estimate, _USAGE_WINDOW)
