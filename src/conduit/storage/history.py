"""Conversation history's data and protocol: `Conversation`, `StoredMessage`, `MessageStore`.

A `MessageStore` keeps conversations (id, title, created and updated times, and the call
options they go on with: `create(options=...)`, `set_options`) and their messages in
order. Every message appended from a `Response` keeps the model that wrote
it, its usage and its cost. Backends: `SQLiteMessageStore` (the default, one file in the
user data folder) and `PostgresMessageStore`; both pass one behaviour suite.

Example:
    >>> from conduit.schema import Response, TextBlock, Usage
    >>> answer = Response(model="gpt-4o", provider="openai", usage=Usage(input_tokens=3),
    ...                   content=[TextBlock(text="Hi")], cost=0.01)
    >>> row = message_row(answer)
    >>> row.role, row.text, row.model, row.cost
    ('assistant', 'Hi', 'gpt-4o', 0.01)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from conduit.errors import ValidationError
from conduit.schema import Message, Response, Usage
from conduit.storage.migrations import StorageError

__all__ = [
    "Conversation",
    "ConversationNotFoundError",
    "MessageRow",
    "MessageStore",
    "SearchHit",
    "StoredMessage",
    "check_items",
    "cutoff_time",
    "like_pattern",
    "message_row",
    "options_column",
    "options_from_column",
    "stored_message",
    "to_datetime",
]


class ConversationNotFoundError(StorageError):
    """No conversation has this id."""

    hint = "list the conversations with `conduit history list`"


def to_datetime(epoch: float) -> datetime:
    """Seconds since the epoch as an aware UTC datetime.

    Example:
        >>> to_datetime(0).isoformat()
        '1970-01-01T00:00:00+00:00'
    """
    return datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True, slots=True)
class Conversation:
    """One conversation's header: its id, title, times, message count and the call
    options it goes on with (`temperature`, `max_tokens`, ... as given to `chat`; None
    when it has none, as for every conversation stored before options were kept).

    Example:
        >>> Conversation("c1", "Trip", to_datetime(0), to_datetime(60), 2).title
        'Trip'
        >>> Conversation("c1", "", to_datetime(0), to_datetime(0), 0, {"seed": 7}).options
        {'seed': 7}
    """

    id: str
    title: str
    created_at: datetime
    updated_at: datetime
    message_count: int
    options: dict[str, Any] | None = field(default=None, hash=False)


def options_column(options: Mapping[str, Any] | None) -> str | None:
    """How a conversation's options are stored: JSON text, NULL (None) when there are
    none; `ValidationError` when they are not JSON data.

    Example:
        >>> options_column({"temperature": 0.3, "stop": ["END"]})
        '{"temperature": 0.3, "stop": ["END"]}'
        >>> options_column({}) is None
        True
    """
    if not options:
        return None
    if not isinstance(options, Mapping):
        raise ValidationError(f"options must be a mapping, not {type(options).__name__}")
    try:
        return json.dumps(dict(options), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"options must be JSON data: {exc}") from None


def options_from_column(value: str | None) -> dict[str, Any] | None:
    """A stored options column read back (None for NULL, and for text that is not a
    JSON object).

    Example:
        >>> options_from_column('{"seed": 7}'), options_from_column(None)
        ({'seed': 7}, None)
    """
    if value is None:
        return None
    try:
        found = json.loads(value)
    except ValueError:
        return None
    return found if isinstance(found, dict) and found else None


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message as stored: its place in the conversation, and for answers the model,
    provider, usage and cost (USD, None when unknown).

    Example:
        >>> from conduit.schema import user
        >>> StoredMessage("c1", 0, user("hi"), to_datetime(0)).message.text
        'hi'
    """

    conversation_id: str
    position: int
    message: Message
    created_at: datetime
    model: str | None = None
    provider: str | None = None
    usage: Usage | None = None
    cost: float | None = None


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A match of `MessageStore.search`: the message at `position` (None when the title
    matched) and its text.

    Example:
        >>> SearchHit("c1", "Trip", None, "Trip").position is None
        True
    """

    conversation_id: str
    title: str
    position: int | None
    text: str


@dataclass(frozen=True, slots=True)
class MessageRow:
    """The column values a message is stored as."""

    role: str
    body: str
    text: str
    model: str | None
    provider: str | None
    usage: str | None
    cost: float | None


def _cost(response: Response) -> float | None:
    from conduit.catalog import response_cost

    return response_cost(response)


def message_row(item: Message | Response) -> MessageRow:
    """How a message, or an answer with its model, usage and cost, is stored."""
    if isinstance(item, Response):
        message = item.to_message()
        return MessageRow(
            "assistant",
            message.model_dump_json(exclude_none=True),
            message.text,
            item.model or None,
            item.provider,
            item.usage.model_dump_json(),
            _cost(item),
        )
    if not isinstance(item, Message):
        raise ValidationError(f"append takes a Message or a Response, not {type(item).__name__}")
    return MessageRow(
        item.role, item.model_dump_json(exclude_none=True), item.text, None, None, None, None
    )


def stored_message(conversation_id: str, record: Sequence[Any]) -> StoredMessage:
    """A row (`position, body, model, provider, usage, cost, created_at`) read back; a
    row that does not parse raises `StorageError` naming it."""
    position, body, model, provider, usage, cost, created = record
    try:
        return StoredMessage(
            conversation_id,
            int(position),
            Message.model_validate_json(body),
            to_datetime(float(created)),
            model,
            provider,
            None if usage is None else Usage.model_validate_json(usage),
            None if cost is None else float(cost),
        )
    except (ValidationError, ValueError, TypeError) as exc:
        raise StorageError(
            f"message {position} of conversation {conversation_id!r} cannot be read: {exc}"
        ) from None


def like_pattern(text: str) -> str:
    r"""A case-folded `LIKE` pattern that finds `text` anywhere (`%`, `_` and `\` in it
    match themselves; the queries say `ESCAPE '\'`).

    Example:
        >>> like_pattern("50%_Off")
        '%50\\%\\_off%'
    """
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def cutoff_time(older_than: timedelta | datetime, now: float) -> float:
    """`older_than` (an age or a moment) as seconds since the epoch.

    Example:
        >>> cutoff_time(timedelta(seconds=10), now=100.0)
        90.0
    """
    if isinstance(older_than, timedelta):
        return now - older_than.total_seconds()
    if older_than.tzinfo is None:
        older_than = older_than.replace(tzinfo=UTC)
    return older_than.timestamp()


@runtime_checkable
class MessageStore(Protocol):
    """Where conversations are kept: `SQLiteMessageStore` (default), `PostgresMessageStore`."""

    async def create(
        self, title: str = "", *, id: str | None = None, options: Mapping[str, Any] | None = None
    ) -> Conversation:
        """Start a conversation (a new random id unless `id` is given) that goes on with
        `options` (JSON data: call options such as `temperature`)."""
        ...

    async def set_options(
        self, conversation_id: str, options: Mapping[str, Any] | None
    ) -> Conversation:
        """Replace the options a conversation goes on with (None or {} clears them)."""
        ...

    async def get(self, conversation_id: str) -> Conversation:
        """A conversation's header; `ConversationNotFoundError` when there is none."""
        ...

    async def append(self, conversation_id: str, *items: Message | Response) -> list[StoredMessage]:
        """Add messages (or answers, with their model, usage and cost) in one transaction."""
        ...

    async def load(self, conversation_id: str) -> list[StoredMessage]:
        """Every message of a conversation, in order."""
        ...

    async def messages(self, conversation_id: str) -> list[Message]:
        """The messages alone, in order: ready to send to a model."""
        ...

    async def conversations(self, *, limit: int = 50, offset: int = 0) -> list[Conversation]:
        """Conversations, the most recently updated first."""
        ...

    async def search(self, text: str, *, limit: int = 50) -> list[SearchHit]:
        """Titles and messages that contain `text` (case-insensitive)."""
        ...

    async def rename(self, conversation_id: str, title: str) -> Conversation:
        """Give a conversation a new title."""
        ...

    async def delete(self, conversation_id: str) -> bool:
        """Forget a conversation and its messages; False when there was none."""
        ...

    async def prune(self, older_than: timedelta | datetime) -> int:
        """Delete conversations not updated since `older_than`; returns how many."""
        ...

    async def copy(self, conversation_id: str, title: str | None = None) -> Conversation:
        """A new conversation with the same messages (to branch off)."""
        ...

    async def aclose(self) -> None:
        """Release the connection(s)."""
        ...


def check_items(items: Iterable[Message | Response]) -> list[MessageRow]:
    """The rows for `items` (checked before any is written)."""
    return [message_row(item) for item in items]
