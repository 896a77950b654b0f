"""`Messages`: a conversation as a list that keeps its turns in a valid order.

Rules, checked on every change: at most one system message, and only first; a tool
result follows the assistant message whose tool call it answers (only other results of
that same message between them), and answers each call once. Calls still waiting for a
result are fine (the conversation is in progress).

Example:
    >>> from conduit.schema import system, user
    >>> chat = Messages([system("Be brief."), user("Hi")])
    >>> chat.add_new("assistant", "Hello!").text
    'Hello!'
    >>> len(chat), chat.last().role, chat.system_message.text
    (3, 'assistant', 'Be brief.')
    >>> chat.append(system("Late"))
    Traceback (most recent call last):
    ...
    conduit.errors.ValidationError: message 3: a system message may only come first...
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableSequence, Sequence
from typing import Any, overload

import orjson

from conduit.errors import ValidationError
from conduit.schema import Message, Role

__all__ = ["Messages", "check_turn_order"]


def _check_one(before: Sequence[Message], message: Message, index: int) -> None:
    if message.role == "system":
        if index != 0:
            raise ValidationError(f"message {index}: a system message may only come first")
        return
    if message.role != "tool":
        return
    answered: set[str] = set()
    for previous in reversed(before):
        if previous.role == "tool":
            answered.add(previous.tool_call_id or "")
            continue
        if previous.role == "assistant" and previous.tool_calls:
            ids = {call.id for call in previous.tool_calls}
            if message.tool_call_id not in ids:
                raise ValidationError(
                    f"message {index}: tool result {message.tool_call_id!r} answers no call "
                    f"of the assistant message before it (calls: {', '.join(sorted(ids))})"
                )
            if message.tool_call_id in answered:
                raise ValidationError(
                    f"message {index}: tool call {message.tool_call_id!r} is answered twice"
                )
            return
        break
    raise ValidationError(
        f"message {index}: a tool result must follow the assistant message that called "
        f"{message.tool_call_id!r}"
    )


def check_turn_order(messages: Sequence[Message]) -> None:
    """Raise `ValidationError` naming the first message out of order.

    Example:
        >>> from conduit.schema import tool_result, user
        >>> check_turn_order([user("hi"), tool_result("call_1", "42")])
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: message 1: a tool result must follow the assistant ...
    """
    for index, message in enumerate(messages):
        _check_one(messages[:index], message, index)


def _as_message(item: Message | dict[str, Any]) -> Message:
    if isinstance(item, Message):
        return item
    if isinstance(item, dict):
        found: Message = Message.parse(item)
        return found
    raise ValidationError(f"Messages holds Message objects, not {type(item).__name__}")


class Messages(MutableSequence[Message]):
    """A list of `Message` whose turn order is always valid (see the module notes).

    Example:
        >>> from conduit.schema import user
        >>> chat = Messages([user("one")])
        >>> Messages.from_json(chat.to_json()) == chat
        True
    """

    __slots__ = ("_items",)

    def __init__(self, messages: Iterable[Message | dict[str, Any]] = ()) -> None:
        items = [_as_message(m) for m in messages]
        check_turn_order(items)
        self._items: list[Message] = items

    # -- the sequence --------------------------------------------------------------------

    @overload
    def __getitem__(self, index: int) -> Message: ...
    @overload
    def __getitem__(self, index: slice) -> Messages: ...
    def __getitem__(self, index: int | slice) -> Message | Messages:
        if isinstance(index, slice):
            # A slice may start with a tool result: it is a view for reading, not checked.
            out = Messages()
            out._items = self._items[index]
            return out
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Message]:
        return iter(self._items)

    def _replace(self, items: list[Message]) -> None:
        check_turn_order(items)
        self._items = items

    @overload
    def __setitem__(self, index: int, value: Message) -> None: ...
    @overload
    def __setitem__(self, index: slice, value: Iterable[Message]) -> None: ...
    def __setitem__(self, index: int | slice, value: Any) -> None:
        items = list(self._items)
        if isinstance(index, slice):
            items[index] = [_as_message(m) for m in value]
        else:
            items[index] = _as_message(value)
        self._replace(items)

    def __delitem__(self, index: int | slice) -> None:
        items = list(self._items)
        del items[index]
        self._replace(items)

    def insert(self, index: int, value: Message) -> None:
        """Insert a message at `index` (the whole order is checked again)."""
        items = list(self._items)
        items.insert(index, _as_message(value))
        self._replace(items)

    def append(self, value: Message) -> None:
        """Add a message at the end (only the new message is checked)."""
        message = _as_message(value)
        _check_one(self._items, message, len(self._items))
        self._items.append(message)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Messages):
            return self._items == other._items
        if isinstance(other, list):
            return self._items == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Messages({self._items!r})"

    # -- helpers -------------------------------------------------------------------------

    def add_new(self, role: Role, content: Any = "", **fields: Any) -> Message:
        """Make a message from its fields (a `TextMessage`: `content` may also be a
        Pydantic object or a list of them), append it and return it.

        Example:
            >>> Messages().add_new("user", "Hi").role
            'user'
        """
        from conduit.media.messages import TextMessage

        message = TextMessage(role=role, content=content, **fields)
        self.append(message)
        return message

    def last(self, role: Role | None = None) -> Message | None:
        """The last message (of `role`, if given), or None.

        Example:
            >>> from conduit.schema import user, assistant
            >>> Messages([user("a"), assistant("b")]).last("user").text
            'a'
        """
        for message in reversed(self._items):
            if role is None or message.role == role:
                return message
        return None

    def get_by_role(self, role: Role) -> list[Message]:
        """Every message of `role`, in order."""
        return [m for m in self._items if m.role == role]

    def user_messages(self) -> list[Message]:
        """Every user message, in order.

        Example:
            >>> from conduit.schema import assistant, user
            >>> [m.text for m in Messages([user("a"), assistant("b"), user("c")]).user_messages()]
            ['a', 'c']
        """
        return self.get_by_role("user")

    def assistant_messages(self) -> list[Message]:
        """Every assistant message, in order."""
        return self.get_by_role("assistant")

    def system_messages(self) -> list[Message]:
        """The system message in a list (turn order allows one, first), or `[]`."""
        return self.get_by_role("system")

    @property
    def system_message(self) -> Message | None:
        """The system message, or None; setting it replaces it (None removes it)."""
        if self._items and self._items[0].role == "system":
            return self._items[0]
        return None

    @system_message.setter
    def system_message(self, value: Message | str | None) -> None:
        rest = self._items[1:] if self.system_message is not None else list(self._items)
        if value is None:
            self._items = rest
            self._system_changed()
            return
        message = Message(role="system", content=value) if isinstance(value, str) else value
        if message.role != "system":
            raise ValidationError(f"system_message must be a system message, not {message.role}")
        self._items = [message, *rest]
        self._system_changed()

    def _system_changed(self) -> None:
        """Called after `system_message` is set (a subclass that saves itself saves)."""

    def to_list(self) -> list[Message]:
        """A plain list copy (what `chat()` takes)."""
        return list(self._items)

    def to_json(self) -> str:
        """The messages as a JSON array (empty fields are omitted)."""
        data = [m.model_dump(mode="json", exclude_none=True) for m in self._items]
        return orjson.dumps(data).decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> Messages:
        """Messages from `to_json()`'s output (validated, order checked)."""
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ValidationError(f"not JSON: {exc}") from None
        if not isinstance(data, list):
            raise ValidationError("Messages JSON must be an array of messages")
        return cls(data)
