"""The base class of every schema model: strict about unknown fields, our errors on bad input."""

from __future__ import annotations

from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict

from conduit.errors import ValidationError


def describe_validation_error(model: str, exc: pydantic.ValidationError) -> str:
    """One readable line per problem, e.g. `Message.role: Input should be 'user', ...`."""
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "value"
        parts.append(f"{model}.{where}: {err['msg']}")
    return "; ".join(parts)


class SchemaModel(BaseModel):
    """Pydantic base that raises `conduit.errors.ValidationError` for bad input.

    Unknown fields are rejected so a typo (`max_token=`) fails loudly instead of
    being ignored.
    """

    model_config = ConfigDict(extra="forbid", frozen=False, validate_assignment=False)

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except pydantic.ValidationError as exc:
            raise ValidationError(describe_validation_error(type(self).__name__, exc)) from None

    @classmethod
    def parse(cls, data: Any) -> Any:
        """Validate a dict (or instance) into this model, raising Conduit's `ValidationError`."""
        try:
            return cls.model_validate(data)
        except pydantic.ValidationError as exc:
            raise ValidationError(describe_validation_error(cls.__name__, exc)) from None
