"""Messages: who said what, in text or content blocks, with tool calls and results."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from pydantic import Field, model_validator

from conduit.errors import ValidationError
from conduit.schema.base import SchemaModel
from conduit.schema.content import ContentBlock, TextBlock
from conduit.schema.tools import ToolCall

__all__ = [
    "Message",
    "MessagesInput",
    "Role",
    "assistant",
    "normalize_messages",
    "system",
    "tool_result",
    "user",
]

Role = Literal["system", "user", "assistant", "tool"]


class Message(SchemaModel):
    """One turn of a conversation.

    `content` is a string or a list of content blocks; system and user messages need
    some. An assistant message may carry `tool_calls` and may be empty (models do give
    empty answers); a `tool` message answers one call and must name it in `tool_call_id`.

    Example:
        >>> Message(role="user", content="Hi").text
        'Hi'
        >>> Message(role="tool", content="42", tool_call_id="call_1").role
        'tool'
    """

    role: Role
    content: str | list[ContentBlock] = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None

    @model_validator(mode="after")
    def _check_shape(self) -> Message:
        empty = self.content == "" or self.content == []
        if self.role == "tool":
            if not self.tool_call_id:
                raise ValueError(
                    "a tool message needs tool_call_id (the id of the call it answers)"
                )
        elif self.tool_call_id is not None:
            raise ValueError(f"tool_call_id is only for tool messages, not {self.role!r}")
        if self.tool_calls and self.role != "assistant":
            raise ValueError("only assistant messages carry tool_calls")
        # Assistant turns may be empty: models do answer with nothing (cut off by
        # max_tokens, or only tool calls), and `Response.to_message()` must not fail then.
        if empty and self.role in ("system", "user"):
            raise ValueError(f"a {self.role} message needs content")
        return self

    @property
    def text(self) -> str:
        """The message's text: the string, or its text blocks joined."""
        if isinstance(self.content, str):
            return self.content
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))

    @property
    def blocks(self) -> list[ContentBlock]:
        """The content as a list of blocks (a string becomes one text block)."""
        if isinstance(self.content, str):
            return [TextBlock(text=self.content)] if self.content else []
        return list(self.content)


def _content(parts: tuple[str | ContentBlock, ...]) -> str | list[ContentBlock]:
    if len(parts) == 1 and isinstance(parts[0], str):
        return parts[0]
    return [TextBlock(text=p) if isinstance(p, str) else p for p in parts]


def system(text: str) -> Message:
    """A system message.

    Example:
        >>> system("Be brief.").role
        'system'
    """
    return Message(role="system", content=text)


def user(*parts: str | ContentBlock) -> Message:
    """A user message from text and/or content blocks.

    Example:
        >>> from conduit.schema import ImageBlock
        >>> user("What is in this picture?", ImageBlock(url="https://x.test/a.png")).blocks[1].type
        'image'
    """
    if not parts:
        raise ValidationError("user() needs some content")
    if len(parts) == 1 and isinstance(parts[0], str):
        # The common case, on every call's path: validating a dict skips a Python-level
        # __init__ (1.1 µs instead of 2.2 µs).
        return Message.model_validate({"role": "user", "content": parts[0]})
    return Message(role="user", content=_content(parts))


def assistant(*parts: str | ContentBlock, tool_calls: Sequence[ToolCall] = ()) -> Message:
    """An assistant message (for few-shot examples or replaying history).

    Example:
        >>> assistant("Paris.").text
        'Paris.'
    """
    content: str | list[ContentBlock] = _content(parts) if parts else ""
    return Message(role="assistant", content=content, tool_calls=list(tool_calls))


def tool_result(tool_call_id: str, content: str) -> Message:
    """The result of a tool call, sent back to the model.

    Example:
        >>> tool_result("call_1", "22°C").tool_call_id
        'call_1'
    """
    return Message(role="tool", content=content, tool_call_id=tool_call_id)


MessagesInput = str | Message | Mapping[str, Any] | Iterable[Message | Mapping[str, Any] | str]


def normalize_messages(messages: MessagesInput) -> list[Message]:
    """Turn what users pass into a list of `Message`.

    Accepts a string (one user message), a `Message`, a dict in OpenAI shape, or a list of
    those. Raises `ValidationError` for anything else or an empty list.

    Example:
        >>> [m.role for m in normalize_messages([{"role": "system", "content": "Be brief"}, "hi"])]
        ['system', 'user']
    """
    if isinstance(messages, str):
        return [user(messages)]
    if isinstance(messages, Message):
        return [messages]
    if isinstance(messages, Mapping):
        return [Message.parse(dict(messages))]
    out: list[Message] = []
    try:
        items = list(messages)
    except TypeError:
        raise ValidationError(
            f"messages must be a string, a Message, a dict or a list of them, not "
            f"{type(messages).__name__}"
        ) from None
    for item in items:
        if isinstance(item, Message):
            out.append(item)
        elif isinstance(item, str):
            out.append(user(item))
        elif isinstance(item, Mapping):
            out.append(Message.parse(dict(item)))
        else:
            raise ValidationError(
                f"a message must be a Message, dict or str, not {type(item).__name__}"
            )
    if not out:
        raise ValidationError("messages is empty; give at least one message")
    return out
