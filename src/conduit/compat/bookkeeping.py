"""The LiteLLM side of one `acompletion()` call: its parameters read once, and after it
the answer's `_hidden_params` and the callbacks, fed from the core result.

Nothing here decides anything about the call: the cost is the answer's own
(`conduit.catalog.response_cost`: `Response.cost`, else the catalog's price), where it
went is the router's `Response.metadata["route"]`, and budgets are interceptors around
the model (`conduit.compat.budgeting`).

Example:
    >>> from conduit.compat import config
    >>> call = Call({"messages": "Hi", "metadata": {"tags": ["a"]}}, {"user": "bob"},
    ...             config.snapshot(), is_async=True)
    >>> call.budget_names
    ('bob', None, ('a',))
"""

from __future__ import annotations

import contextlib
import time
import uuid
from datetime import datetime
from typing import Any

from conduit.catalog import parse_model_ref, response_cost
from conduit.compat import config
from conduit.compat.custom_logger import notify_failure, notify_success
from conduit.compat.request import to_messages
from conduit.errors import ConduitError
from conduit.schema import Response

__all__ = ["Call", "hidden_params"]


def hidden_params(response: Response, ref: str, *, routed: bool) -> dict[str, Any]:
    """LiteLLM's `_hidden_params` for an answer: `response_cost` (USD or None),
    `model_ref` and `custom_llm_provider` of the model that answered and, for a router
    call, `model_id` (the deployment), `model_group` and `fallback_from`.

    Example:
        >>> from conduit.schema import Response
        >>> hidden_params(Response(cost=0.5), "openai/gpt-4o", routed=False)
        {'response_cost': 0.5, 'model_ref': 'openai/gpt-4o', 'custom_llm_provider': 'openai'}
    """
    route = response.metadata.get("route") or {}
    answered = route.get("model") or ref
    out: dict[str, Any] = {
        "response_cost": response_cost(response, answered),
        "model_ref": answered,
        "custom_llm_provider": parse_model_ref(answered).provider,
    }
    if "cache_hit" in response.metadata:
        out["cache_hit"] = bool(response.metadata["cache_hit"])
    if routed and route:
        out["model_id"] = route["deployment"]
        out["model_group"] = route["group"]
        if route["group"] != route["requested"]:
            out["fallback_from"] = route["requested"]
    return out


class Call:
    """What one `acompletion()` needs after its inputs are read; built once per call."""

    __slots__ = (
        "budget_names",
        "extra",
        "is_async",
        "log_kwargs",
        "messages",
        "metadata",
        "params",
        "settings",
        "started",
        "started_at",
    )

    def __init__(
        self,
        params: dict[str, Any],
        extra: dict[str, Any],
        settings: config.Settings,
        is_async: bool,
    ) -> None:
        self.params = params
        self.extra = extra
        self.settings = settings
        self.is_async = is_async
        self.messages = to_messages(params["messages"])
        self.metadata: dict[str, Any] = dict(params.get("metadata") or {})
        tags = self.metadata.get("tags") or ()
        self.budget_names: tuple[str | None, str | None, tuple[str, ...]] = (
            extra.get("user") or self.metadata.get("user"),
            self.metadata.get("user_api_key"),
            tuple(tags),
        )
        self.started = time.perf_counter()
        self.started_at = datetime.now() if settings.has_callbacks else None
        self.log_kwargs: dict[str, Any] | None = None

    def kwargs_for_logs(self, ref: str) -> dict[str, Any]:
        """The `kwargs` LiteLLM's callbacks get (made once per call)."""
        if self.log_kwargs is None:
            self.log_kwargs = {
                "model": ref,
                "messages": self.params["messages"],
                "optional_params": {
                    **self.extra,
                    **{
                        k: v
                        for k, v in self.params.items()
                        if k not in ("messages", "metadata") and v is not None
                    },
                },
                "litellm_params": {
                    "metadata": self.metadata,
                    "api_base": self.params.get("api_base"),
                },
                "metadata": self.metadata,
                "stream": bool(self.params.get("stream")),
                "call_type": "acompletion" if self.is_async else "completion",
                "litellm_call_id": str(uuid.uuid4()),
                "response_cost": None,
            }
        self.log_kwargs["model"] = ref
        return self.log_kwargs

    def standard_log(
        self,
        kw: dict[str, Any],
        status: str,
        answer: Any,
        exc: BaseException | None,
        provider: str | None,
        end: datetime,
    ) -> dict[str, Any]:
        """LiteLLM's `standard_logging_object` of this call (`StandardLoggingPayload`)."""
        ref = str(kw["model"])
        name = ref
        if "/" in ref:
            with contextlib.suppress(ConduitError):
                parsed = parse_model_ref(ref)
                name, provider = parsed.name, provider or parsed.provider
        usage = getattr(answer, "usage", None)
        started = self.started_at or end
        return {
            "id": getattr(answer, "id", None) or kw["litellm_call_id"],
            "litellm_call_id": kw["litellm_call_id"],
            "call_type": kw["call_type"],
            "status": status,
            "response_cost": kw["response_cost"] or 0.0,
            "model": name,
            "model_group": self.metadata.get("model_group") or "",
            "custom_llm_provider": provider,
            "prompt_tokens": getattr(usage, "prompt_tokens", 0) or 0,
            "completion_tokens": getattr(usage, "completion_tokens", 0) or 0,
            "total_tokens": getattr(usage, "total_tokens", 0) or 0,
            "startTime": started.timestamp(),
            "endTime": end.timestamp(),
            "response_time": (end - started).total_seconds(),
            "metadata": self.metadata,
            "messages": kw["messages"],
            "response": answer.model_dump() if hasattr(answer, "model_dump") else None,
            "stream": kw["stream"],
            "cache_hit": bool(getattr(answer, "_hidden_params", {}).get("cache_hit")),
            "error_str": None if exc is None else str(exc),
        }

    async def succeeded(self, ref: str, response: Response, answer: Any, *, routed: bool) -> None:
        """Fill the answer's `_hidden_params` from the core result; tell the callbacks."""
        hidden = hidden_params(response, ref, routed=routed)
        answer._hidden_params.update(hidden)
        answer._response_ms = (time.perf_counter() - self.started) * 1000
        s = self.settings
        if s.has_callbacks:
            kw = self.kwargs_for_logs(hidden["model_ref"])
            kw["response_cost"] = hidden["response_cost"]
            if "model_group" in hidden:
                self.metadata["model_group"] = hidden["model_group"]
                self.metadata["deployment"] = hidden["model_ref"]
            end = datetime.now()
            kw["start_time"], kw["end_time"] = self.started_at, end
            assert self.started_at is not None
            kw["standard_logging_object"] = self.standard_log(
                kw, "success", answer, None, hidden.get("custom_llm_provider"), end
            )
            await notify_success(
                s.success_callback,
                s.callbacks,
                kw,
                answer,
                self.started_at,
                end,
                is_async=self.is_async,
            )

    async def failed(self, ref: str, exc: BaseException) -> None:
        """Tell the failure callbacks."""
        s = self.settings
        if s.has_callbacks:
            kw = self.kwargs_for_logs(ref)
            end = datetime.now()
            kw["start_time"], kw["end_time"] = self.started_at, end
            assert self.started_at is not None
            kw["response_cost"] = 0.0  # LiteLLM's: a failed call costs nothing
            kw["standard_logging_object"] = self.standard_log(kw, "failure", None, exc, None, end)
            await notify_failure(
                s.failure_callback,
                s.callbacks,
                kw,
                exc,
                self.started_at,
                end,
                is_async=self.is_async,
            )
