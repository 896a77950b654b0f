"""The dashboard's "new key" form, read and checked on the server: every field on its
own, so each error can be shown next to its field, and nothing is saved unless all of
them are good.

- `name`: text (optional, at most 100 characters);
- `models`: model groups from the gateway's config (none ticked: all of them);
- `max_budget`: US dollars, finite and >= 0 (`conduit.core.checks.check_money`);
- `budget_window`: a length such as `30d` (`check_window`; empty: for ever);
- `rpm`, `tpm`: positive whole numbers (empty: no limit);
- `expires`: a date (`2030-01-31`, UTC midnight), a date and time (`2030-01-31T12:00`,
  UTC) or a length from now (`30d`); it must be in the future (empty: never).

Example:
    >>> fields, errors = read_key_form({"max_budget": "-1", "rpm": "60"}, ["chat"], now=0.0)
    >>> errors["max_budget"]
    'must be a finite number of US dollars >= 0, not -1.0'
    >>> fields["rpm"]
    60
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from conduit.core.checks import check_money, check_window
from conduit.errors import ValidationError

__all__ = ["FORM_FIELDS", "read_key_form"]

FORM_FIELDS = ("name", "models", "max_budget", "budget_window", "rpm", "tpm", "expires")
"""The new-key form's fields, in the order they are shown."""

MAX_NAME = 100


def _message(exc: ValidationError, name: str) -> str:
    # The spine's messages start with the argument's name; the page shows it beside the
    # field, so the name is dropped.
    text = exc.message
    return text[len(name) + 1 :] if text.startswith(name + " ") else text


def _whole(raw: str, name: str) -> int:
    try:
        number = float(raw)
    except ValueError:
        raise ValidationError(f"{name} must be a positive whole number, not {raw!r}") from None
    if not math.isfinite(number) or number <= 0 or not number.is_integer():
        raise ValidationError(f"{name} must be a positive whole number, not {raw!r}")
    return int(number)


def _expiry(raw: str, now: float) -> float:
    if raw[:1].isdigit() and "-" in raw:
        try:
            when = datetime.fromisoformat(raw)
        except ValueError:
            raise ValidationError(
                f"expires must be a date such as 2030-01-31, a time such as "
                f"2030-01-31T12:00 (UTC) or a length such as 30d, not {raw!r}"
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        at = when.timestamp()
    else:
        seconds = check_window(raw, "expires")
        at = now + (seconds or 0.0)
    if at <= now:
        raise ValidationError(f"expires must be in the future, not {raw!r}")
    return at


def read_key_form(
    form: Mapping[str, Any], models: Sequence[str], *, now: float
) -> tuple[dict[str, Any], dict[str, str]]:
    """The key's fields (Conduit's names, as `KeyAdmin.create` takes them) and the errors,
    field by field (see the module's text); `form` maps a field to its text (`models`
    to a list of names); `models` are the config's groups; `now` is Unix seconds.

    Example:
        >>> read_key_form({"models": ["gpt-9"]}, ["chat"], now=0.0)[1]
        {'models': "'gpt-9' is not a model group of this gateway (chat)"}
    """
    fields: dict[str, Any] = {}
    errors: dict[str, str] = {}

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    name = text("name")
    if len(name) > MAX_NAME:
        errors["name"] = f"at most {MAX_NAME} characters"
    fields["name"] = name or None

    chosen = form.get("models") or []
    if isinstance(chosen, str):
        chosen = [chosen]
    unknown = [m for m in chosen if m not in models]
    if unknown:
        errors["models"] = (
            f"{unknown[0]!r} is not a model group of this gateway ({', '.join(models)})"
        )
    fields["models"] = tuple(dict.fromkeys(m for m in chosen if m in models))

    def checked(name: str, check: Any) -> None:
        raw = text(name)
        if not raw:
            fields[name] = None
            return
        try:
            fields[name] = check(raw)
        except ValidationError as exc:
            errors[name] = _message(exc, name)

    def money(raw: str) -> float:
        try:
            number = float(raw)
        except ValueError:
            raise ValidationError(
                f"max_budget must be a finite number of US dollars >= 0, not {raw!r}"
            ) from None
        return check_money(number, "max_budget")

    def window(raw: str) -> str:
        check_window(raw, "budget_window")
        return raw

    checked("max_budget", money)
    checked("budget_window", window)
    checked("rpm", lambda raw: _whole(raw, "rpm"))
    checked("tpm", lambda raw: _whole(raw, "tpm"))
    checked("expires", lambda raw: _expiry(raw, now))
    fields["expires_at"] = fields.pop("expires", None)
    return fields, errors
