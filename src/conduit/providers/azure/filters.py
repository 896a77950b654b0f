"""Azure OpenAI's content filter → `ContentFilterError` with the categories it flagged.

A filtered prompt is an HTTP 400 whose error has `code: "content_filter"` and
`innererror.content_filter_result`; a filtered answer is a 200 whose choice has
`finish_reason: "content_filter"` and `content_filter_results`
(https://learn.microsoft.com/azure/ai-services/openai/concepts/content-filter). Either
becomes a `ContentFilterError` whose `categories` maps each flagged category (`hate`,
`sexual`, `violence`, `self_harm`, `jailbreak`, ...) to Azure's verdict for it.

Example:
    >>> exc = filter_error({"violence": {"filtered": True, "severity": "medium"},
    ...                     "hate": {"filtered": False, "severity": "safe"}},
    ...                    where="answer", provider="azure")
    >>> exc.categories
    {'violence': {'filtered': True, 'severity': 'medium'}}
"""

from __future__ import annotations

from typing import Any

from conduit import _json
from conduit.errors import ContentFilterError, ProviderError

__all__ = ["filter_error", "flagged", "refine_filter_error"]


def flagged(results: Any) -> dict[str, dict[str, Any]]:
    """The categories Azure filtered (`filtered: true`) from a filter-results object."""
    if not isinstance(results, dict):
        return {}
    return {
        name: verdict
        for name, verdict in results.items()
        if isinstance(verdict, dict) and verdict.get("filtered")
    }


def filter_error(results: Any, *, where: str, provider: str, **fields: Any) -> FilteredError:
    """A `ContentFilterError` naming the flagged categories of `results`."""
    categories = flagged(results)
    names = ", ".join(sorted(categories)) or "unspecified categories"
    return FilteredError(
        f"Azure's content filter blocked the {where} ({names})",
        categories=categories,
        provider=provider,
        **fields,
    )


class FilteredError(ContentFilterError):
    """A `ContentFilterError` that carries Azure's flagged `categories`."""

    def __init__(
        self, message: str, *, categories: dict[str, Any] | None = None, **fields: Any
    ) -> None:
        self.categories: dict[str, Any] = dict(categories or {})
        super().__init__(message, **fields)

    def __reduce__(self) -> tuple[Any, ...]:
        fields = {
            "provider": self.provider,
            "status_code": self.status_code,
            "request_id": self.request_id,
            "body": self.body,
            "categories": self.categories,
        }
        return (_rebuild, (self.message, fields))


def _rebuild(message: str, fields: dict[str, Any]) -> FilteredError:
    return FilteredError(message, **fields)


def refine_filter_error(exc: ProviderError, content: bytes) -> ProviderError:
    """`exc` as a `FilteredError` when its body is Azure's filtered-prompt error."""
    try:
        body = _json.loads(content) if content else None
    except _json.JSONDecodeError:
        return exc
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or error.get("code") != "content_filter":
        return exc
    inner = error.get("innererror") or {}
    return filter_error(
        inner.get("content_filter_result") if isinstance(inner, dict) else None,
        where="prompt",
        provider=exc.provider or "azure",
        status_code=exc.status_code,
        request_id=exc.request_id,
        body=exc.body,
    )
