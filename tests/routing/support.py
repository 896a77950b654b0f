"""Helpers for the routing tests: a settable clock and fake deployments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conduit.core.policy import RetryPolicy
from conduit.providers.fake import MockModel, Reply
from conduit.routing import Deployment
from conduit.schema import Response, TextBlock, Usage

NO_WAIT = RetryPolicy(max_retries=2, initial_delay=0.0, max_delay=0.0, jitter=False)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def answer(text: str, total: int = 10) -> Response:
    return Response(
        content=[TextBlock(text=text)],
        usage=Usage(input_tokens=total - 1, output_tokens=1),
        stop_reason="end_turn",
    )


def mock(name: str, replies: Sequence[Reply] | None = None) -> MockModel:
    """A model named `name` that answers its name forever (or `replies`, the last repeated)."""
    return MockModel(list(replies) if replies else [name], repeat_last=True, name=name)


def dep(name: str, replies: Sequence[Reply] | None = None, **fields: Any) -> Deployment:
    """A deployment with id `name` whose model answers `name`."""
    return Deployment(mock(name, replies), id=name, **fields)
