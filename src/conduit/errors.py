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

Example:
    >>> try:
    ...     raise RateLimitError("slow down", provider="openai", status_code=429, retry_after=2.0)
    ... except ProviderError as exc:
    ...     exc.retry_after
    2.0
"""

from __future__ import annotations

from typing import Any

RETRYABLE_STATUS = frozenset({408, 409, 429})
"""HTTP statuses worth repeating besides 5xx (RFC 9110: request timeout, conflict, too many
requests)."""

__all__ = [
    "APIConnectionError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "ConduitError",
    "ContentFilterError",
    "ContextWindowExceededError",
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
]


class ConduitError(Exception):
    """Base of every error Conduit raises.

    `hint` is a class-level sentence telling the caller what to do; it is appended
    to the message unless the message already says it.
    """

    hint: str = ""
    category: str = "internal"
    """What the caller does next: `retry`, `fix_input`, `fix_credentials`, `fix_setup`
    or `internal` (a bug or an unexpected state)."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        body: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        self.message = message
        self.provider = provider
        self.status_code = status_code
        self.request_id = request_id
        self.retry_after = retry_after
        self.body = body
        self._retryable = retryable
        super().__init__(self._render())

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
        if self.hint and self.hint not in text:
            text = f"{text} — {self.hint}"
        return text

    def __repr__(self) -> str:
        fields = [repr(self.message)]
        for name in ("provider", "status_code", "request_id", "retry_after"):
            value = getattr(self, name)
            if value is not None:
                fields.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(fields)})"

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
