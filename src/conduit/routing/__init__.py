"""Routing: model groups over deployments (`Router`) and models tried in turn
(`FallbackModel`), each a `ChatModel` in the core that every face uses.

A `Router` spreads a group's calls over its deployments by a strategy, holds each to its
requests and tokens per minute, retries on another deployment, cools failing ones down
and falls back to other groups; `router.model(group)` is the group as a `ChatModel`,
`router.route(group, attempt)` runs any call through the same machinery. `FallbackModel`
is the small version: try these models in order.

Example:
    >>> from conduit.routing import Deployment, Router
    >>> router = Router({"chat": [Deployment("fake/echo", id="a", rpm=600),
    ...                           Deployment("fake/echo", id="b", rpm=600)]},
    ...                 strategy="round-robin")
    >>> model = router.model("chat")
    >>> [model.chat_sync("hi").metadata["route"]["deployment"] for _ in range(3)]
    ['a', 'b', 'a']
"""

from conduit.routing.calls import NO_TAGGED_DEPLOYMENT
from conduit.routing.deployment import Deployment
from conduit.routing.failures import is_callers_failure, is_hard_failure, should_fall_back
from conduit.routing.fallback import FallbackModel
from conduit.routing.models import RoutedEmbedder, RoutedModel
from conduit.routing.router import Attempt, Routed, Router
from conduit.routing.strategies import STRATEGIES

__all__ = [
    "Attempt",
    "Deployment",
    "FallbackModel",
    "NO_TAGGED_DEPLOYMENT",
    "Routed",
    "RoutedEmbedder",
    "RoutedModel",
    "Router",
    "STRATEGIES",
    "is_callers_failure",
    "is_hard_failure",
    "should_fall_back",
]
