"""What a failed try says about the deployment that made it, and whether to fall back.

Whether repeating a call may succeed, each error says itself (`ConduitError.retryable`);
nothing here decides that. What this module adds is the router's view of *whose* failure
it was:

- `is_hard_failure`: the deployment itself is unusable for now: its key is refused (401,
  403), the model is not there (404), it is rate limited (429) or it timed out (408). The
  router cools such a deployment down at once and moves the call to another one.
- `is_callers_failure`: the request is at fault (a bad request, a context window
  overflow, a content filter, invalid input, a budget): no deployment is blamed, and
  another deployment of the same group would refuse it too.
- `should_fall_back`: whether an error ends a model (or a model group) in a way another
  model may fix: a retryable provider error, a hard failure, a context window overflow
  or a content filter refusal. `FallbackModel` and `Router` use it unless told otherwise.

Example:
    >>> from conduit.errors import AuthenticationError, BadRequestError, ServerError
    >>> is_hard_failure(AuthenticationError("bad key")), is_hard_failure(ServerError("busy"))
    (True, False)
    >>> should_fall_back(ServerError("busy")), should_fall_back(BadRequestError("no"))
    (True, False)
"""

from __future__ import annotations

from conduit.errors import (
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    ContentFilterError,
    ContextWindowExceededError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    TimeoutError,
    ValidationError,
)

__all__ = ["is_callers_failure", "is_hard_failure", "should_fall_back"]

# LiteLLM's router cools a deployment down at once on these statuses (401, 404, 408, 429);
# 403 is the same kind of failure: this deployment's key may not use this model.
_HARD_STATUS = frozenset({401, 403, 404, 408, 429})
_HARD_CLASSES = (
    AuthenticationError,
    PermissionDeniedError,
    NotFoundError,
    RateLimitError,
    TimeoutError,
)


def is_hard_failure(error: BaseException) -> bool:
    """The deployment is unusable for now (refused key, missing model, rate limit,
    timeout): cool it down at once.

    Example:
        >>> from conduit.errors import ProviderError
        >>> is_hard_failure(ProviderError("gone", status_code=404))
        True
    """
    if isinstance(error, _HARD_CLASSES):
        return True
    return isinstance(error, ProviderError) and error.status_code in _HARD_STATUS


def is_callers_failure(error: BaseException) -> bool:
    """The request is at fault, not the deployment: another deployment would refuse it
    too, and no deployment is blamed for it.

    Example:
        >>> from conduit.errors import ContextWindowExceededError
        >>> is_callers_failure(ContextWindowExceededError("too long"))
        True
    """
    if isinstance(error, BadRequestError):
        return not error.retryable  # a 409 conflict is a BadRequestError worth repeating
    return isinstance(error, ValidationError | BudgetExceededError)


def should_fall_back(error: BaseException) -> bool:
    """Whether another model may succeed where this one failed: a retryable provider
    error (rate limit, server error, connection, timeout), a hard failure of this
    model's deployment (key, access, missing model), a context window overflow (a model
    with a larger window may take it) or a content filter refusal (another provider's
    filter may not). A plain bad request is not: every model would refuse it.

    Example:
        >>> from conduit.errors import ContentFilterError, ValidationError
        >>> should_fall_back(ContentFilterError("blocked")), should_fall_back(ValidationError("x"))
        (True, False)
    """
    if not isinstance(error, ProviderError):
        return False
    return (
        error.retryable
        or is_hard_failure(error)
        or isinstance(error, ContextWindowExceededError | ContentFilterError)
    )
