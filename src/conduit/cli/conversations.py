"""Conversations the command line keeps in the one history store, so `conduit ask -c`
(or `--cid ID`) and `conduit chat --continue` go on where they stopped.

A conversation's setup lives in its messages: the system prompt is its first message,
and the model is the one that wrote the last answer (stored with every answer).

Example:
    >>> from conduit.schema import Response, TextBlock, system, user
    >>> from conduit.storage.history import StoredMessage, to_datetime
    >>> rows = [
    ...     StoredMessage("c1", 0, system("Be a pirate."), to_datetime(0)),
    ...     StoredMessage("c1", 1, user("Hi"), to_datetime(0)),
    ...     StoredMessage("c1", 2, Response(content=[TextBlock(text="Arr")]).to_message(),
    ...                   to_datetime(0), "echo", "fake"),
    ... ]
    >>> setup = Resumed.of("c1", rows)
    >>> setup.system, setup.model, [m.role for m in setup.messages]
    ('Be a pirate.', 'fake/echo', ['user', 'assistant'])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from conduit.errors import ValidationError

if TYPE_CHECKING:
    from conduit.memory import MessageStore
    from conduit.schema import Message
    from conduit.storage.history import StoredMessage

__all__ = ["Resumed", "resume"]


@dataclass(slots=True)
class Resumed:
    """A stored conversation, ready to go on: its id, system prompt, model (as
    `provider/name`, None when it has no answer yet) and the other messages."""

    id: str
    system: str | None = None
    model: str | None = None
    messages: list[Message] = field(default_factory=list)

    @classmethod
    def of(cls, conversation_id: str, rows: Sequence[StoredMessage]) -> Resumed:
        """The setup a conversation's stored messages hold."""
        found = cls(conversation_id)
        for row in rows:
            if row.message.role == "system":
                found.system = found.system or row.message.text
                continue
            found.messages.append(row.message)
            if row.message.role == "assistant" and row.model:
                found.model = f"{row.provider}/{row.model}" if row.provider else row.model
        return found


async def resume(store: MessageStore, conversation_id: str | None) -> Resumed:
    """The conversation `conversation_id`, else the newest one; `ValidationError` when
    there is none to continue."""
    if conversation_id is None:
        newest = await store.conversations(limit=1)
        if not newest:
            raise ValidationError(
                "no conversation to continue — ask something first, without -c/--continue"
            )
        conversation_id = newest[0].id
    await store.get(conversation_id)  # ConversationNotFoundError names the way out
    return Resumed.of(conversation_id, await store.load(conversation_id))
