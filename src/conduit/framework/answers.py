"""How the framework face turns core results into its users' values: a `Response` with
the request's messages and the text or parsed object as `content`, or a `ConduitError`
value in place of a raised error (errors are values at this edge).

A call's model answers are collected on the way out by `Answers`, an interceptor in each
`Model`'s chain (a structured answer may take several calls: their usage adds up), and
counted in the model's odometer. Nothing is recorded twice: the ledger row is
`RecordUsage`'s.

Example:
    >>> from conduit.schema import Response, TextBlock, user
    >>> answer = framework_response(Response(content=[TextBlock(text="4")]), [user("2+2?")])
    >>> answer.content, answer.prompt
    ('4', '2+2?')
    >>> error_value(KeyError("k"), {"model": "fake/echo", "api_key": "sk-123"}).detail.request_params
    {'model': 'fake/echo', 'api_key': '[REDACTED]'}
"""  # noqa: E501 - a doctest line

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from conduit.errors import ConduitError, ErrorDetail, error_code, stack_trace
from conduit.schema import Message, Response, TextBlock, Usage
from conduit.transport.redact import Redactor

__all__ = [
    "Answers",
    "collecting",
    "error_value",
    "framework_response",
    "request_params",
]

_CALLS: contextvars.ContextVar[list[Response] | None] = contextvars.ContextVar(
    "conduit_framework_calls", default=None
)


@contextmanager
def collecting() -> Iterator[list[Response]]:
    """Collect the answers of every model call made inside the block (in this task).

    Example:
        >>> with collecting() as calls:
        ...     pass
        >>> calls
        []
    """
    calls: list[Response] = []
    token = _CALLS.set(calls)
    try:
        yield calls
    finally:
        _CALLS.reset(token)


class Answers:
    """An interceptor that hands each answer to `count` and to the call collecting
    answers (see `collecting`).

    Example:
        >>> Answers(lambda response: None)
        Answers()
    """

    __slots__ = ("count",)

    def __init__(self, count: Callable[[Response], None]) -> None:
        self.count = count

    def leave(self, ctx: Any) -> None:
        response = ctx.response
        if response is None:
            return
        self.count(response)
        calls = _CALLS.get()
        if calls is not None:
            calls.append(response)

    def __repr__(self) -> str:
        return "Answers()"


def _total_usage(calls: Sequence[Response]) -> Usage:
    return sum((c.usage for c in calls), Usage())


def _total_cost(calls: Sequence[Response]) -> float | None:
    costs = [c.cost for c in calls]
    if not costs or any(c is None for c in costs):
        return None
    return float(sum(c for c in costs if c is not None))


def framework_response(
    response: Response,
    sent: Sequence[Message],
    *,
    parsed: Any = None,
    calls: Sequence[Response] = (),
    duration: float | None = None,
) -> Response:
    """The answer as the framework's users read it: `content` is the text (an answer of
    text blocks only) or `parsed` (a parsed answer, with the usage and cost of every
    call it took), and `request_messages` are the messages sent.

    Example:
        >>> from conduit.schema import user
        >>> framework_response(Response(content=[TextBlock(text="hi")]), [user("hey")]).messages[-1].text
        'hi'
    """  # noqa: E501 - a doctest line
    update: dict[str, Any] = {"request_messages": list(sent)}
    if parsed is not None:
        update["content"] = parsed
        if len(calls) > 1:
            update["usage"] = _total_usage(calls)
            update["cost"] = _total_cost(calls)
    elif isinstance(response.content, list) and all(
        isinstance(b, TextBlock) for b in response.content
    ):
        update["content"] = response.text
    if duration is not None:
        update["duration"] = duration
    return response.model_copy(update=update)


def _redacted(value: Any, redactor: Redactor) -> Any:
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v, redactor) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v, redactor) for v in value]
    return value


def _dump(message: Message) -> dict[str, Any]:
    data = message.model_dump(mode="json", exclude_none=True)
    if not data.get("tool_calls"):
        data.pop("tool_calls", None)
    return data


def request_params(
    ref: str,
    messages: Sequence[Message] | None,
    options: dict[str, Any],
    *,
    response_model: Any = None,
    secrets: Sequence[str | None] = (),
) -> dict[str, Any]:
    """The parameters of a call as an error's `detail.request_params` keeps them: the
    model, the messages, the options and the response model's name, with anything
    shaped like a key (and the `secrets` given) replaced by `[REDACTED]`.

    Example:
        >>> from conduit.schema import user
        >>> request_params("openai/gpt-4o", [user("my key is sk-abcdefghijkl")], {})["messages"]
        [{'role': 'user', 'content': 'my key is [REDACTED]'}]
    """
    params: dict[str, Any] = {"model": ref}
    if messages is not None:
        params["messages"] = [_dump(m) for m in messages]
    params.update({k: v for k, v in options.items() if v is not None})
    if response_model is not None:
        params["response_model"] = getattr(response_model, "__name__", repr(response_model))
    cleaned: dict[str, Any] = _redacted(params, Redactor(secrets))
    return cleaned


def error_value(error: BaseException, params: dict[str, Any] | None) -> ConduitError:
    """`error` as a value: a Conduit error itself (with its `detail` filled in: stack
    trace, request parameters, retries), anything else wrapped by
    `ConduitError.from_exception` (category `internal`).

    Example:
        >>> from conduit.errors import RateLimitError
        >>> value = error_value(RateLimitError("slow down", status_code=429), {"model": "m"})
        >>> type(value).__name__, value.info.code, value.info.category, value.retryable
        ('RateLimitError', 'rate_limit', 'retry', True)
    """
    if isinstance(error, ConduitError):
        attempts = getattr(error, "attempts", None)
        retries = max(len(attempts) - 1, 0) if isinstance(attempts, list) else 0
        error.detail = ErrorDetail(
            type(error).__name__, stack_trace(error), error.body, params, retries
        )
        return error
    return ConduitError.from_exception(error, error_code(error), "internal", request_params=params)
