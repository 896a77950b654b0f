"""What a batch gives back: each item's answer or its error, in input order.

Errors are values at the batch edge: a failed item becomes a `BatchItemError` that
keeps everything needed to understand and retry it (the original error's class, code
and category, the stack trace, the request, how many times it was tried), so one
failure loses nothing else.

Example:
    >>> from conduit.errors import RateLimitError
    >>> error = BatchItemError.from_exception(
    ...     RateLimitError("slow down", provider="openai", status_code=429),
    ...     index=3, request={"topic": "owls"}, attempts=2,
    ... )
    >>> error.code, error.category, error.exception_type, error.retries
    ('rate_limit', 'retry', 'RateLimitError', 1)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from conduit.errors import ConduitError, ErrorDetail, error_code, stack_trace

__all__ = ["BatchItemError", "BatchResult", "error_category"]

T = TypeVar("T")


def error_category(error: BaseException) -> str:
    """What to do about an error: the error's own `category` (`retry`, `fix_input`,
    `fix_credentials`, `fix_setup`, `internal`; see `conduit.errors`), `cancelled` for a
    cancellation, and `internal` for anything that is not a Conduit error.

    Example:
        >>> from conduit.errors import TimeoutError
        >>> error_category(TimeoutError("slow")), error_category(KeyError("x"))
        ('retry', 'internal')
    """
    if type(error).__name__ == "CancelledError":
        return "cancelled"
    if isinstance(error, ConduitError):
        return error.category
    return "internal"


class BatchItemError(ConduitError):
    """One item of a batch failed (or never ran, when the batch was cancelled).

    Fields: `index` (its place in the inputs), `code` (`"rate_limit"`, `"timeout"`…),
    `category` (what to do next, see `error_category`), `retryable` (the original
    error's own say: may the same call succeed later?), `exception_type` (the original
    class name), `traceback` (its stack trace as text), `request` (the item's input or
    request parameters), `retries` (attempts after the first), and `cause` (the
    original exception, not kept when pickled).
    """

    def __init__(
        self,
        message: str,
        *,
        index: int,
        code: str,
        category: str,
        exception_type: str,
        traceback: str = "",
        request: Any = None,
        retries: int = 0,
        cause: BaseException | None = None,
        provider: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        retryable: bool = False,
    ) -> None:
        self.index = index
        self.code = code
        self.category = category
        self.exception_type = exception_type
        self.traceback = traceback
        self.request = request
        self.retries = retries
        self.cause = cause
        super().__init__(
            message,
            provider=provider,
            status_code=status_code,
            request_id=request_id,
            retry_after=retry_after,
            retryable=retryable,
        )
        # The framework face's view of the same facts (`error.detail`).
        params = request if isinstance(request, dict) or request is None else {"input": request}
        self._detail = ErrorDetail(exception_type, traceback, None, params, retries)

    @classmethod
    def from_exception(
        cls,
        exc: BaseException,
        code: str | None = None,
        category: str | None = None,
        *,
        index: int = 0,
        request: Any = None,
        attempts: int = 1,
        **context: Any,
    ) -> BatchItemError:
        """Capture an exception raised for item `index` after `attempts` tries (`code`
        and `category` default to the error's own; `context` is kept with the request).

        Example:
            >>> error = BatchItemError.from_exception(KeyError("k"), index=2, request={"q": 1})
            >>> error.code, error.category, error.detail.request_params
            ('key', 'internal', {'q': 1})
        """
        error = exc
        text = stack_trace(error)
        category = category or error_category(error)
        known = error if isinstance(error, ConduitError) else None
        message = known.message if known else str(error) or type(error).__name__
        if context:
            request = {
                **(request if isinstance(request, dict) else {"request": request}),
                **context,
            }
        return cls(
            message,
            index=index,
            code=code or ("cancelled" if category == "cancelled" else error_code(error)),
            category=category,
            exception_type=type(error).__name__,
            traceback=text,
            request=request,
            retries=max(attempts - 1, 0),
            cause=error,
            provider=known.provider if known else None,
            status_code=known.status_code if known else None,
            request_id=known.request_id if known else None,
            retry_after=known.retry_after if known else None,
            retryable=known.retryable if known else False,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (no `cause`): what a results file stores.

        Example:
            >>> BatchItemError("no", index=0, code="x", category="internal",
            ...                exception_type="KeyError").to_dict()["category"]
            'internal'
        """
        return {
            "index": self.index,
            "message": self.message,
            "code": self.code,
            "category": self.category,
            "exception_type": self.exception_type,
            "traceback": self.traceback,
            "request": self.request,
            "retries": self.retries,
            "provider": self.provider,
            "status_code": self.status_code,
            "request_id": self.request_id,
            "retry_after": self.retry_after,
            "retryable": self.retryable,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchItemError:
        """The inverse of `to_dict`."""
        fields = {k: v for k, v in data.items() if k != "message"}
        return cls(str(data.get("message", "")), **fields)

    def __reduce__(self) -> tuple[Any, ...]:
        return (BatchItemError.from_dict, (self.to_dict(),))

    def __repr__(self) -> str:
        return (
            f"BatchItemError(index={self.index}, code={self.code!r}, "
            f"category={self.category!r}, message={self.message!r})"
        )


@dataclass(slots=True)
class BatchResult(Generic[T]):
    """A batch's results in input order: each an answer (`T`) or a `BatchItemError`.

    Iterate it, index it, or use `succeeded`/`failed`. `cancelled` is true when the run
    was stopped early; the items it never finished are errors with category
    `"cancelled"`, so a resumed run does them again.

    Example:
        >>> result = BatchResult(["a", BatchItemError("x", index=1, code="c",
        ...                       category="internal", exception_type="E")])
        >>> result.succeeded, [e.index for e in result.failed], result.ok
        (['a'], [1], False)
    """

    items: list[T | BatchItemError]
    cancelled: bool = False
    elapsed: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[T | BatchItemError]:
        return iter(self.items)

    def __getitem__(self, index: int) -> T | BatchItemError:
        return self.items[index]

    @property
    def succeeded(self) -> list[T]:
        """The answers, in input order, without the failures."""
        return [item for item in self.items if not isinstance(item, BatchItemError)]

    @property
    def failed(self) -> list[BatchItemError]:
        """The failures (cancelled items included), in input order."""
        return [item for item in self.items if isinstance(item, BatchItemError)]

    @property
    def ok(self) -> bool:
        """True when every item succeeded."""
        return not self.cancelled and not self.failed

    def raise_for_errors(self) -> Sequence[T]:
        """The answers, or the first failure raised (its original exception when known).

        Example:
            >>> BatchResult(["a", "b"]).raise_for_errors()
            ['a', 'b']
        """
        for item in self.items:
            if isinstance(item, BatchItemError):
                if item.cause is not None and item.category != "cancelled":
                    raise item.cause
                raise item
        return self.succeeded
