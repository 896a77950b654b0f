"""Errors are values at the framework face: every error class comes back from `query`,
`query_async`, `SyncConduit.run` and `AsyncConduit.run` as a `ConduitError` (its own
class, code and category), with the stack trace and the request's parameters kept and
anything shaped like a key redacted."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Callable

import pytest

from conduit import AsyncConduit, ConduitError, Model, ModelAsync, SyncConduit
from conduit.errors import (
    AuthenticationError,
    BadRequestError,
    RateLimitError,
    TimeoutError,
    ValidationError,
)
from conduit.providers.fake import FunctionModel
from conduit.schema import ChatOptions, Message

KEY = "sk-live-abcdefghijklmnopqrstuvwxyz"
QUESTION = f"My key is {KEY}; is that safe?"

CASES: list[tuple[str, Callable[[], Exception], str, str]] = [
    (
        "rate limit",
        lambda: RateLimitError("slow down", provider="openai", status_code=429, retry_after=1.0),
        "rate_limit",
        "retry",
    ),
    (
        "auth",
        lambda: AuthenticationError("bad key", provider="openai", status_code=401),
        "authentication",
        "fix_credentials",
    ),
    (
        "bad request",
        lambda: BadRequestError("no such field", provider="openai", status_code=400),
        "bad_request",
        "fix_input",
    ),
    ("timeout", lambda: TimeoutError("no answer in 30 s", provider="openai"), "timeout", "retry"),
    ("validation", lambda: ValidationError("temperature must be <= 2"), "validation", "fix_input"),
    ("not ours", lambda: KeyError("choices"), "key", "internal"),
]


def _failing(make: Callable[[], Exception]) -> FunctionModel:
    def reply(messages: list[Message], options: ChatOptions) -> str:
        raise make()

    return FunctionModel(reply)


def _check(value: object, code: str, category: str) -> ConduitError:
    assert isinstance(value, ConduitError), value
    assert value.info.code == code
    assert value.info.category == category
    assert value.category == category
    detail = value.detail
    assert "Traceback (most recent call last)" in detail.stack_trace
    assert "reply" in detail.stack_trace  # down to the frame that raised
    params = detail.request_params
    assert params is not None
    assert params["model"] == "fake/function"
    assert params["messages"][-1]["content"].startswith("My key is [REDACTED]")
    everything = repr(detail) + repr(value.info) + str(value) + repr(value)
    assert KEY not in everything
    # and it survives a trip through pickle (a batch result file, a process pool)
    again = pickle.loads(pickle.dumps(value))
    assert again.info.code == code
    assert again.detail.stack_trace == detail.stack_trace
    return value


@pytest.mark.parametrize(("name", "make", "code", "category"), CASES, ids=[c[0] for c in CASES])
def test_query_returns_every_error_as_a_value(
    name: str, make: Callable[[], Exception], code: str, category: str
) -> None:
    model = Model(model=_failing(make), ledger=False)
    value = _check(
        model.query(query_input=QUESTION, temperature=0.5, extra={"api_key": KEY}), code, category
    )
    params = value.detail.request_params
    assert params is not None
    assert params["temperature"] == 0.5
    assert params["extra"] == {"api_key": "[REDACTED]"}
    if name == "rate limit":
        assert value.retryable is True
        assert isinstance(value, RateLimitError)
        assert value.retry_after == 1.0


@pytest.mark.parametrize(("name", "make", "code", "category"), CASES, ids=[c[0] for c in CASES])
def test_query_async_returns_every_error_as_a_value(
    name: str, make: Callable[[], Exception], code: str, category: str
) -> None:
    async def main() -> object:
        return await ModelAsync(model=_failing(make), ledger=False).query_async(
            query_input=QUESTION
        )

    _check(asyncio.run(main()), code, category)


@pytest.mark.parametrize(("name", "make", "code", "category"), CASES, ids=[c[0] for c in CASES])
def test_conduits_return_every_error_as_a_value(
    name: str, make: Callable[[], Exception], code: str, category: str
) -> None:
    sync = SyncConduit(model=Model(model=_failing(make), ledger=False), prompt="{{ q }}")
    _check(sync.run(input_variables={"q": QUESTION}, save=False), code, category)
    batch = AsyncConduit(model=ModelAsync(model=_failing(make), ledger=False))
    [value] = batch.run(prompt_strings=[QUESTION], verbose=False)
    _check(value, code, category)


def test_a_bad_argument_is_a_value_too() -> None:
    value = Model(model="fake/echo", ledger=False).query(query_input="hi", max_tokens=-5)
    assert isinstance(value, ValidationError)
    assert value.info.code == "validation"
    assert "max_tokens" in value.info.message


def test_a_structured_answer_that_never_fits_counts_its_retries() -> None:
    from pydantic import BaseModel

    class Point(BaseModel):
        x: int

    model = Model(model=FunctionModel(lambda m, o: "no JSON here"), ledger=False)
    value = model.query(query_input="a point", response_model=Point)
    assert isinstance(value, ConduitError)
    assert value.info.code == "structured_output"
    assert value.detail.retry_count == 2  # three attempts in all
    assert value.detail.request_params is not None
    assert value.detail.request_params["response_model"] == "Point"
