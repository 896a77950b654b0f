"""`AsyncConduit.run`: many inputs through the batch runner, at most the semaphore's count
at once, answers in input order with a `ConduitError` in place of each failure."""

from __future__ import annotations

import asyncio

from conduit import AsyncConduit, ConduitError, ModelAsync, Prompt, Response
from conduit.errors import RateLimitError
from conduit.providers.fake import FunctionModel
from conduit.schema import ChatOptions, Message

HANG_GUARD = 60.0  # seconds: only a broken run waits this long


def test_a_hundred_inputs_eight_at_a_time_in_order_with_failures_in_place() -> None:
    in_flight = 0
    most = 0
    full: asyncio.Event | None = None

    async def reply(messages: list[Message], options: ChatOptions) -> str:
        nonlocal in_flight, most, full
        if full is None:
            full = asyncio.Event()  # made on the loop the calls run on
        in_flight += 1
        most = max(most, in_flight)
        if in_flight == 8:
            full.set()
        try:
            # The first eight wait until all eight are in: proof that the gate lets
            # eight through at once. Later calls find the event set and go on.
            await asyncio.wait_for(full.wait(), HANG_GUARD)
            number = int(messages[-1].text.split()[-1])
            if number % 10 == 3:
                raise RateLimitError(f"slow down ({number})", status_code=429)
            return f"answer {number}"
        finally:
            in_flight -= 1

    model = ModelAsync(model=FunctionModel(reply), ledger=False)
    conduit = AsyncConduit(model=model, prompt=Prompt("question {{ n }}"))
    results = conduit.run(
        input_variables_list=[{"n": n} for n in range(100)],
        semaphore=asyncio.Semaphore(8),
        cache=False,
        verbose=False,
    )

    assert len(results) == 100
    assert most == 8  # eight at once, never more
    for n, result in enumerate(results):
        if n % 10 == 3:
            assert isinstance(result, ConduitError), n
            assert isinstance(result, RateLimitError)
            assert result.info.code == "rate_limit"
            assert result.info.message == f"slow down ({n})"
            assert result.detail.request_params is not None
            assert result.detail.request_params["messages"][-1]["content"] == f"question {n}"
        else:
            assert isinstance(result, Response), n
            assert result.content == f"answer {n}"
            assert result.prompt == f"question {n}"
    assert sum(isinstance(r, ConduitError) for r in results) == 10


def test_a_number_bounds_the_calls_too() -> None:
    in_flight = 0
    most = 0

    async def reply(messages: list[Message], options: ChatOptions) -> str:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0)  # let the others start
        in_flight -= 1
        return messages[-1].text

    model = ModelAsync(model=FunctionModel(reply), ledger=False)
    results = AsyncConduit(model=model).run(
        prompt_strings=[str(n) for n in range(40)], semaphore=3, verbose=False
    )
    assert [r.content for r in results if isinstance(r, Response)] == [str(n) for n in range(40)]
    assert most <= 3
