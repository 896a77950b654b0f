"""`litellm.main`: the calls around `completion()` LiteLLM users reach for:
`mock_completion`, `completion_with_retries`, `text_completion`, `batch_completion`
(and their async twins where LiteLLM has them). Each is `completion()` translated, so
retries are the one `RetryPolicy`, mocks the priced `MockResponseModel`, and a batch runs
through the sync bridge concurrently.

Example:
    >>> mock_completion(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
    ...                 ).choices[0].message.content
    'This is a mock request'
    >>> text_completion(model="fake/echo", prompt="Say this").choices[0].text
    'Say this'
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from conduit.compat.chat import acompletion, completion
from conduit.compat.responses import from_chat
from conduit.compat.stream import CustomStreamWrapper
from conduit.core.policy import RetryPolicy
from conduit.core.sync import run_sync

__all__ = [
    "abatch_completion",
    "acompletion",
    "acompletion_with_retries",
    "atext_completion",
    "batch_completion",
    "completion",
    "completion_with_retries",
    "mock_completion",
    "text_completion",
]


def mock_completion(
    model: str,
    messages: Any = None,
    stream: bool = False,
    mock_response: Any = "This is a mock request",
    **kwargs: Any,
) -> Any:
    """`completion(..., mock_response=mock_response)`: an answer without a call, priced
    and reported as the model it names.

    Example:
        >>> mock_completion("gpt-4o-mini", "Hi", mock_response="Yes").usage.total_tokens
        30
    """
    return completion(model, messages, stream=stream, mock_response=mock_response, **kwargs)


def completion_with_retries(
    *args: Any, num_retries: int = 3, original_function: Any = None, **kwargs: Any
) -> Any:
    """`completion()` retried `num_retries` times (3) on the errors that say they are
    worth retrying, by the one `RetryPolicy`. With LiteLLM's `original_function=` (a
    function called in `completion()`'s place), that function is called with
    `num_retries=0, max_retries=0` and retried here, as LiteLLM does.

    Example:
        >>> completion_with_retries(model="fake/echo", messages="Hi").choices[0].message.content
        'Hi'
        >>> completion_with_retries(model="m", messages="Hi", original_function=dict)["max_retries"]
        0
    """
    kwargs.pop("retry_strategy", None)  # LiteLLM's tenacity strategies: the policy decides
    if original_function is None:
        return completion(*args, num_retries=num_retries, **kwargs)
    policy = RetryPolicy.of(num_retries, name="num_retries")
    return policy.run(
        lambda: original_function(*args, **{**kwargs, "num_retries": 0, "max_retries": 0})
    )


async def acompletion_with_retries(
    *args: Any, num_retries: int = 3, original_function: Any = None, **kwargs: Any
) -> Any:
    """`completion_with_retries()` for async code (`original_function` may be async).

    Example:
        >>> import asyncio
        >>> asyncio.run(acompletion_with_retries(model="fake/echo", messages="Hi")).model
        'echo'
    """
    kwargs.pop("retry_strategy", None)
    if original_function is None:
        return await acompletion(*args, num_retries=num_retries, **kwargs)
    policy = RetryPolicy.of(num_retries, name="num_retries")

    async def attempt() -> Any:
        answer = original_function(*args, **{**kwargs, "num_retries": 0, "max_retries": 0})
        return await answer if inspect.isawaitable(answer) else answer

    return await policy.arun(attempt)


def _prompt_messages(prompt: Any) -> list[dict[str, Any]]:
    if isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
        prompt = "\n".join(prompt)
    if not isinstance(prompt, str):
        raise TypeError(f"text_completion() takes prompt= as a string, not {prompt!r}")
    return [{"role": "user", "content": prompt}]


async def atext_completion(model: str, prompt: Any = "", **kwargs: Any) -> Any:
    """`text_completion()` for async code.

    Example:
        >>> import asyncio
        >>> asyncio.run(atext_completion("fake/echo", "Hi")).object
        'text_completion'
    """
    kwargs.pop("messages", None)
    answer = await acompletion(model, _prompt_messages(prompt), **kwargs)
    if isinstance(answer, CustomStreamWrapper):
        return answer
    return from_chat(answer)


def text_completion(model: str, prompt: Any = "", **kwargs: Any) -> Any:
    """LiteLLM's `text_completion()`: the prompt is sent as one user message and the
    answer comes back as a `TextCompletionResponse` (`choices[0].text`).

    Example:
        >>> r = text_completion("fake/echo", "Hello")
        >>> r.choices[0].text, r.choices[0].finish_reason
        ('Hello', 'stop')
    """
    return run_sync(atext_completion(model, prompt, **kwargs))


async def abatch_completion(
    model: str | Sequence[str], messages: Sequence[Any], **kwargs: Any
) -> list[Any]:
    """`batch_completion()` for async code: the answers (or errors) in input order.

    Example:
        >>> import asyncio
        >>> [r.choices[0].message.content for r in asyncio.run(
        ...     abatch_completion("fake/echo", [["a"], ["b"]]))]
        ['a', 'b']
    """
    # Concurrency only: each call's retries, limits and budgets are the spine's.
    from asyncio import gather

    calls = [acompletion(model, one, **kwargs) for one in messages]  # type: ignore[arg-type]
    return list(await gather(*calls, return_exceptions=True))


def batch_completion(model: str, messages: Sequence[Any], **kwargs: Any) -> list[Any]:
    """One `completion()` per item of `messages` (each a conversation), run concurrently;
    the answers in input order, a failed one as its exception (nothing else is lost).

    Example:
        >>> [r.choices[0].message.content for r in batch_completion(
        ...     "fake/echo", [[{"role": "user", "content": "one"}], "two"])]
        ['one', 'two']
    """
    return run_sync(abatch_completion(model, messages, **kwargs))
