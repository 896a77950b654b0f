"""Retry: attempts counted, only retryable errors, backoff and retry-after, streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from conduit.core.policy import RetryPolicy
from conduit.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ConduitError,
    ProviderError,
    RateLimitError,
    ServerError,
    TimeoutError,
    ValidationError,
)
from conduit.interceptors import Retry, Timeout, is_retryable, with_interceptors
from conduit.providers.fake import FunctionModel, MockModel
from conduit.schema import ChatOptions, Done, Message


class Sleeps:
    """A fake `sleep` that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.mark.parametrize("failures", [0, 1, 2, 4])
async def test_a_model_that_fails_n_times(failures: int) -> None:
    upstream = MockModel([*(ServerError(f"fail {i}") for i in range(failures)), "ok"])
    sleeps = Sleeps()
    model = with_interceptors(upstream, [Retry(max_retries=4, sleep=sleeps)])
    response = await model.chat("hi")
    assert response.text == "ok"
    assert response.metadata["attempts"] == failures + 1
    assert len(upstream.calls) == failures + 1
    assert len(sleeps.delays) == failures


async def test_gives_up_after_max_retries() -> None:
    upstream = MockModel([ServerError("1"), ServerError("2"), ServerError("3"), "late"])
    model = with_interceptors(upstream, [Retry(max_retries=2, sleep=Sleeps())])
    with pytest.raises(ServerError, match="3"):
        await model.chat("hi")
    assert len(upstream.calls) == 3


@pytest.mark.parametrize(
    "error",
    [BadRequestError("no"), AuthenticationError("key"), ValueError("bug"), ConduitError("x")],
)
async def test_errors_not_worth_repeating_are_not_retried(error: Exception) -> None:
    upstream = MockModel([error, "ok"])
    with pytest.raises(type(error)):
        await with_interceptors(upstream, [Retry(sleep=Sleeps())]).chat("hi")
    assert len(upstream.calls) == 1


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (RateLimitError("slow"), True),
        (ServerError("5xx"), True),
        (APIConnectionError("reset"), True),
        (TimeoutError("slow"), True),
        (ProviderError("conflict", status_code=409), True),
        (ProviderError("timeout", status_code=408), True),
        (ProviderError("bad gateway", status_code=502), True),
        (ProviderError("teapot", status_code=418), False),
        (ProviderError("no status"), False),
        (BadRequestError("bad", status_code=400), False),
        (RuntimeError("bug"), False),
    ],
)
def test_which_errors_are_retryable(error: BaseException, expected: bool) -> None:
    assert is_retryable(error) is expected


async def test_retry_after_is_honoured() -> None:
    sleeps = Sleeps()
    upstream = MockModel([RateLimitError("wait", retry_after=7.5), "ok"])
    model = with_interceptors(upstream, [Retry(max_delay=1.0, sleep=sleeps)])
    await model.chat("hi")
    assert sleeps.delays == [7.5]  # the server's word beats max_delay


async def test_retry_after_beyond_the_limit_is_not_waited_for() -> None:
    sleeps = Sleeps()
    upstream = MockModel([RateLimitError("come back tomorrow", retry_after=86400), "ok"])
    model = with_interceptors(upstream, [Retry(max_retry_after=60, sleep=sleeps)])
    with pytest.raises(RateLimitError):
        await model.chat("hi")
    assert sleeps.delays == []


async def test_exponential_backoff_capped_at_max_delay() -> None:
    sleeps = Sleeps()
    upstream = MockModel([ServerError(str(i)) for i in range(5)] + ["ok"])
    retry = Retry(max_retries=5, initial_delay=1.0, max_delay=5.0, jitter=False, sleep=sleeps)
    await with_interceptors(upstream, [retry]).chat("hi")
    assert sleeps.delays == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_jitter_stays_under_the_ceiling() -> None:
    retry = Retry(initial_delay=1.0, max_delay=3.0)
    delays = [retry.delay(attempt, ServerError("x")) for attempt in (1, 2, 3, 4) for _ in range(50)]
    assert all(d is not None and 0.0 <= d <= 3.0 for d in delays)
    assert len(set(delays)) > 1


async def test_custom_retry_test() -> None:
    upstream = MockModel([BadRequestError("flaky validator"), "ok"])
    retry = Retry(retry_on=lambda e: isinstance(e, BadRequestError), sleep=Sleeps())
    assert (await with_interceptors(upstream, [retry]).chat("hi")).text == "ok"


async def test_a_stream_failing_before_its_first_event_is_retried() -> None:
    upstream = MockModel([ServerError("busy"), "streamed"])
    model = with_interceptors(upstream, [Retry(sleep=Sleeps())])
    events = [e async for e in model.stream("hi")]
    done = events[-1]
    assert isinstance(done, Done)
    assert done.response.text == "streamed"
    assert done.response.metadata["attempts"] == 2


async def test_a_stream_failing_after_an_event_is_not_retried() -> None:
    calls = 0

    async def pieces(messages: list[Message], options: ChatOptions) -> AsyncIterator[str]:
        nonlocal calls
        calls += 1
        yield "partial"
        raise ServerError("cut")

    sleeps = Sleeps()
    model = with_interceptors(
        FunctionModel(lambda m, o: "", stream_fn=pieces), [Retry(sleep=sleeps)]
    )
    with pytest.raises(ServerError):
        async for _ in model.stream("hi"):
            pass
    assert calls == 1
    assert sleeps.delays == []


async def test_timeout_inside_retry_is_per_attempt() -> None:
    calls = 0

    async def slow_then_fast(messages: list[Message], options: ChatOptions) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(5)
        return f"call {calls}"

    model = with_interceptors(
        FunctionModel(slow_then_fast), [Retry(sleep=Sleeps()), Timeout(total=0.05)]
    )
    response = await model.chat("hi")
    assert response.text == "call 2"
    assert response.metadata["attempts"] == 2


async def test_no_retry_that_would_end_past_an_outer_deadline() -> None:
    sleeps = Sleeps()
    upstream = MockModel([RateLimitError("wait", retry_after=30), "ok"])
    model = with_interceptors(upstream, [Timeout(total=5), Retry(sleep=sleeps)])
    with pytest.raises(RateLimitError):
        await model.chat("hi")
    assert sleeps.delays == []


def test_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="max_retries"):
        Retry(max_retries=-1)
    with pytest.raises(ValidationError, match="initial_delay"):
        Retry(initial_delay=-1)
    with pytest.raises(ValidationError, match="RetryPolicy or its fields"):
        Retry(RetryPolicy(), max_retries=1)
    assert repr(Retry(max_retries=4)) == "Retry(max_retries=4)"
    assert Retry(3).policy == RetryPolicy(max_retries=3)


async def test_a_retry_policy_in_the_list_is_the_retry_interceptor() -> None:
    upstream = MockModel([ServerError("1"), "ok"])
    policy = RetryPolicy(max_retries=1, initial_delay=0)
    model = with_interceptors(upstream, [policy])
    assert isinstance(model.interceptors[0], Retry)
    assert (await model.chat("hi")).metadata["attempts"] == 2


async def test_real_sleep_by_default() -> None:
    upstream = MockModel([ServerError("once"), "ok"])
    model = with_interceptors(upstream, [Retry(initial_delay=0.001)])
    assert (await model.chat("hi")).metadata["attempts"] == 2
