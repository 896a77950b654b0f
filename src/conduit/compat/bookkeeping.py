"""The bookkeeping of one `acompletion()` call: its parameters read once, budgets checked
before it, callbacks, spend and cost recorded after it.

Example:
    >>> Call.__name__
    'Call'
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any

from conduit.catalog import parse_model_ref
from conduit.catalog.registry import cost_of
from conduit.compat import config
from conduit.compat.custom_logger import notify_failure, notify_success
from conduit.compat.exceptions import BudgetExceededError
from conduit.compat.request import to_messages
from conduit.errors import ConduitError
from conduit.schema import Response

__all__ = ["Call"]


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
        self.budget_names = (
            extra.get("user") or self.metadata.get("user"),
            self.metadata.get("user_api_key"),
            tuple(tags),
        )
        self.started = time.perf_counter()
        self.started_at = datetime.now() if settings.has_callbacks else None
        self.log_kwargs: dict[str, Any] | None = None

    def kwargs_for_logs(self, ref: str) -> dict[str, Any]:
        if self.log_kwargs is None or self.log_kwargs["model"] != ref:
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
        return self.log_kwargs

    async def succeeded(self, ref: str, response: Response, answer: Any) -> float | None:
        try:
            cost = cost_of(ref, response.usage)
        except ConduitError:
            cost = None
        answer._hidden_params = {
            "response_cost": cost,
            "model_ref": ref,
            "custom_llm_provider": parse_model_ref(ref).provider,
        }
        answer._response_ms = (time.perf_counter() - self.started) * 1000
        budgets = self.settings.budgets
        user, key, tags = self.budget_names
        if budgets is not None:
            await budgets.record(cost, model=ref, user=user, key=key, tags=tags)
        if self.settings.max_budget is not None:
            from conduit.compat.budgeting import process_spend

            process_spend.add(cost)
        s = self.settings
        if s.has_callbacks:
            kw = self.kwargs_for_logs(ref)
            kw["response_cost"] = cost
            end = datetime.now()
            kw["start_time"], kw["end_time"] = self.started_at, end
            assert self.started_at is not None
            await notify_success(
                s.success_callback,
                s.callbacks,
                kw,
                answer,
                self.started_at,
                end,
                is_async=self.is_async,
            )
        return cost

    async def failed(self, ref: str, exc: BaseException) -> None:
        s = self.settings
        if s.has_callbacks:
            kw = self.kwargs_for_logs(ref)
            end = datetime.now()
            kw["start_time"], kw["end_time"] = self.started_at, end
            assert self.started_at is not None
            await notify_failure(
                s.failure_callback,
                s.callbacks,
                kw,
                exc,
                self.started_at,
                end,
                is_async=self.is_async,
            )

    async def check_budgets(self) -> None:
        s = self.settings
        if s.max_budget is not None:
            from conduit.compat.budgeting import process_spend

            if process_spend.total >= s.max_budget:
                raise BudgetExceededError(process_spend.total, s.max_budget)
        if s.budgets is not None:
            user, key, tags = self.budget_names
            await s.budgets.check(user=user, key=key, tags=tags)
