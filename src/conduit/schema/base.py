"""The base class of every schema model: strict about unknown fields, our errors on bad input."""

from __future__ import annotations

from typing import Any, Self

import pydantic
from pydantic import BaseModel, ConfigDict

from conduit.errors import ValidationError

__all__ = ["SchemaModel", "describe_validation_error"]

_VALUE_ERROR_PREFIX = "Value error, "


def _is_branch_tag(part: str | int) -> bool:
    # Unions add the branch they tried to the location (`str`, `list[...]`,
    # `function-after[...]`); they say nothing to the reader.
    return isinstance(part, str) and ("[" in part or part in {"str", "int", "float", "bool"})


def describe_validation_error(model: str, exc: pydantic.ValidationError) -> str:
    """One readable line per problem, e.g. `Message.role: Input should be 'user', ...`.

    When a union field fails in every branch, only the branch that got furthest is
    reported (for `content`, the list's bad block rather than "should be a string").
    """
    found: list[tuple[tuple[str | int, ...], str, bool]] = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not _is_branch_tag(p))
        msg = err["msg"].removeprefix(_VALUE_ERROR_PREFIX)
        found.append((loc, msg, len(loc) != len(err["loc"])))
    parts = []
    for loc, msg, in_union in found:
        deeper = any(len(other) > len(loc) and other[: len(loc)] == loc for other, _, _ in found)
        if in_union and deeper:
            continue
        where = ".".join(str(p) for p in loc)
        parts.append(f"{model}.{where}: {msg}" if where else f"{model}: {msg}")
    return "; ".join(dict.fromkeys(parts))


class SchemaModel(BaseModel):
    """Pydantic base that raises `conduit.errors.ValidationError` for bad input.

    Unknown fields are rejected so a typo (`max_token=`) fails loudly instead of
    being ignored. The constructor and the `model_validate*` class methods all raise
    Conduit's `ValidationError` (also a `ValueError`), never pydantic's.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=False, validate_assignment=False, defer_build=True
    )

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except pydantic.ValidationError as exc:
            raise ValidationError(describe_validation_error(type(self).__name__, exc)) from None

    # Tell pydantic this is still its own __init__: nested models are then validated in
    # pydantic-core directly (fast, and one error with full locations) instead of
    # calling this method once per nested dict.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Self:
        try:
            return super().model_validate(obj, **kwargs)
        except pydantic.ValidationError as exc:
            raise ValidationError(describe_validation_error(cls.__name__, exc)) from None

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **kwargs: Any) -> Self:
        try:
            return super().model_validate_json(json_data, **kwargs)
        except pydantic.ValidationError as exc:
            raise ValidationError(describe_validation_error(cls.__name__, exc)) from None

    @classmethod
    def model_validate_strings(cls, obj: Any, **kwargs: Any) -> Self:
        try:
            return super().model_validate_strings(obj, **kwargs)
        except pydantic.ValidationError as exc:
            raise ValidationError(describe_validation_error(cls.__name__, exc)) from None

    @classmethod
    def parse(cls, data: Any) -> Any:
        """Validate a dict (or instance) into this model, raising Conduit's `ValidationError`."""
        return cls.model_validate(data)
