"""Per-call options shared by every provider."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from conduit.errors import ValidationError
from conduit.schema.base import SchemaModel
from conduit.schema.tools import Tool

__all__ = ["ChatOptions", "ResponseFormat", "ToolChoice"]

ToolChoice = Literal["auto", "none", "required"] | str


class ResponseFormat(SchemaModel):
    """Ask for JSON: any JSON object (`json_object`) or JSON matching a schema (`json_schema`).

    Example:
        >>> ResponseFormat.from_schema("person", {"type": "object"}).type
        'json_schema'
    """

    type: Literal["text", "json_object", "json_schema"] = "json_object"
    name: str | None = None
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None

    model_config = {"populate_by_name": True, "extra": "forbid"}

    @model_validator(mode="after")
    def _schema_needed(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("type 'json_schema' needs schema=")
        return self

    @classmethod
    def from_schema(
        cls, name: str, schema: dict[str, Any], *, strict: bool | None = True
    ) -> ResponseFormat:
        """A `json_schema` format with a name and a JSON Schema."""
        return cls(type="json_schema", name=name, json_schema=schema, strict=strict)


class ChatOptions(SchemaModel):
    """Generation settings; `None` means "the provider's default".

    `extra` passes provider-specific parameters through unchanged (merged into the
    request body last, so it can also override).

    Example:
        >>> ChatOptions(temperature=0, max_tokens=50, extra={"logprobs": True}).max_tokens
        50
    """

    # Options are values: a call never changes them, `merged()` makes a new one. Frozen,
    # one shared default serves every call that passes none (less garbage per call).
    model_config = ConfigDict(frozen=True)

    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, gt=0)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stop: list[str] | None = None
    seed: int | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    response_format: ResponseFormat | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _stop_as_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("stop"), str):
            data = {**data, "stop": [data["stop"]]}
        return data

    def __setattr__(self, name: str, value: Any) -> None:
        raise ValidationError(
            f"ChatOptions are frozen; make a changed copy with options.merged({name}=...)"
        )

    def merged(self, **overrides: Any) -> ChatOptions:
        """A copy with the given fields replaced (validated)."""
        if not overrides:
            return self
        return ChatOptions(**{**self.model_dump(exclude_unset=True), **overrides})
