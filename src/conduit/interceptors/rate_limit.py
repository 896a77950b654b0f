"""RateLimit: token buckets for requests per minute and tokens per minute.

Before each call one request and the call's estimated tokens are taken from their
buckets; when either is short, the call waits its turn (first come, first served within a
process) or, with `wait=False`, fails at once with `RateLimitError` whose `retry_after`
says when it would have fit. After the answer the estimate is settled against the real
`usage.total_tokens`: unused tokens go back, extra ones are taken (into debt if need be).
A failed call keeps what it took: the provider may have counted it.

The estimate is the messages' characters / 4 plus `max_tokens` when set (pass
`estimate=` for a better one). Buckets refill continuously; `burst` is how much may be
taken at once (default: one second's worth), so the limits hold over short windows too,
not only per minute. Buckets are kept per `key` (default: the model's `provider/name`).
The store decides who shares a limit: `MemoryBuckets` (this process, the default),
`SQLiteBuckets` (every process on the machine using one file), `PostgresBuckets` or
`RedisBuckets` (every machine using one server); each take is atomic in its store.
Every number is checked (`conduit.core.checks`): a bool, NaN, infinity, zero or a
negative rate is refused with a `ValidationError` naming the argument.

Example:
    >>> import asyncio
    >>> from conduit.errors import RateLimitError
    >>> from conduit.interceptors import with_interceptors
    >>> from conduit.providers.fake import MockModel
    >>> limited = with_interceptors(
    ...     MockModel(["ok"], repeat_last=True),
    ...     [RateLimit(requests_per_minute=60, burst=2, wait=False)])
    >>> async def three():
    ...     for _ in range(3):
    ...         await limited.chat("hi")
    >>> try:
    ...     asyncio.run(three())
    ... except RateLimitError as exc:
    ...     print(f"third call refused; retry after {exc.retry_after:.1f} s")
    third call refused; retry after 1.0 s
"""

from __future__ import annotations

import asyncio
import builtins
import math
import weakref
from collections.abc import Callable

from conduit.core.checks import check_rate
from conduit.errors import RateLimitError, TimeoutError, ValidationError
from conduit.interceptors.chain import Context, Interceptor
from conduit.schema import ChatOptions, Message
from conduit.storage.buckets import Bucket, BucketStore, MemoryBuckets, check_amount

__all__ = ["RateLimit", "estimate_tokens"]


def estimate_tokens(messages: list[Message], options: ChatOptions) -> int:
    """A cheap upper-ish guess of a call's tokens: characters / 4, plus `max_tokens`.

    Example:
        >>> from conduit.schema import user
        >>> estimate_tokens([user("12345678")], ChatOptions(max_tokens=10))
        12
    """
    chars = sum(len(m.text) for m in messages)
    return math.ceil(chars / 4) + (options.max_tokens or 0)


class RateLimit(Interceptor):
    """Hold calls to `requests_per_minute` and `tokens_per_minute` (either or both).

    Example:
        >>> RateLimit(requests_per_minute=600).buckets("openai/gpt-4o-mini")[0]
        Bucket(key='openai/gpt-4o-mini:requests', rate=10.0, capacity=10.0)
    """

    __slots__ = (
        "_buckets",
        "_queues",
        "burst",
        "estimate",
        "key",
        "requests_per_minute",
        "store",
        "token_burst",
        "tokens_per_minute",
        "wait",
    )

    def __init__(
        self,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        *,
        burst: float | None = None,
        token_burst: float | None = None,
        wait: bool = True,
        store: BucketStore | None = None,
        key: str | None = None,
        estimate: Callable[[list[Message], ChatOptions], int] = estimate_tokens,
    ) -> None:
        if requests_per_minute is None and tokens_per_minute is None:
            raise ValidationError("RateLimit needs requests_per_minute= or tokens_per_minute=")

        def rate(value: float | None, name: str) -> float | None:
            if value is not None:
                check_rate(value, name)
            return value  # as given (60 stays 60 in the repr)

        self.requests_per_minute = rate(requests_per_minute, "requests_per_minute")
        self.tokens_per_minute = rate(tokens_per_minute, "tokens_per_minute")
        self.burst = rate(burst, "burst")
        self.token_burst = rate(token_burst, "token_burst")
        if not isinstance(wait, bool):
            raise ValidationError(f"wait must be True or False, not {wait!r}")
        self.wait = wait
        if store is not None and not all(hasattr(store, n) for n in ("take", "give")):
            raise ValidationError(f"store must be a BucketStore, not {type(store).__name__}")
        self.store: BucketStore = MemoryBuckets() if store is None else store
        if key is not None and (not isinstance(key, str) or not key):
            raise ValidationError(f"key must be a non-empty string, not {key!r}")
        self.key = key
        if not callable(estimate):
            raise ValidationError(f"estimate must be a function, not {estimate!r}")
        self.estimate = estimate
        self._buckets: dict[str, tuple[Bucket | None, Bucket | None]] = {}
        # One queue (lock) per bucket key and event loop: waiters are served in order and
        # only the head of the queue polls the store.
        self._queues: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, asyncio.Lock]
        ] = weakref.WeakKeyDictionary()

    def buckets(self, ref: str) -> tuple[Bucket | None, Bucket | None]:
        """The request and token buckets for calls to model `ref` (None: no such limit)."""
        found = self._buckets.get(ref)
        if found is None:
            found = self._buckets[ref] = self._make_buckets(ref)
        return found

    def _make_buckets(self, ref: str) -> tuple[Bucket | None, Bucket | None]:
        key = self.key or ref
        requests = tokens = None
        if self.requests_per_minute is not None:
            rate = self.requests_per_minute / 60.0
            capacity = self.burst if self.burst is not None else max(rate, 1.0)
            requests = Bucket(f"{key}:requests", rate=rate, capacity=capacity)
        if self.tokens_per_minute is not None:
            rate = self.tokens_per_minute / 60.0
            capacity = self.token_burst if self.token_burst is not None else max(rate, 1.0)
            tokens = Bucket(f"{key}:tokens", rate=rate, capacity=capacity)
        return requests, tokens

    def _queue(self, key: str) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        queues = self._queues.get(loop)
        if queues is None:
            queues = self._queues[loop] = {}
        lock = queues.get(key)
        if lock is None:
            lock = queues[key] = asyncio.Lock()
        return lock

    async def enter(self, ctx: Context) -> None:
        requests, tokens = self.buckets(ctx.ref)
        takes: list[tuple[Bucket, float]] = []
        amount = 0
        if requests is not None:
            takes.append((requests, 1))
        if tokens is not None:
            amount = self.estimate(ctx.messages, ctx.options)
            if type(amount) is not int or amount < 0:  # the default's answer: fast path
                check_amount(amount, "estimate()")
            takes.append((tokens, amount))
        if not self.wait:
            wait = await self.store.take(takes)
            if wait > 0.0:
                raise RateLimitError(
                    f"{ctx.ref}: local rate limit reached; retry in {wait:.2f} s",
                    provider=ctx.model.model_info.provider,
                    retry_after=wait,
                )
        else:
            queue = self._queue(takes[0][0].key)
            # Join the queue when others wait already (first come, first served).
            if queue.locked() or await self.store.take(takes) > 0.0:
                await self._wait_turn(ctx, queue, takes)
        ctx.state[self] = (requests, tokens, amount)

    async def _wait_turn(
        self, ctx: Context, queue: asyncio.Lock, takes: list[tuple[Bucket, float]]
    ) -> None:
        try:
            async with asyncio.timeout_at(ctx.deadline), queue:
                # Polling the store is the point: with Redis, other processes take too.
                while (wait := await self.store.take(takes)) > 0.0:  # noqa: ASYNC110
                    await asyncio.sleep(wait)
        except builtins.TimeoutError:
            if ctx.deadline is None:  # pragma: no cover - not ours
                raise
            raise TimeoutError(
                f"{ctx.ref}: the rate limit's wait ran past the deadline",
                provider=ctx.model.model_info.provider,
            ) from None

    async def leave(self, ctx: Context) -> None:
        taken: tuple[Bucket | None, Bucket | None, int] | None = ctx.state.pop(self, None)
        if taken is None:
            return
        requests, tokens, amount = taken
        response = ctx.response
        if ctx.metadata.get("cache_hit") is True:
            # Answered from a cache further in: nothing went upstream; give it all back.
            if requests is not None:
                await self.store.give(requests, 1)
            if tokens is not None:
                await self.store.give(tokens, amount)
            return
        if tokens is not None and response is not None:
            difference = amount - response.usage.total_tokens
            if difference:
                await self.store.give(tokens, difference)

    def error(self, ctx: Context) -> None:
        ctx.state.pop(self, None)

    def __repr__(self) -> str:
        return (
            f"RateLimit(requests_per_minute={self.requests_per_minute}, "
            f"tokens_per_minute={self.tokens_per_minute})"
        )
