"""Exceptions with LiteLLM's names that are also Conduit errors.

`except litellm.RateLimitError:` keeps working after switching the import, and so does
`except conduit.errors.RateLimitError:` (or `ConduitError`): each class here subclasses
the Conduit error it corresponds to and, when the `openai` package is installed, the
`openai` class LiteLLM's own subclasses (`except openai.RateLimitError:` keeps working
too; `openai` is imported with this module, on the first error, never by `import
conduit`). Each has LiteLLM's constructor, attributes (`message` as "litellm.<Class>:
...", `status_code`, `llm_provider`, `model`, `num_retries`, `response`) and `str()`, on
top of Conduit's (`provider`, `request_id`, `retry_after`, `retryable`).

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
    "APIResponseValidationError",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "BudgetExceededError",
    "ContentPolicyViolationError",
    "ContextWindowExceededError",
    "InternalServerError",
    "MockException",
    "ModelNotMappedError",
    "NotFoundError",
    "OpenAIError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServiceUnavailableError",
    "Timeout",
    "UnprocessableEntityError",
    "UnsupportedParamsError",
    "provider_not_provided",
    "translate",
]


def _openai(name: str) -> tuple[type, ...]:
    """The `openai` package's class `name` as a base (through a bridge that lets
    Conduit's constructor run), or no base when `openai` is not installed: users catch
    `openai.RateLimitError` around LiteLLM calls, and the switch must keep that working.
    This module is imported on the first error only, so `openai` (0.6 s to import) is
    never loaded by a call that succeeds."""
    try:
        import openai
    except ImportError:  # pragma: no cover - openai is installed wherever LiteLLM is
        return ()
    base = getattr(openai, name)

    def init(self: Any, *args: Any, **_: Any) -> None:
        # openai's own constructors want an httpx request/response; the attributes
        # they would set are Conduit's (`message`, `status_code`, `body`, `request_id`)
        # or filled in by `_Compat` below.
        Exception.__init__(self, *args)

    bridge = type(f"_OpenAI{name}", (base,), {"__init__": init, "__module__": __name__})
    return (bridge,)


class _Compat(errors.ConduitError):
    """LiteLLM's constructor shapes over Conduit's fields: `(message, llm_provider,
    model)` or `(message, model, llm_provider)` as each LiteLLM class takes them, its
    attributes (`message` starting "litellm.<Class>: ", `llm_provider`, `model`,
    `num_retries`, `max_retries`, `litellm_debug_info`, `response`, `request`) and its
    `str()`."""

    default_status: int | None = None
    _positional: tuple[str, ...] = ("llm_provider", "model")

    def __init__(self, message: str, *args: Any, **kwargs: Any) -> None:
        named = dict(zip(self._positional, args, strict=False))
        named.update(kwargs)
        self.model: str | None = named.get("model")
        self.litellm_debug_info = named.get("litellm_debug_info")
        self.max_retries = named.get("max_retries")
        self.num_retries = named.get("num_retries")
        self._response = named.get("response")
        self._request = named.get("request")
        self.code: str | None = None  # type: ignore[assignment]
        self.param: str | None = None
        self.type: str | None = None
        status = named.get("status_code")
        prefix = f"litellm.{type(self).__name__}: "
        text = message if str(message).startswith(prefix) else prefix + str(message)
        body = named.get("body")
        super().__init__(
            text,
            provider=named.get("provider") or named.get("llm_provider"),
            status_code=status if status is not None else self.default_status,
            request_id=named.get("request_id"),
            retry_after=named.get("retry_after"),
            body=body if isinstance(body, str) or body is None else str(body),
        )

    @property
    def llm_provider(self) -> str | None:
        """LiteLLM's name for `provider`."""
        return self.provider

    @property
    def response(self) -> Any:
        """An `httpx.Response` with the status (built on first use, as LiteLLM's mock)."""
        if self._response is None:
            import httpx

            self._response = httpx.Response(self.status_code or 500, request=self.request)
        return self._response

    @property
    def request(self) -> Any:
        """An `httpx.Request` standing for the call (no URL, no headers: nothing secret)."""
        if self._request is None:
            import httpx

            self._request = httpx.Request("POST", "https://conduit.invalid/")
        return self._request

    def _render(self) -> str:
        return self.message

    def __str__(self) -> str:
        text = self.message
        if self.num_retries:
            text += f" LiteLLM Retried: {self.num_retries} times"
        if self.max_retries:
            text += f", LiteLLM Max Retries: {self.max_retries}"
        return text

    __repr__ = __str__

    def __reduce__(self) -> tuple[Any, ...]:
        _, (cls, message, fields) = super().__reduce__()
        return _rebuild, (cls, message, {**fields, "model": self.model})


def _rebuild(cls: type[_Compat], message: str, fields: dict[str, Any]) -> _Compat:
    return cls(message, **fields)


class APIError(_Compat, errors.ProviderError, *_openai("APIError")):  # type: ignore[misc]
    """Any other failed answer from the provider (LiteLLM's catch-all status error):
    `APIError(status_code, message, llm_provider, model)`."""

    default_status = 500

    def __init__(self, status_code: Any = None, message: Any = "", *args: Any, **kw: Any) -> None:
        if isinstance(status_code, str) and not message:  # APIError("text", ...)
            status_code, message = None, status_code
        if status_code is not None:
            kw.setdefault("status_code", status_code)
        super().__init__(message, *args, **kw)


class AuthenticationError(_Compat, errors.AuthenticationError, *_openai("AuthenticationError")):  # type: ignore[misc]
    """HTTP 401 or a missing key."""

    default_status = 401


class PermissionDeniedError(
    _Compat,
    errors.PermissionDeniedError,
    *_openai("PermissionDeniedError"),  # type: ignore[misc]
):
    """HTTP 403."""

    default_status = 403


class NotFoundError(_Compat, errors.NotFoundError, *_openai("NotFoundError")):  # type: ignore[misc]
    """HTTP 404, an unknown model or provider."""

    default_status = 404
    _positional = ("model", "llm_provider")


class BadRequestError(_Compat, errors.BadRequestError, *_openai("BadRequestError")):  # type: ignore[misc]
    """HTTP 400: the request is malformed (also raised for bad input caught before sending)."""

    default_status = 400
    _positional = ("model", "llm_provider")


class UnsupportedParamsError(BadRequestError):
    """A parameter the provider does not take (set `drop_params=True` to drop it)."""

    _positional = ("llm_provider", "model")


class UnprocessableEntityError(BadRequestError, *_openai("UnprocessableEntityError")):  # type: ignore[misc]
    """HTTP 422."""

    default_status = 422


class ContextWindowExceededError(BadRequestError, errors.ContextWindowExceededError):
    """The prompt does not fit the model's context window."""


class ContentPolicyViolationError(BadRequestError, errors.ContentFilterError):
    """The provider's content filter blocked the request."""


class RateLimitError(_Compat, errors.RateLimitError, *_openai("RateLimitError")):  # type: ignore[misc]
    """HTTP 429; `retry_after` says how long to wait when the provider said."""

    default_status = 429


class InternalServerError(_Compat, errors.ServerError, *_openai("InternalServerError")):  # type: ignore[misc]
    """HTTP 500 and other 5xx without a name of their own."""

    default_status = 500


class BadGatewayError(InternalServerError):
    """HTTP 502."""

    default_status = 502


class ServiceUnavailableError(InternalServerError):
    """HTTP 503."""

    default_status = 503


class APIConnectionError(_Compat, errors.APIConnectionError, *_openai("APIConnectionError")):  # type: ignore[misc]
    """No usable answer: refused or reset connection, a cut stream, a malformed body."""

    default_status = 500


class Timeout(APIConnectionError, errors.TimeoutError, *_openai("APITimeoutError")):  # type: ignore[misc]
    """The provider did not answer in time (LiteLLM's `litellm.Timeout`)."""

    default_status = 408
    _positional = ("model", "llm_provider")


class APIResponseValidationError(APIError):
    """The provider's answer did not have the shape asked for."""


class MockException(APIError):
    """LiteLLM's exception for a `mock_response` that is an error:
    `MockException(status_code, message, llm_provider, model)`."""


class OpenAIError(APIError):
    """LiteLLM's wrapper of an `openai` package error."""


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
        >>> type(exc).__name__, exc.status_code, str(exc).split(".")[1]
        ('BadRequestError', 400, 'BadRequestError: LLM Provider NOT provided')
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


_VENDOR_WORDS = {"openai": "OpenAI", "xai": "XAI", "deepseek": "DeepSeek", "vertex": "Vertex"}


def _refused_by_tags(exc: errors.ConduitError) -> bool:
    from conduit.routing import NO_TAGGED_DEPLOYMENT  # the router is loaded when it refused

    return exc.code == NO_TAGGED_DEPLOYMENT


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
    message = exc.message
    if isinstance(exc, errors.ProviderError) and exc.provider and exc.provider != "router":
        # LiteLLM's wording: "litellm.RateLimitError: RateLimitError: OpenAIException - ..."
        vendor = _VENDOR_WORDS.get(exc.provider, exc.provider.title().replace("-", ""))
        message = f"{cls.__name__}: {vendor}Exception - {message}"
    elif exc.provider == "router" and _refused_by_tags(exc):  # LiteLLM's RouterErrors wording
        from conduit.compat.types.router import RouterErrors

        message = f"{RouterErrors.no_deployments_with_tag_routing.value}. {message}"
    out = cls.__new__(cls)
    _Compat.__init__(
        out,
        message,
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
