"""Interceptors: enter/leave/error hooks around every call, and the built-in ones.

`with_interceptors(model, [...])` returns a `ChatModel`; `chat()` and `stream()` both
pass the chain, outermost interceptor first. Built-ins: `Retry` (or a `RetryPolicy`),
`Logging`, `Cache`, `Cost`, `RecordUsage`, `Budget`, `RateLimit`, `Timeout` (the one `Timeout`
value, which becomes a `TimeLimit`), `Tracing`. A sensible order, outermost first:
`[Tracing(), Logging(), RecordUsage(ledger), Cache(), Retry(), RateLimit(...), Timeout(30)]`
(a cache hit then skips retries and limits; each attempt is rate-limited and timed on
its own).

Example:
    >>> import asyncio
    >>> from conduit.interceptors import Cache, Retry, with_interceptors
    >>> from conduit.providers.fake import MockModel
    >>> model = with_interceptors(MockModel(["Hi"]), [Cache(), Retry()])
    >>> asyncio.run(model.chat("Hello")).metadata
    {'cache_hit': False, 'attempts': 1}
"""

from conduit.interceptors.budget import Budget
from conduit.interceptors.cache import Cache, cache_key
from conduit.interceptors.chain import (
    LABELS,
    Context,
    Delivered,
    Hook,
    InterceptedModel,
    Interceptor,
    with_interceptors,
)
from conduit.interceptors.cost import Cost, CostRecord, Pricing, default_pricing
from conduit.interceptors.log import Logging
from conduit.interceptors.rate_limit import RateLimit, estimate_tokens
from conduit.interceptors.retry import Retry, is_retryable
from conduit.interceptors.timeout import TimeLimit, Timeout
from conduit.interceptors.tracing import Tracing
from conduit.interceptors.usage import RecordUsage

__all__ = [
    "Budget",
    "Cache",
    "Context",
    "Cost",
    "CostRecord",
    "Delivered",
    "Hook",
    "InterceptedModel",
    "Interceptor",
    "LABELS",
    "Logging",
    "Pricing",
    "RateLimit",
    "RecordUsage",
    "Retry",
    "TimeLimit",
    "Timeout",
    "Tracing",
    "cache_key",
    "default_pricing",
    "estimate_tokens",
    "is_retryable",
    "with_interceptors",
]
