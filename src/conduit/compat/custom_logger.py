"""Callbacks: LiteLLM's `success_callback`, `failure_callback` and `CustomLogger` classes.

Every compat call (and every Router call) tells them what happened. Functions get
`(kwargs, response, start_time, end_time)` on success and `(kwargs, exception,
start_time, end_time)` on failure; `kwargs` holds `model`, `messages`,
`optional_params`, `litellm_params` (with `metadata`), `metadata`, `stream`,
`call_type`, `litellm_call_id`, `response_cost` (USD or None), `start_time`,
`end_time` (datetimes, as LiteLLM passes them) and, on failure, `exception`.
Async functions are awaited. A `CustomLogger` gets `log_pre_api_call` before the call
and `log_success_event`/`log_failure_event` after it (from `completion()`), or their
`async_` twins (from `acompletion()`).

A callback that raises is logged (logger `conduit.compat`) and never breaks the call.
Callbacks run on the call's event loop: keep sync ones quick, or make them async.
String names of LiteLLM's hosted integrations ("langfuse", ...) are not supported:
they are logged once and skipped, so nothing is ever sent anywhere.

Example:
    >>> import conduit.compat as litellm
    >>> seen = []
    >>> litellm.success_callback = [lambda kw, resp, start, end: seen.append(kw["model"])]
    >>> _ = litellm.completion(model="fake/echo", messages=[{"role": "user", "content": "hi"}])
    >>> seen
    ['fake/echo']
    >>> litellm.success_callback = []
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

__all__ = ["CustomLogger", "notify_failure", "notify_pre_call", "notify_success"]

log = logging.getLogger("conduit.compat")
_warned: set[str] = set()


class CustomLogger:
    """Subclass and override what you need (LiteLLM's `litellm.integrations.custom_logger.
    CustomLogger`); put instances in `conduit.compat.custom_logger`.

    Example:
        >>> class Count(CustomLogger):
        ...     calls = 0
        ...     def log_success_event(self, kwargs, response_obj, start_time, end_time):
        ...         self.calls += 1
        >>> Count().calls
        0
    """

    def log_pre_api_call(self, model: str, messages: Any, kwargs: dict[str, Any]) -> None:
        """Before the request is sent."""

    def log_success_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: datetime, end_time: datetime
    ) -> None:
        """After a successful `completion()` / `embedding()`."""

    def log_failure_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: datetime, end_time: datetime
    ) -> None:
        """After a failed `completion()` / `embedding()`."""

    async def async_log_success_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: datetime, end_time: datetime
    ) -> None:
        """After a successful `acompletion()` / `aembedding()`."""

    async def async_log_failure_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: datetime, end_time: datetime
    ) -> None:
        """After a failed `acompletion()` / `aembedding()`."""


async def _call(target: Any, *args: Any) -> None:
    try:
        result = target(*args)
        if inspect.isawaitable(result):
            await result
    except Exception:
        log.exception("callback %r raised; the call goes on", target)


def _skip_named(target: Any) -> bool:
    if isinstance(target, str):
        if target not in _warned:
            _warned.add(target)
            log.warning(
                "callback %r is a LiteLLM hosted integration; Conduit does not send data to "
                "integrations by name; pass a function or a CustomLogger instead",
                target,
            )
        return True
    return False


async def notify_pre_call(
    loggers: Sequence[Any], model: str, messages: Any, kwargs: dict[str, Any]
) -> None:
    """Tell each `CustomLogger` in `loggers` that a call is about to be sent.

    Example:
        >>> import asyncio
        >>> asyncio.run(notify_pre_call([CustomLogger()], "fake/echo", [], {}))
    """
    for target in loggers:
        if isinstance(target, CustomLogger):
            await _call(target.log_pre_api_call, model, messages, kwargs)


async def notify_success(
    functions: Sequence[Any],
    loggers: Sequence[Any],
    kwargs: dict[str, Any],
    response: Any,
    start: datetime,
    end: datetime,
    *,
    is_async: bool,
) -> None:
    """Tell the success callbacks and the loggers about an answer.

    Example:
        >>> import asyncio
        >>> got = []
        >>> now = datetime.now()
        >>> asyncio.run(notify_success([lambda *a: got.append(a[1])], [], {}, "r", now, now,
        ...                            is_async=True))
        >>> got
        ['r']
    """
    for target in (*functions, *loggers):
        if _skip_named(target):
            continue
        if isinstance(target, CustomLogger):
            method = target.async_log_success_event if is_async else target.log_success_event
            await _call(method, kwargs, response, start, end)
        else:
            await _call(target, kwargs, response, start, end)


async def notify_failure(
    functions: Sequence[Any],
    loggers: Sequence[Any],
    kwargs: dict[str, Any],
    exception: BaseException,
    start: datetime,
    end: datetime,
    *,
    is_async: bool,
) -> None:
    """Tell the failure callbacks and the loggers about an error (in `kwargs["exception"]`
    too, as LiteLLM does).

    Example:
        >>> import asyncio
        >>> got = []
        >>> now = datetime.now()
        >>> asyncio.run(notify_failure([lambda kw, *a: got.append(kw["exception"])], [], {},
        ...                            ValueError("x"), now, now, is_async=False))
        >>> type(got[0]).__name__
        'ValueError'
    """
    kwargs["exception"] = exception
    for target in (*functions, *loggers):
        if _skip_named(target):
            continue
        if isinstance(target, CustomLogger):
            method = target.async_log_failure_event if is_async else target.log_failure_event
            await _call(method, kwargs, exception, start, end)
        else:
            await _call(target, kwargs, exception, start, end)
