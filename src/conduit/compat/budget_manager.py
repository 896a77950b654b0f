"""LiteLLM's `BudgetManager`: per-user budgets a program checks and charges itself,
kept by Conduit's spend stores (`conduit.storage.spend`, via `conduit.compat.Budgets`).

`create_budget(total_budget, user, duration)` sets a user's budget (`duration`:
"daily", "weekly", "monthly", "yearly" or LiteLLM's `"30d"`-style windows);
`update_cost(user, completion_obj=...)` charges an answer's cost (the one cost function,
`completion_cost`); `get_current_cost(user)`, `projected_cost(model, messages, user)`,
`get_total_budget(user)`, `is_valid_user`, `get_users`, `reset_cost`. With
`client_type="local"` (the default) `save_data()` writes `user_cost.json` as LiteLLM's
does; `"hosted"` is not provided.

Example:
    >>> import conduit.compat as litellm
    >>> manager = BudgetManager(project_name="demo")
    >>> _ = manager.create_budget(total_budget=0.01, user="alice")
    >>> r = litellm.completion(model="gpt-4o-mini", messages="Hi", mock_response="Hello")
    >>> manager.update_cost(completion_obj=r, user="alice")
    >>> manager.get_current_cost("alice") == litellm.completion_cost(r)
    True
    >>> manager.get_current_cost("alice") < manager.get_total_budget("alice")
    True
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from conduit.compat.budgeting import Budgets
from conduit.core.sync import run_sync
from conduit.errors import ValidationError

__all__ = ["BudgetManager"]

_DURATIONS = {"daily": "1d", "weekly": "7d", "monthly": "30d", "yearly": "365d"}


class BudgetManager:
    """Per-user budgets over a spend store (`store`: a `SpendStore` or URL for
    `conduit.storage.open_spend_store`; memory by default).

    Example:
        >>> BudgetManager("p").get_users()
        []
    """

    def __init__(
        self,
        project_name: str,
        client_type: str = "local",
        api_base: str | None = None,
        headers: dict[str, str] | None = None,
        store: Any = None,
    ) -> None:
        if client_type not in ("local", "hosted"):
            raise ValidationError(f"client_type is 'local' or 'hosted', not {client_type!r}")
        if client_type == "hosted":
            raise ValidationError("BudgetManager(client_type='hosted') is not provided")
        self.project_name = project_name
        self.client_type = client_type
        self.budgets = Budgets(store)
        self.user_dict: dict[str, dict[str, Any]] = {}

    def create_budget(
        self,
        total_budget: float,
        user: str,
        duration: str | None = None,
        created_at: float | None = None,
    ) -> dict[str, Any]:
        """Allow `user` `total_budget` USD (per `duration`, else for ever); returns the
        user's entry (`total_budget`, `duration`, `created_at`: now unless given).

        Example:
            >>> BudgetManager("demo").create_budget(1.0, "bob", created_at=5.0)["created_at"]
            5.0
        """
        window = _DURATIONS.get(duration or "", duration)
        self.budgets.set("user", user, total_budget, window=window)
        when = time.time() if created_at is None else float(created_at)
        self.user_dict[user] = {
            "total_budget": total_budget,
            "duration": duration,
            "created_at": when,
            "last_updated_at": when,
            "model_cost": {},
        }
        return self.user_dict[user]

    def _spent(self, user: str) -> float:
        spent = float(run_sync(self.budgets.spent("user", user)))
        return spent - float(self.user_dict.get(user, {}).get("reset_at", 0.0))

    def get_total_budget(self, user: str) -> float:
        """The user's budget in USD."""
        return float(self._entry(user)["total_budget"])

    def get_current_cost(self, user: str) -> float:
        """USD the user has spent in the budget's window."""
        self._entry(user)
        return self._spent(user)

    def get_model_cost(self, user: str) -> dict[str, float]:
        """USD the user has spent per model."""
        return dict(self._entry(user).get("model_cost", {}))

    def projected_cost(self, model: str, messages: Any, user: str) -> float:
        """What the user will have spent after a call with `messages` (its prompt only)."""
        from conduit.compat.catalog import completion_cost

        return self.get_current_cost(user) + completion_cost(model=model, messages=messages)

    def is_valid_user(self, user: str) -> bool:
        """Whether the user has a budget."""
        return user in self.user_dict

    def get_users(self) -> list[str]:
        """Every user with a budget."""
        return list(self.user_dict)

    def update_cost(
        self,
        user: str,
        completion_obj: Any = None,
        model: str | None = None,
        input_text: str | None = None,
        output_text: str | None = None,
    ) -> None:
        """Charge the user for an answer (`completion_obj`) or for `model` with
        `input_text` and `output_text`; the spend store keeps it."""
        from conduit.compat.catalog import completion_cost

        entry = self._entry(user)
        if completion_obj is not None:
            cost = completion_cost(completion_response=completion_obj)
            model = model or completion_obj.get("model")
        elif model is not None:
            cost = completion_cost(
                model=model, prompt=input_text or "", completion=output_text or ""
            )
        else:
            raise ValidationError("update_cost() needs completion_obj= or model=")
        limits = self.budgets.applying(user=user)
        # A charge after the fact: hold nothing, then settle at the real cost.
        held = run_sync(self.budgets.store.reserve(limits, 0.0))
        run_sync(self.budgets.store.settle(held, cost))
        per_model = entry.setdefault("model_cost", {})
        per_model[model or "unknown"] = per_model.get(model or "unknown", 0.0) + cost

    def reset_cost(self, user: str) -> None:
        """Start the user's spend again from zero (the same budget)."""
        entry = self._entry(user)
        entry["reset_at"] = run_sync(self.budgets.spent("user", user))  # counted from here
        entry["model_cost"] = {}

    def save_data(self) -> dict[str, str]:
        """Write `user_cost.json` (LiteLLM's local file) and return a status."""
        data = {
            user: {**entry, "current_cost": self._spent(user)}
            for user, entry in self.user_dict.items()
        }
        Path("user_cost.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
        return {"status": "success"}

    def _entry(self, user: str) -> dict[str, Any]:
        found = self.user_dict.get(user)
        if found is None:
            raise ValidationError(f"user {user!r} has no budget; create_budget() first")
        return found
