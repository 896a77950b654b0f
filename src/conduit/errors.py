"""One error hierarchy for all of Conduit, shaped by what the caller does next.

```
ConduitError
├── ValidationError            fix the input (raised before any network call)
├── MissingDependencyError     an optional extra or model package is not installed
├── MaxIterationsError         an agent loop hit its limit
├── BudgetExceededError        a spending limit would be passed: nothing was sent
├── StorageError               a database row or file is unreadable or damaged
│   └── SchemaVersionError         the database is newer than this Conduit
├── ToolExecutionError         a tool raised
└── ProviderError              the provider (or the way to it) failed
    ├── AuthenticationError        401 / missing key: fix the key
    ├── PermissionDeniedError      403: the key lacks access
    ├── NotFoundError              404 / unknown model: fix the name
    ├── BadRequestError            400, 413, 422: fix the request
    │   ├── ContextWindowExceededError
    │   └── ContentFilterError
    ├── RateLimitError             429: wait `retry_after` seconds
    ├── ServerError                5xx: retry later
    └── APIConnectionError         no usable HTTP answer
        └── TimeoutError
```

Every error carries the provider, the HTTP status, the provider's request id and
`retry_after` where known. Messages and reprs never contain secrets: the transport
redacts bodies before they reach an error, and errors never hold request headers.

Every error also says what to do next: `category` is one of `retry`, `fix_input`,
`fix_credentials`, `fix_setup` or `internal`, and `retryable` says whether repeating the
call unchanged may succeed. The transport, the `Retry` interceptor, the router and batch
runs all read `retryable`; nothing else decides it. A server may override it (OpenAI's and
Anthropic's `x-should-retry` header), which the transport passes as `retryable=`.

The framework face's structured view of the same errors is built in: `error.info`
(`ErrorInfo(code, message, category, timestamp)`) and `error.detail`
(`ErrorDetail(exception_type, stack_trace, raw_response, request_params, retry_count)`),
`ConduitError(info, detail)` as a second way to make one, and `ConduitError.from_exception`
/ `ConduitError.simple`. It is one class: every error above has them.

Example:
    >>> try:
    ...     raise RateLimitError("slow down", provider="openai", status_code=429, retry_after=2.0)
    ... except ProviderError as exc:
    ...     exc.retry_after, exc.info.code, exc.info.category
    (2.0, 'rate_limit', 'retry')
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import re
import time
import traceback
import typing
from typing import Any

RETRYABLE_STATUS = frozenset({408, 409, 429})
"""HTTP statuses worth repeating besides 5xx (RFC 9110: request timeout, conflict, too many
requests)."""


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def error_code(error: BaseException) -> str:
    """A short snake_case code for an error, from its class name: `RateLimitError` is
    `rate_limit`, `TimeoutError` is `timeout`, a `KeyError` is `key`.

    Example:
        >>> error_code(RateLimitError("slow")), error_code(ValidationError("bad"))
        ('rate_limit', 'validation')
    """
    name = type(error).__name__
    return _CAMEL.sub("_", name.removesuffix("Error") or name).lower()


# Parameter names whose values are credentials: never kept in an error's detail.
_SECRET_NAMES = re.compile(
    r"(api[_-]?key|authorization|auth[_-]?token|access[_-]?token|secret|password|x-api-key)",
    re.I,
)
_REDACTED = "[REDACTED]"


def redact_params(params: typing.Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A copy of request parameters with every credential-named value (`api_key`,
    `authorization`, `*_token`, `secret`, `password`, at any depth) replaced by
    `[REDACTED]`: what an error's `detail.request_params` keeps.

    Example:
        >>> redact_params({"model": "gpt-4o", "api_key": "sk-live", "headers": {"Authorization": "x"}})
        {'model': 'gpt-4o', 'api_key': '[REDACTED]', 'headers': {'Authorization': '[REDACTED]'}}
    """  # noqa: E501 - a doctest line
    if params is None:
        return None
    return {str(k): _redact_value(str(k), v) for k, v in params.items()}


def _redact_value(name: str, value: Any) -> Any:
    if _SECRET_NAMES.search(name):
        return _REDACTED if value else value
    if isinstance(value, typing.Mapping):
        return {str(k): _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value("", v) for v in value]
    return value


def stack_trace(error: BaseException) -> str:
    """The error's stack trace as text (empty for an error that was never raised).

    Example:
        >>> stack_trace(ValueError("never raised"))
        ''
    """
    if error.__traceback__ is None:
        return ""
    return "".join(traceback.format_exception(error))


@dataclasses.dataclass(frozen=True, slots=True)
class ErrorInfo:
    """What went wrong, in short: a code (`rate_limit`, `validation`, ...), the message,
    the category (what to do next: `retry`, `fix_input`, `fix_credentials`, `fix_setup`,
    `internal`) and when (UTC).

    Example:
        >>> ErrorInfo("rate_limit", "slow down", "retry").category
        'retry'
    """

    code: str
    message: str
    category: str
    timestamp: _dt.datetime = dataclasses.field(default_factory=lambda: _dt.datetime.now(_dt.UTC))


@dataclasses.dataclass(frozen=True, slots=True)
class ErrorDetail:
    """What a developer needs to debug an error: the original exception's class name, its
    stack trace, the raw response body (as the transport redacted it), the request
    parameters (credential-named values redacted: see `redact_params`) and how many
    retries were made.

    Example:
        >>> ErrorDetail("RateLimitError", request_params={"api_key": "sk-1"}).request_params
        {'api_key': '[REDACTED]'}
    """

    exception_type: str
    stack_trace: str = ""
    raw_response: Any = None
    request_params: dict[str, Any] | None = None
    retry_count: int = 0

    def __post_init__(self) -> None:
        # Frozen: set through object.__setattr__ (the dataclass way for derived fields).
        object.__setattr__(self, "request_params", redact_params(self.request_params))


__all__ = [
    "APIConnectionError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "ConduitError",
    "ContentFilterError",
    "ContextWindowExceededError",
    "ErrorDetail",
    "ErrorInfo",
    "MaxIterationsError",
    "MissingDependencyError",
    "ModelLoadError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProviderError",
    "RETRYABLE_STATUS",
    "RateLimitError",
    "SchemaVersionError",
    "ServerError",
    "StorageError",
    "TimeoutError",
    "ToolExecutionError",
    "ValidationError",
    "error_code",
    "redact_params",
    "stack_trace",
]


class ConduitError(Exception):
    """Base of every error Conduit raises.

    Made from a message and fields (`ConduitError("boom", provider="openai")`), or, as
    the framework face's users do, from an `ErrorInfo` and an optional `ErrorDetail`
    (`ConduitError(info, detail)`, or by name: `ConduitError(info=..., detail=...)`);
    either way `info` and `detail` describe it.

    `hint` is a class-level sentence telling the caller what to do; it is appended
    to the message unless the message already says it (or says what to do itself,
    after " — ").

    Example:
        >>> error = ConduitError(ErrorInfo("quota", "out of credit", "fix_setup"))
        >>> str(error), error.category, error.info.code, error.detail.exception_type
        ('out of credit', 'fix_setup', 'quota', 'ConduitError')
    """

    hint: str = ""
    category: str = "internal"
    """What the caller does next: `retry`, `fix_input`, `fix_credentials`, `fix_setup`
    or `internal` (a bug or an unexpected state)."""

    _code: str | None = None
    _detail: ErrorDetail | None = None

    def __init__(
        self,
        message: str | ErrorInfo | None = None,
        detail: ErrorDetail | None = None,
        *,
        info: ErrorInfo | None = None,
        provider: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        body: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        if isinstance(message, ErrorInfo):
            info, message = message, None
        if info is not None:
            if message is not None:
                raise TypeError("give a message or an ErrorInfo, not both")
            message = info.message
            self._code = info.code
            self.category = info.category
            self._created = info.timestamp.timestamp()
        else:
            if message is None:
                raise TypeError("ConduitError needs a message (or an ErrorInfo)")
            self._created = time.time()
        if detail is not None:
            self._detail = detail
        self.message = message
        self.provider = provider
        self.status_code = status_code
        self.request_id = request_id
        self.retry_after = retry_after
        self.body = body
        self._retryable = retryable
        super().__init__(self._render())

    # -- the framework face's view: info and detail ----------------------------------

    @property
    def code(self) -> str:
        """A short code for the error (`rate_limit`, `timeout`, `validation`, ...): the
        one it was made with, else from its class (`error_code`)."""
        return self._code if self._code is not None else error_code(self)

    @code.setter
    def code(self, value: str | None) -> None:
        # None: back to the code of the error's class.
        self._code = value

    @property
    def timestamp(self) -> _dt.datetime:
        """When the error was made (UTC)."""
        return _dt.datetime.fromtimestamp(self._created, _dt.UTC)

    @property
    def info(self) -> ErrorInfo:
        """`ErrorInfo(code, message, category, timestamp)`.

        Example:
            >>> TimeoutError("late").info.code
            'timeout'
        """
        return ErrorInfo(self.code, self.message, self.category, self.timestamp)

    @property
    def detail(self) -> ErrorDetail:
        """`ErrorDetail(exception_type, stack_trace, raw_response, request_params,
        retry_count)`: the one it was given, else built from the error itself (its class,
        its stack trace once raised, its body).

        Example:
            >>> BadRequestError("no", body='{"error": "bad"}').detail.raw_response
            '{"error": "bad"}'
        """
        if self._detail is not None:
            return self._detail
        return ErrorDetail(type(self).__name__, stack_trace(self), self.body)

    @detail.setter
    def detail(self, value: ErrorDetail) -> None:
        self._detail = value

    @classmethod
    def from_exception(
        cls, exc: BaseException, code: str, category: str, **context: Any
    ) -> typing.Self:
        """An error value for `exc` (any exception): its message, class and stack trace,
        with `code` and `category`. `context` may give `request_params` (credential-named
        values are redacted), `raw_response` and `retry_count`; other keywords are kept
        with the request parameters. A Conduit error's provider, status, request id,
        retry-after and `retryable` carry over; `exc` is the new error's `__cause__`.

        Example:
            >>> try:
            ...     {}["missing"]
            ... except KeyError as exc:
            ...     error = ConduitError.from_exception(exc, "lookup", "internal",
            ...                                         request_params={"api_key": "sk-1"})
            >>> error.info.code, error.detail.exception_type, error.detail.request_params
            ('lookup', 'KeyError', {'api_key': '[REDACTED]'})
            >>> "Traceback" in error.detail.stack_trace
            True
        """
        known = exc if isinstance(exc, ConduitError) else None
        message = known.message if known is not None else str(exc) or type(exc).__name__
        params = context.pop("request_params", None)
        raw = context.pop("raw_response", known.body if known is not None else None)
        retries = int(context.pop("retry_count", 0))
        if context:
            params = {**(params or {}), **context}
        detail = ErrorDetail(type(exc).__name__, stack_trace(exc), raw, params, retries)
        fields: dict[str, Any] = {}
        if known is not None:
            fields = {
                "provider": known.provider,
                "status_code": known.status_code,
                "request_id": known.request_id,
                "retry_after": known.retry_after,
                "retryable": known.retryable,
            }
        error = cls(ErrorInfo(code, message, category), detail=detail, **fields)
        error.__cause__ = exc
        return error

    @classmethod
    def simple(cls, code: str, message: str, category: str) -> typing.Self:
        """An error from a code, a message and a category alone.

        Example:
            >>> ConduitError.simple("empty", "the prompt is empty", "fix_input").info.message
            'the prompt is empty'
        """
        return cls(ErrorInfo(code, message, category))

    @property
    def retryable(self) -> bool:
        """Whether repeating the call unchanged may succeed: the server's own say when it
        gave one (`x-should-retry`), else the error's class and HTTP status.

        Example:
            >>> ServerError("busy").retryable, BadRequestError("no").retryable
            (True, False)
            >>> BadRequestError("conflict", status_code=409).retryable
            True
        """
        if self._retryable is not None:
            return self._retryable
        return self._retryable_by_default()

    @retryable.setter
    def retryable(self, value: bool) -> None:
        # The server's own verdict (`x-should-retry: true|false`) overrides the default.
        self._retryable = bool(value)

    def _retryable_by_default(self) -> bool:
        return False

    def _render(self) -> str:
        where = []
        if self.provider:
            where.append(self.provider)
        if self.status_code is not None:
            where.append(f"HTTP {self.status_code}")
        if self.request_id:
            where.append(f"request {self.request_id}")
        text = self.message
        if where:
            text = f"[{', '.join(where)}] {text}"
        if self.hint and self.hint not in text and " — " not in self.message:
            text = f"{text} — {self.hint}"
        return text

    def __repr__(self) -> str:
        fields = [repr(self.message)]
        for name in ("provider", "status_code", "request_id", "retry_after"):
            value = getattr(self, name)
            if value is not None:
                fields.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(fields)})"

    def __reduce_ex__(self, protocol: Any) -> Any:
        # Subclasses reduce themselves (`__reduce__`, a 2-tuple); the framework view's
        # state (code, category, detail, time) rides along as the pickle state.
        reduced = self.__reduce__()
        state = {k: v for k, v in vars(self).items() if k in _STATE}
        if state and isinstance(reduced, tuple) and len(reduced) == 2:
            return (*reduced, state)
        return reduced

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments do not survive the default pickling; keep them.
        return (
            _rebuild,
            (
                type(self),
                self.message,
                {
                    "provider": self.provider,
                    "status_code": self.status_code,
                    "request_id": self.request_id,
                    "retry_after": self.retry_after,
                    "body": self.body,
                    "retryable": self._retryable,
                },
            ),
        )


def _rebuild(cls: type[ConduitError], message: str, fields: dict[str, Any]) -> ConduitError:
    return cls(message, **fields)


# What `__reduce_ex__` carries besides the constructor's arguments.
_STATE = frozenset({"_code", "_detail", "_created", "category"})


class ValidationError(ConduitError, ValueError):
    """The input is invalid; nothing was sent. Also a `ValueError`."""

    hint = "Fix the input; nothing was sent."
    category = "fix_input"


class MissingDependencyError(ConduitError, ImportError):
    """An optional extra or model package is not installed. Also an `ImportError`;
    the message holds the one `pip install` line that fixes it."""

    hint = "Install it with the pip command above."
    category = "fix_setup"

    def __init__(self, message: str, **fields: Any) -> None:
        ConduitError.__init__(self, message, **fields)


class MaxIterationsError(ConduitError):
    """An agent loop reached its iteration limit without a final answer."""

    hint = "Raise max_iterations or check that the tools let the model finish."


class BudgetExceededError(ConduitError):
    """A spending limit (per key, user, tag, or in all) would be passed by this call;
    nothing was sent. `scope` and `name` say which limit, `spent` what it has used in its
    window (reserved calls in flight included), `limit` its size in USD.

    Example:
        >>> error = BudgetExceededError("key 'k1' has spent its budget", scope="key",
        ...                             name="k1", spent=0.1, limit=0.1)
        >>> error.scope, error.limit, error.category
        ('key', 0.1, 'fix_setup')
    """

    hint = "Raise the budget or wait for its window to roll over."
    category = "fix_setup"

    def __init__(
        self,
        message: str,
        *,
        scope: str | None = None,
        name: str | None = None,
        spent: float | None = None,
        limit: float | None = None,
        **fields: Any,
    ) -> None:
        self.scope = scope
        self.name = name
        self.spent = spent
        self.limit = limit
        super().__init__(message, **fields)

    def __reduce__(self) -> tuple[Any, ...]:
        rebuild, (cls, message, fields) = super().__reduce__()
        extra = {"scope": self.scope, "name": self.name, "spent": self.spent, "limit": self.limit}
        return rebuild, (cls, message, {**fields, **extra})


class StorageError(ConduitError):
    """A store could not do what was asked: an unreadable row, a broken database."""

    hint = "the database was changed outside Conduit, or is damaged"


class SchemaVersionError(StorageError):
    """The database's schema is newer than this version of Conduit understands."""

    hint = ""


class ToolExecutionError(ConduitError):
    """A tool function raised while an agent ran it."""


class ProviderError(ConduitError):
    """The provider, or the connection to it, failed."""

    def _retryable_by_default(self) -> bool:
        # The statuses worth repeating (RFC 9110): timeout, conflict, too many, 5xx.
        status = self.status_code
        return status is not None and (status in RETRYABLE_STATUS or status >= 500)


class AuthenticationError(ProviderError):
    """The API key is missing, wrong or revoked (HTTP 401)."""

    hint = "Check the API key (set the provider's key variable or pass api_key=)."
    category = "fix_credentials"


class PermissionDeniedError(ProviderError):
    """The key is valid but may not use this model or resource (HTTP 403)."""

    hint = "Check that this key's project or organisation has access to the model."
    category = "fix_credentials"


class NotFoundError(ProviderError):
    """The model, provider or endpoint does not exist (HTTP 404)."""

    hint = "Check the model name and base URL."
    category = "fix_input"


class BadRequestError(ProviderError):
    """The provider rejected the request as malformed (HTTP 400, 413, 422)."""

    hint = "Fix the request; retrying it unchanged will fail again."
    category = "fix_input"


class ContextWindowExceededError(BadRequestError):
    """The prompt plus `max_tokens` does not fit the model's context window."""

    hint = "Shorten the messages or lower max_tokens, or use a model with a larger context."


class ContentFilterError(BadRequestError):
    """The provider's safety system blocked the prompt or the answer."""

    hint = "Rephrase the request; the provider's content filter blocked it."


class RateLimitError(ProviderError):
    """Too many requests or tokens (HTTP 429); `retry_after` says how long to wait."""

    hint = "Wait and retry (see retry_after), or lower the request rate."
    category = "retry"

    def _retryable_by_default(self) -> bool:
        return True


class ServerError(ProviderError):
    """The provider failed on its side (HTTP 5xx, or an error event mid-stream)."""

    hint = "Retry later; the provider had an internal problem."
    category = "retry"

    def _retryable_by_default(self) -> bool:
        return True


class APIConnectionError(ProviderError):
    """No usable HTTP answer: DNS, refused or reset connection, a cut stream, bad JSON."""

    hint = "Check the network and the base URL, then retry."
    category = "retry"

    def _retryable_by_default(self) -> bool:
        return True


class TimeoutError(APIConnectionError):  # shadows the builtin on purpose: the name users expect
    """The provider did not answer within the configured timeout."""

    hint = "Retry, or raise the timeout for long generations."


class ModelLoadError(ProviderError):
    """A local model could not be loaded: the file is missing, damaged, not a model,
    or lacks what the request needs (such as a chat template)."""

    hint = "Check the model file, or reinstall the package that ships it."
    category = "fix_setup"
