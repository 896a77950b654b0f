"""Exceptions with LiteLLM's names that are also Conduit errors.

`except litellm.RateLimitError:` keeps working after switching the import, and so does
`except conduit.errors.RateLimitError:` (or `ConduitError`): each class here subclasses
the Conduit error it corresponds to, never a vendor SDK's class. Each carries LiteLLM's
attributes (`message`, `status_code`, `llm_provider`, `model`) on top of Conduit's
(`provider`, `request_id`, `retry_after`).

`translate(exc)` turns any Conduit error into its LiteLLM-named twin; the compat
functions call it at their edge, so the error a caller sees is always one of these.

Example:
    >>> from conduit import errors
    >>> exc = translate(errors.RateLimitError("slow down", provider="openai", status_code=429))
    >>> type(exc).__name__, isinstance(exc, errors.RateLimitError), exc.llm_provider
    ('RateLimitError', True, 'openai')
"""

from __future__ import annotations

from typing import Any

from conduit import errors

__all__ = [
    "APIConnectionError",
    "APIError",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "BudgetExceededError",
    "ContentPolicyViolationError",
    "ContextWindowExceededError",
    "InternalServerError",
    "ModelNotMappedError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServiceUnavailableError",
    "Timeout",
    "UnprocessableEntityError",
    "UnsupportedParamsError",
    "provider_not_provided",
    "translate",
]


class _Compat(errors.ConduitError):
    """LiteLLM's constructor shape (`message, llm_provider, model`) over Conduit's fields."""

    default_status: int | None = None

    def __init__(
        self,
        message: str,
        llm_provider: str | None = None,
        model: str | None = None,
        *,
        provider: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        body: str | None = None,
        **_litellm: Any,  # response=, litellm_debug_info=, ...: accepted, not kept
    ) -> None:
        self.model = model
        super().__init__(
            message,
            provider=provider or llm_provider,
            status_code=status_code if status_code is not None else self.default_status,
            request_id=request_id,
            retry_after=retry_after,
            body=body,
        )

    @property
    def llm_provider(self) -> str | None:
        """LiteLLM's name for `provider`."""
        return self.provider

    def __reduce__(self) -> tuple[Any, ...]:
        _, (cls, message, fields) = super().__reduce__()
        return _rebuild, (cls, message, {**fields, "model": self.model})


def _rebuild(cls: type[_Compat], message: str, fields: dict[str, Any]) -> _Compat:
    return cls(message, **fields)


class APIError(_Compat, errors.ProviderError):
    """Any other failed answer from the provider (LiteLLM's catch-all status error)."""

    default_status = 500


class AuthenticationError(_Compat, errors.AuthenticationError):
    """HTTP 401 or a missing key."""

    default_status = 401


class PermissionDeniedError(_Compat, errors.PermissionDeniedError):
    """HTTP 403."""

    default_status = 403


class NotFoundError(_Compat, errors.NotFoundError):
    """HTTP 404, an unknown model or provider."""

    default_status = 404


class BadRequestError(_Compat, errors.BadRequestError):
    """HTTP 400: the request is malformed (also raised for bad input caught before sending)."""

    default_status = 400


class UnsupportedParamsError(BadRequestError):
    """A parameter the provider does not take (set `drop_params=True` to drop it)."""


class UnprocessableEntityError(BadRequestError):
    """HTTP 422."""

    default_status = 422


class ContextWindowExceededError(BadRequestError, errors.ContextWindowExceededError):
    """The prompt does not fit the model's context window."""


class ContentPolicyViolationError(BadRequestError, errors.ContentFilterError):
    """The provider's content filter blocked the request."""


class RateLimitError(_Compat, errors.RateLimitError):
    """HTTP 429; `retry_after` says how long to wait when the provider said."""

    default_status = 429


class InternalServerError(_Compat, errors.ServerError):
    """HTTP 500 and other 5xx without a name of their own."""

    default_status = 500


class BadGatewayError(InternalServerError):
    """HTTP 502."""

    default_status = 502


class ServiceUnavailableError(InternalServerError):
    """HTTP 503."""

    default_status = 503


class APIConnectionError(_Compat, errors.APIConnectionError):
    """No usable answer: refused or reset connection, a cut stream, a malformed body."""

    default_status = 500


class Timeout(APIConnectionError, errors.TimeoutError):
    """The provider did not answer in time (LiteLLM's `litellm.Timeout`)."""

    default_status = 408


class ModelNotMappedError(NotFoundError):
    """Conduit's catalog does not know the model (or its prices): LiteLLM's
    `ModelNotMappedError`, from `get_model_info()`, `completion_cost()` and
    `cost_per_token()`.

    Example:
        >>> ModelNotMappedError("This model isn't mapped yet.", model="openai/x").status_code
        404
    """


class BudgetExceededError(errors.BudgetExceededError):
    """A budget (`litellm.max_budget`, or one of `Budgets`: per user, key or tag) would be
    passed by this call; nothing was sent. LiteLLM's constructor and attributes
    (`current_cost`, `max_budget`, `entity_type`, `entity_id`, `status_code` 422) over
    Conduit's `conduit.errors.BudgetExceededError` (`scope`, `name`, `spent`, `limit`).

    Example:
        >>> from conduit import errors
        >>> exc = BudgetExceededError(current_cost=1.5, max_budget=1.0)
        >>> exc.max_budget, exc.limit, isinstance(exc, errors.BudgetExceededError)
        (1.0, 1.0, True)
    """

    def __init__(
        self,
        current_cost: float,
        max_budget: float,
        message: str | None = None,
        llm_provider: str | None = None,
        entity_type: str | None = None,
        entity_id: str | None = None,
        **fields: Any,
    ) -> None:
        self.current_cost = current_cost
        self.max_budget = max_budget
        who = f" for {entity_type} {entity_id!r}" if entity_type else ""
        text = message or (
            f"Budget has been exceeded{who}! Current cost: {current_cost}, Max budget: {max_budget}"
        )
        fields.pop("status_code", None)
        super().__init__(
            text,
            scope=entity_type,
            name=entity_id,
            spent=current_cost,
            limit=max_budget,
            provider=llm_provider or fields.pop("provider", None),
            **fields,
        )
        # LiteLLM's status for a spent budget; set after the message is made, which
        # would otherwise say "HTTP 422" for a call that was never sent.
        self.status_code = 422

    @property
    def entity_type(self) -> str | None:
        """LiteLLM's name for `scope` (`user`, `key`, `tag`, `global`)."""
        return self.scope

    @property
    def entity_id(self) -> str | None:
        """LiteLLM's name for `name`."""
        return self.name

    @property
    def llm_provider(self) -> str:
        """LiteLLM's name for `provider` (empty when none)."""
        return self.provider or ""

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_budget,
            (self.current_cost, self.max_budget, self.message, self.scope, self.name),
        )


def _rebuild_budget(
    cost: float, limit: float, message: str, kind: str | None, name: str | None
) -> BudgetExceededError:
    return BudgetExceededError(cost, limit, message, entity_type=kind, entity_id=name)


def provider_not_provided(model: object, error: errors.ConduitError) -> BadRequestError:
    """LiteLLM's error for a model string it cannot place (an unknown bare name or
    provider), with the resolver's reason (close matches) after LiteLLM's words.

    Example:
        >>> from conduit import errors
        >>> exc = provider_not_provided("nope", errors.NotFoundError("unknown model 'nope'"))
        >>> type(exc).__name__, exc.status_code, exc.message.split(".")[0]
        ('BadRequestError', 400, 'LLM Provider NOT provided')
    """
    out = BadRequestError(
        "LLM Provider NOT provided. Pass in the LLM provider you are trying to call. "
        f"You passed model={model}. {error.message}",
        model=model if isinstance(model, str) else None,
    )
    out.__cause__ = error
    return out


# Most specific first: the first Conduit class the error is an instance of decides.
_BY_CLASS: tuple[tuple[type[errors.ConduitError], type[_Compat]], ...] = (
    (errors.ContextWindowExceededError, ContextWindowExceededError),
    (errors.ContentFilterError, ContentPolicyViolationError),
    (errors.AuthenticationError, AuthenticationError),
    (errors.PermissionDeniedError, PermissionDeniedError),
    (errors.NotFoundError, NotFoundError),
    (errors.RateLimitError, RateLimitError),
    (errors.TimeoutError, Timeout),
    (errors.APIConnectionError, APIConnectionError),
    (errors.ValidationError, BadRequestError),
)
_BY_STATUS: dict[int, type[_Compat]] = {
    408: Timeout,
    422: UnprocessableEntityError,
    502: BadGatewayError,
    503: ServiceUnavailableError,
    504: Timeout,
}


def _twin_class(exc: errors.ConduitError) -> type[_Compat] | None:
    status = exc.status_code
    if status in _BY_STATUS and not isinstance(
        exc, errors.ContextWindowExceededError | errors.ContentFilterError
    ):
        return _BY_STATUS[status]
    for conduit_cls, compat_cls in _BY_CLASS:
        if isinstance(exc, conduit_cls):
            return compat_cls
    if isinstance(exc, errors.BadRequestError):
        return BadRequestError
    if isinstance(exc, errors.ServerError):
        return InternalServerError
    if isinstance(exc, errors.ProviderError):
        return APIError
    return None


def translate(exc: BaseException, *, model: str | None = None) -> BaseException:
    """The LiteLLM-named twin of a Conduit error (the same object when it already is one,
    or when it is no provider or input error, such as `MissingDependencyError`).

    Example:
        >>> from conduit import errors
        >>> type(translate(errors.ServerError("down", status_code=503))).__name__
        'ServiceUnavailableError'
    """
    if isinstance(exc, _Compat | BudgetExceededError) or not isinstance(exc, errors.ConduitError):
        return exc
    if isinstance(exc, errors.BudgetExceededError):
        budget = BudgetExceededError(
            exc.spent if exc.spent is not None else 0.0,
            exc.limit if exc.limit is not None else 0.0,
            exc.message,
            entity_type=exc.scope,
            entity_id=exc.name,
        )
        budget.__cause__ = exc
        return budget
    cls = _twin_class(exc)
    if cls is None:
        return exc
    out = cls(
        exc.message,
        model=model,
        provider=exc.provider,
        status_code=exc.status_code,
        request_id=exc.request_id,
        retry_after=exc.retry_after,
        body=exc.body,
    )
    for note in getattr(exc, "__notes__", ()):  # the router's word on fallbacks tried
        out.add_note(note)
    out.__cause__ = exc
    return out
