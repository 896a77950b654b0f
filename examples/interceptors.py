"""Interceptors, offline: retry, cache, cost, timeout and logging around a flaky model,
plus one written here in a few lines. The wrapped model is still a `ChatModel`.

    python examples/interceptors.py
"""

from __future__ import annotations

import asyncio
import logging
import sys

from conduit import FunctionModel, Message, Usage, chat
from conduit.errors import ServerError, TimeoutError
from conduit.interceptors import (
    Cache,
    Context,
    Cost,
    Logging,
    Retry,
    Timeout,
    with_interceptors,
)
from conduit.schema import ChatOptions


class Flaky:
    """A stand-in model that fails every other call with a 503, as busy servers do."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, messages: list[Message], options: ChatOptions) -> str:
        self.calls += 1
        if self.calls % 2 == 1:
            raise ServerError("overloaded, try again", status_code=503, provider="fake")
        return f"answer to {messages[-1].text!r}"


class Stamp:
    """A home-made interceptor: tag every answer with the number of messages sent."""

    def leave(self, ctx: Context) -> None:
        ctx.metadata["messages_sent"] = len(ctx.messages)


def price(ref: str, usage: Usage) -> float:
    """Your own prices (the catalog's are used by default): $2 per million tokens."""
    return usage.total_tokens * 2e-6


async def main() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("  log %(phase)s: %(message)s"))
    logger = logging.getLogger("example.llm")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    flaky = Flaky()
    spent: list[float] = []
    model = with_interceptors(
        FunctionModel(flaky, name="flaky"),
        [
            Logging(logger),  # outermost: sees the final figures
            Stamp(),
            Cost(price, on_cost=lambda record: spent.append(record.cost_usd or 0.0)),
            Cache(),  # a hit skips the retries below
            Retry(max_retries=2, initial_delay=0.01),
            Timeout(total=5),  # per attempt
        ],
    )

    # 1. The first attempt fails with a 503; Retry tries again.
    first = await chat(model, "What is a conduit?")
    print("first:", first.text, "|", first.metadata)

    # 2. The same question again: a cache hit, the model is not called.
    again = await chat(model, "What is a conduit?")
    print("again:", again.text, "| cache hit:", again.metadata["cache_hit"])
    print(f"model calls: {flaky.calls} | spent: ${sum(spent):.6f}")

    # 3. A model that is too slow: Timeout turns it into a typed, retryable error.
    async def slow(messages: list[Message], options: ChatOptions) -> str:
        await asyncio.sleep(1)
        return "too late"

    limited = with_interceptors(FunctionModel(slow), [Timeout(total=0.05)])
    try:
        await chat(limited, "hurry")
    except TimeoutError as exc:
        print("timeout:", type(exc).__name__)


if __name__ == "__main__":
    asyncio.run(main())
