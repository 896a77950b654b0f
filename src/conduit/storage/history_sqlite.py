"""Conversation history in SQLite: the default `MessageStore`, one file per user.

Two tables: `conduit_conversations` (id, title, times, message count, and since schema
version 3 the conversation's call options as JSON text, NULL for older rows) and
`conduit_messages` (conversation, position, the message as JSON, its text for search,
model, provider, usage, cost). Each `append` is one transaction that takes the next
positions from the conversation's counter, so concurrent writers never collide and a
killed process leaves every committed message. Deleting a conversation deletes its
messages (a foreign key with ON DELETE CASCADE).

Example:
    >>> import asyncio
    >>> from conduit.schema import user
    >>> async def main():
    ...     store = SQLiteMessageStore(":memory:")
    ...     chat = await store.create("Greetings")
    ...     await store.append(chat.id, user("Hello"))
    ...     found = [m.text for m in await store.messages(chat.id)]
    ...     await store.aclose()
    ...     return found
    >>> asyncio.run(main())
    ['Hello']
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from conduit.schema import Message, Response
from conduit.storage._sqlite_db import SQLiteDatabase
from conduit.storage.history import (
    Conversation,
    ConversationNotFoundError,
    SearchHit,
    StoredMessage,
    check_items,
    cutoff_time,
    like_pattern,
    options_column,
    options_from_column,
    stored_message,
    to_datetime,
)
from conduit.storage.migrations import Migration

__all__ = ["SQLITE_HISTORY_MIGRATIONS", "SQLiteMessageStore", "fts_query"]

SQLITE_HISTORY_MIGRATIONS = (
    Migration(
        1,
        (
            "CREATE TABLE conduit_conversations (id TEXT PRIMARY KEY, "
            "title TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL, "
            "updated_at REAL NOT NULL, message_count INTEGER NOT NULL DEFAULT 0) STRICT",
            "CREATE INDEX conduit_conversations_updated ON conduit_conversations (updated_at)",
            "CREATE TABLE conduit_messages (conversation_id TEXT NOT NULL "
            "REFERENCES conduit_conversations (id) ON DELETE CASCADE, "
            "position INTEGER NOT NULL, role TEXT NOT NULL, body TEXT NOT NULL, "
            "text TEXT NOT NULL, model TEXT, provider TEXT, usage TEXT, "
            "cost REAL, created_at REAL NOT NULL, "
            "PRIMARY KEY (conversation_id, position)) STRICT",
        ),
    ),
    # Full-text search over messages (`find`), kept in step by triggers.
    Migration(
        2,
        (
            "CREATE VIRTUAL TABLE conduit_messages_fts USING fts5(text, "
            "content='conduit_messages', content_rowid='rowid')",
            "CREATE TRIGGER conduit_messages_fts_insert AFTER INSERT ON conduit_messages BEGIN "
            "INSERT INTO conduit_messages_fts (rowid, text) VALUES (new.rowid, new.text); END",
            "CREATE TRIGGER conduit_messages_fts_delete AFTER DELETE ON conduit_messages BEGIN "
            "INSERT INTO conduit_messages_fts (conduit_messages_fts, rowid, text) "
            "VALUES ('delete', old.rowid, old.text); END",
            "CREATE TRIGGER conduit_messages_fts_update AFTER UPDATE ON conduit_messages BEGIN "
            "INSERT INTO conduit_messages_fts (conduit_messages_fts, rowid, text) "
            "VALUES ('delete', old.rowid, old.text); "
            "INSERT INTO conduit_messages_fts (rowid, text) VALUES (new.rowid, new.text); END",
            "INSERT INTO conduit_messages_fts (conduit_messages_fts) VALUES ('rebuild')",
        ),
    ),
    # The call options a conversation goes on with (JSON; NULL: none, as in older rows).
    Migration(3, ("ALTER TABLE conduit_conversations ADD COLUMN options TEXT",)),
)


def fts_query(text: str) -> str:
    """Words as an FTS5 query that finds messages holding all of them (each word quoted,
    so punctuation is never query syntax).

    Example:
        >>> fts_query("2+2? capital")
        '"2+2?" "capital"'
    """
    return " ".join('"' + word.replace('"', '""') + '"' for word in text.split())


_HEADER = "id, title, created_at, updated_at, message_count, options"
_MESSAGE = "position, body, model, provider, usage, cost, created_at"


def _conversation(row: tuple[str, str, float, float, int, str | None]) -> Conversation:
    return Conversation(
        row[0],
        row[1],
        to_datetime(row[2]),
        to_datetime(row[3]),
        int(row[4]),
        options_from_column(row[5]),
    )


class SQLiteMessageStore:
    """Conversations in one SQLite file (or `":memory:"`).

    `clock` gives the time (seconds since the epoch) stamped on conversations and
    messages; tests pass their own.

    Example:
        >>> SQLiteMessageStore(":memory:")
        SQLiteMessageStore(':memory:')
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 30.0,
        durable: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = str(path)
        self._clock = clock
        self._db = SQLiteDatabase(
            path, "history", SQLITE_HISTORY_MIGRATIONS, timeout=timeout, durable=durable
        )

    async def create(
        self, title: str = "", *, id: str | None = None, options: Mapping[str, Any] | None = None
    ) -> Conversation:
        """Start a conversation (a new random id unless `id` is given) that goes on with
        `options` (JSON data: call options such as `temperature`)."""
        cid = id or uuid.uuid4().hex
        now = self._clock()
        column = options_column(options)

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO conduit_conversations (id, title, created_at, updated_at, options) "
                "VALUES (?, ?, ?, ?, ?)",
                (cid, title, now, now, column),
            )

        await self._db.write(write)
        return Conversation(
            cid, title, to_datetime(now), to_datetime(now), 0, options_from_column(column)
        )

    async def set_options(
        self, conversation_id: str, options: Mapping[str, Any] | None
    ) -> Conversation:
        """Replace the options a conversation goes on with (None or {} clears them)."""
        column = options_column(options)

        def write(conn: sqlite3.Connection) -> Conversation:
            conn.execute(
                "UPDATE conduit_conversations SET options = ? WHERE id = ?",
                (column, conversation_id),
            )
            return self._header(conn, conversation_id)

        return await self._db.write(write)

    def _header(self, conn: sqlite3.Connection, cid: str) -> Conversation:
        row = conn.execute(
            f"SELECT {_HEADER} FROM conduit_conversations WHERE id = ?", (cid,)
        ).fetchone()
        if row is None:
            raise ConversationNotFoundError(f"no conversation {cid!r}")
        return _conversation(row)

    async def get(self, conversation_id: str) -> Conversation:
        """A conversation's header; `ConversationNotFoundError` when there is none."""
        return await self._db.read(lambda conn: self._header(conn, conversation_id))

    async def append(self, conversation_id: str, *items: Message | Response) -> list[StoredMessage]:
        """Add messages (or answers, with their model, usage and cost) in one transaction."""
        rows = check_items(items)
        now = self._clock()

        def write(conn: sqlite3.Connection) -> int:
            found = conn.execute(
                "UPDATE conduit_conversations SET message_count = message_count + ?, "
                "updated_at = ? WHERE id = ? RETURNING message_count",
                (len(rows), now, conversation_id),
            ).fetchone()
            if found is None:
                raise ConversationNotFoundError(f"no conversation {conversation_id!r}")
            first = int(found[0]) - len(rows)
            conn.executemany(
                "INSERT INTO conduit_messages (conversation_id, position, role, body, text, "
                "model, provider, usage, cost, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (conversation_id, first + i, r.role, r.body, r.text, r.model, r.provider, *rest)
                    for i, r in enumerate(rows)
                    for rest in [(r.usage, r.cost, now)]
                ],
            )
            return first

        first = await self._db.write(write)
        return [
            stored_message(
                conversation_id, (first + i, r.body, r.model, r.provider, r.usage, r.cost, now)
            )
            for i, r in enumerate(rows)
        ]

    async def load(self, conversation_id: str) -> list[StoredMessage]:
        """Every message of a conversation, in order."""

        def read(conn: sqlite3.Connection) -> list[StoredMessage]:
            self._header(conn, conversation_id)
            records = conn.execute(
                f"SELECT {_MESSAGE} FROM conduit_messages WHERE conversation_id = ? "
                "ORDER BY position",
                (conversation_id,),
            ).fetchall()
            return [stored_message(conversation_id, r) for r in records]

        return await self._db.read(read)

    async def messages(self, conversation_id: str) -> list[Message]:
        """The messages alone, in order: ready to send to a model."""
        return [m.message for m in await self.load(conversation_id)]

    async def conversations(self, *, limit: int = 50, offset: int = 0) -> list[Conversation]:
        """Conversations, the most recently updated first."""
        sql = (
            f"SELECT {_HEADER} FROM conduit_conversations "
            "ORDER BY updated_at DESC, id LIMIT ? OFFSET ?"
        )
        return await self._db.read(
            lambda conn: [_conversation(r) for r in conn.execute(sql, (limit, offset))]
        )

    async def search(self, text: str, *, limit: int = 50) -> list[SearchHit]:
        """Titles and messages that contain `text` (case-insensitive)."""
        pattern = like_pattern(text)
        sql = (
            "SELECT c.id, c.title, NULL, c.title, c.updated_at FROM conduit_conversations c "
            "WHERE lower(c.title) LIKE ? ESCAPE '\\' "
            "UNION ALL SELECT c.id, c.title, m.position, m.text, c.updated_at "
            "FROM conduit_messages m JOIN conduit_conversations c ON c.id = m.conversation_id "
            "WHERE lower(m.text) LIKE ? ESCAPE '\\' "
            "ORDER BY 5 DESC, 1, 3 LIMIT ?"
        )
        return await self._db.read(
            lambda conn: [
                SearchHit(r[0], r[1], r[2], r[3])
                for r in conn.execute(sql, (pattern, pattern, limit))
            ]
        )

    async def find(
        self,
        text: str | None = None,
        *,
        model: str | None = None,
        conversation_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 20,
    ) -> list[StoredMessage]:
        """Messages, newest first: those holding every word of `text` (SQLite FTS5),
        written by `model` (`name` or `provider/name`), in one conversation, or between
        `since` and `until`; each filter is optional."""
        where: list[str] = []
        params: list[object] = []
        join = ""
        if text and text.strip():
            join = "JOIN conduit_messages_fts f ON f.rowid = m.rowid "
            where.append("conduit_messages_fts MATCH ?")
            params.append(fts_query(text))
        if model:
            where.append("(m.model = ? OR m.provider || '/' || m.model = ?)")
            params += [model, model]
        if conversation_id:
            where.append("m.conversation_id = ?")
            params.append(conversation_id)
        if since is not None:
            where.append("m.created_at >= ?")
            params.append(since.timestamp())
        if until is not None:
            where.append("m.created_at < ?")
            params.append(until.timestamp())
        sql = (
            f"SELECT m.conversation_id, m.{_MESSAGE.replace(', ', ', m.')} "
            f"FROM conduit_messages m {join}"
            + (f"WHERE {' AND '.join(where)} " if where else "")
            + "ORDER BY m.created_at DESC, m.position DESC LIMIT ?"
        )
        params.append(limit)
        return await self._db.read(
            lambda conn: [stored_message(r[0], r[1:]) for r in conn.execute(sql, params)]
        )

    async def rename(self, conversation_id: str, title: str) -> Conversation:
        """Give a conversation a new title."""

        def write(conn: sqlite3.Connection) -> Conversation:
            conn.execute(
                "UPDATE conduit_conversations SET title = ? WHERE id = ?",
                (title, conversation_id),
            )
            return self._header(conn, conversation_id)

        return await self._db.write(write)

    async def delete(self, conversation_id: str) -> bool:
        """Forget a conversation and its messages; False when there was none."""

        def write(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "DELETE FROM conduit_conversations WHERE id = ?", (conversation_id,)
            )
            return cursor.rowcount > 0

        return await self._db.write(write)

    async def prune(self, older_than: timedelta | datetime) -> int:
        """Delete conversations not updated since `older_than`; returns how many."""
        cutoff = cutoff_time(older_than, self._clock())

        def write(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "DELETE FROM conduit_conversations WHERE updated_at < ?", (cutoff,)
            )
            return cursor.rowcount

        return await self._db.write(write)

    async def copy(self, conversation_id: str, title: str | None = None) -> Conversation:
        """A new conversation with the same messages (to branch off)."""
        new_id = uuid.uuid4().hex
        now = self._clock()

        def write(conn: sqlite3.Connection) -> Conversation:
            source = self._header(conn, conversation_id)
            name = source.title if title is None else title
            conn.execute(
                "INSERT INTO conduit_conversations "
                "(id, title, created_at, updated_at, message_count, options) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (new_id, name, now, now, source.message_count, options_column(source.options)),
            )
            conn.execute(
                "INSERT INTO conduit_messages (conversation_id, position, role, body, text, "
                "model, provider, usage, cost, created_at) SELECT ?, position, role, body, "
                "text, model, provider, usage, cost, created_at FROM conduit_messages "
                "WHERE conversation_id = ?",
                (new_id, conversation_id),
            )
            return self._header(conn, new_id)

        return await self._db.write(write)

    async def aclose(self) -> None:
        """Close the connection and its worker thread."""
        await self._db.aclose()

    def __repr__(self) -> str:
        return f"SQLiteMessageStore({self.path!r})"
