"""Memory: conversations as validated message lists, what of them to send, and history.

- `Messages`: a list of messages that keeps a valid turn order.
- Strategies (`Memory` protocol): `BufferMemory`, `LastTurnsMemory`,
  `TokenWindowMemory`, `SummaryMemory`.
- History (`MessageStore` protocol): persistent conversations in SQLite (default,
  `SQLiteMessageStore`) or PostgreSQL (`PostgresMessageStore`); `message_store()` opens
  the one a URL names. The stores live in `conduit.storage` (SQL stays there); they are
  re-exported here because history is memory that outlives the process.

Example:
    >>> import asyncio
    >>> from conduit.schema import user
    >>> async def main():
    ...     store = message_store(":memory:")
    ...     chat = await store.create("demo")
    ...     await store.append(chat.id, user("remember me"))
    ...     kept = Messages(await store.messages(chat.id))
    ...     await store.aclose()
    ...     return kept.last().text
    >>> asyncio.run(main())
    'remember me'
"""

from __future__ import annotations

import os

from conduit.memory.messages import Messages, check_turn_order
from conduit.memory.strategies import (
    BufferMemory,
    LastTurnsMemory,
    Memory,
    SummaryMemory,
    TokenWindowMemory,
)
from conduit.storage.history import (
    Conversation,
    ConversationNotFoundError,
    MessageStore,
    SearchHit,
    StoredMessage,
)
from conduit.storage.history_postgres import PostgresMessageStore
from conduit.storage.history_sqlite import SQLiteMessageStore
from conduit.storage.paths import history_path as _history_path

__all__ = [
    "BufferMemory",
    "Conversation",
    "ConversationNotFoundError",
    "LastTurnsMemory",
    "Memory",
    "MessageStore",
    "Messages",
    "PostgresMessageStore",
    "SQLiteMessageStore",
    "SearchHit",
    "StoredMessage",
    "SummaryMemory",
    "TokenWindowMemory",
    "check_turn_order",
    "message_store",
]


def message_store(url: str | os.PathLike[str] | None = None) -> MessageStore:
    """The history store `url` names: a `postgresql://` (or `postgres://`) URL, a
    `sqlite:///path`, a file path or `":memory:"`; by default `history.sqlite3` in the user
    data folder (`$CONDUIT_DATA_DIR`, else `$XDG_DATA_HOME/conduit`).

    Example:
        >>> message_store("postgresql://127.0.0.1/db")
        PostgresMessageStore('postgresql://127.0.0.1/db')
    """
    if url is None:
        return SQLiteMessageStore(_history_path())
    text = os.fspath(url)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresMessageStore(text)
    return SQLiteMessageStore(text.removeprefix("sqlite:///") if text != ":memory:" else text)
