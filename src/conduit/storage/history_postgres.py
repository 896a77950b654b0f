"""Conversation history in PostgreSQL (asyncpg): the same behaviour as the SQLite store.

The same two tables (since schema version 2, `conduit_conversations.options` holds a
conversation's call options as JSON text, NULL for older rows); `append` takes its
positions from the conversation row it updates (the update locks that row), so
concurrent appends to one conversation are serialized and each is one transaction.

Example:
    >>> PostgresMessageStore("postgresql://127.0.0.1:5432/conduit")
    PostgresMessageStore('postgresql://127.0.0.1:5432/conduit')
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from conduit.schema import Message, Response
from conduit.storage._postgres_db import PostgresDatabase
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

__all__ = ["POSTGRES_HISTORY_MIGRATIONS", "PostgresMessageStore"]

POSTGRES_HISTORY_MIGRATIONS = (
    Migration(
        1,
        (
            "CREATE TABLE conduit_conversations (id TEXT PRIMARY KEY, "
            "title TEXT NOT NULL DEFAULT '', created_at DOUBLE PRECISION NOT NULL, "
            "updated_at DOUBLE PRECISION NOT NULL, message_count INTEGER NOT NULL DEFAULT 0)",
            "CREATE INDEX conduit_conversations_updated ON conduit_conversations (updated_at)",
            "CREATE TABLE conduit_messages (conversation_id TEXT NOT NULL "
            "REFERENCES conduit_conversations (id) ON DELETE CASCADE, "
            "position INTEGER NOT NULL, role TEXT NOT NULL, body TEXT NOT NULL, "
            "text TEXT NOT NULL, model TEXT, provider TEXT, usage TEXT, "
            "cost DOUBLE PRECISION, created_at DOUBLE PRECISION NOT NULL, "
            "PRIMARY KEY (conversation_id, position))",
        ),
    ),
    # The call options a conversation goes on with (JSON; NULL: none, as in older rows).
    Migration(2, ("ALTER TABLE conduit_conversations ADD COLUMN options TEXT",)),
)

_HEADER = "id, title, created_at, updated_at, message_count, options"
_MESSAGE = "position, body, model, provider, usage, cost, created_at"


def _conversation(row: Sequence[Any]) -> Conversation:
    return Conversation(
        row[0],
        row[1],
        to_datetime(row[2]),
        to_datetime(row[3]),
        int(row[4]),
        options_from_column(row[5]),
    )


class PostgresMessageStore:
    """Conversations in PostgreSQL at `dsn` (a `postgresql://` URL).

    Example:
        >>> PostgresMessageStore("postgresql://127.0.0.1/x", max_size=2).dsn
        'postgresql://127.0.0.1/x'
    """

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.dsn = dsn
        self._clock = clock
        self._db = PostgresDatabase(
            dsn, "history", POSTGRES_HISTORY_MIGRATIONS, min_size=min_size, max_size=max_size
        )

    async def _header(self, conn: Any, cid: str, *, lock: bool = False) -> Conversation:
        # FOR UPDATE (in `copy`) holds appends off until the copied rows are read.
        sql = f"SELECT {_HEADER} FROM conduit_conversations WHERE id = $1"
        row = await conn.fetchrow(sql + (" FOR UPDATE" if lock else ""), cid)
        if row is None:
            raise ConversationNotFoundError(f"no conversation {cid!r}")
        return _conversation(row)

    async def create(
        self, title: str = "", *, id: str | None = None, options: Mapping[str, Any] | None = None
    ) -> Conversation:
        """Start a conversation (a new random id unless `id` is given) that goes on with
        `options` (JSON data: call options such as `temperature`)."""
        cid = id or uuid.uuid4().hex
        now = self._clock()
        column = options_column(options)
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO conduit_conversations (id, title, created_at, updated_at, options) "
                "VALUES ($1, $2, $3, $4, $5)",
                cid,
                title,
                now,
                now,
                column,
            )
        return Conversation(
            cid, title, to_datetime(now), to_datetime(now), 0, options_from_column(column)
        )

    async def set_options(
        self, conversation_id: str, options: Mapping[str, Any] | None
    ) -> Conversation:
        """Replace the options a conversation goes on with (None or {} clears them)."""
        column = options_column(options)
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE conduit_conversations SET options = $1 WHERE id = $2",
                column,
                conversation_id,
            )
            return await self._header(conn, conversation_id)

    async def get(self, conversation_id: str) -> Conversation:
        """A conversation's header; `ConversationNotFoundError` when there is none."""
        pool = await self._db.pool()
        async with pool.acquire() as conn:
            return await self._header(conn, conversation_id)

    async def append(self, conversation_id: str, *items: Message | Response) -> list[StoredMessage]:
        """Add messages (or answers, with their model, usage and cost) in one transaction."""
        rows = check_items(items)
        now = self._clock()
        async with self._db.transaction() as conn:
            count = await conn.fetchval(
                "UPDATE conduit_conversations SET message_count = message_count + $1, "
                "updated_at = $2 WHERE id = $3 RETURNING message_count",
                len(rows),
                now,
                conversation_id,
            )
            if count is None:
                raise ConversationNotFoundError(f"no conversation {conversation_id!r}")
            first = int(count) - len(rows)
            await conn.executemany(
                "INSERT INTO conduit_messages (conversation_id, position, role, body, text, "
                "model, provider, usage, cost, created_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                [
                    (conversation_id, first + i, r.role, r.body, r.text, r.model, r.provider, *rest)
                    for i, r in enumerate(rows)
                    for rest in [(r.usage, r.cost, now)]
                ],
            )
        return [
            stored_message(
                conversation_id, (first + i, r.body, r.model, r.provider, r.usage, r.cost, now)
            )
            for i, r in enumerate(rows)
        ]

    async def load(self, conversation_id: str) -> list[StoredMessage]:
        """Every message of a conversation, in order."""
        pool = await self._db.pool()
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            await self._header(conn, conversation_id)
            records = await conn.fetch(
                f"SELECT {_MESSAGE} FROM conduit_messages WHERE conversation_id = $1 "
                "ORDER BY position",
                conversation_id,
            )
        return [stored_message(conversation_id, tuple(r)) for r in records]

    async def messages(self, conversation_id: str) -> list[Message]:
        """The messages alone, in order: ready to send to a model."""
        return [m.message for m in await self.load(conversation_id)]

    async def conversations(self, *, limit: int = 50, offset: int = 0) -> list[Conversation]:
        """Conversations, the most recently updated first."""
        rows = await self._db.fetch(
            f"SELECT {_HEADER} FROM conduit_conversations "
            "ORDER BY updated_at DESC, id LIMIT $1 OFFSET $2",
            limit,
            offset,
        )
        return [_conversation(r) for r in rows]

    async def search(self, text: str, *, limit: int = 50) -> list[SearchHit]:
        """Titles and messages that contain `text` (case-insensitive)."""
        rows = await self._db.fetch(
            "SELECT c.id, c.title, NULL::integer, c.title, c.updated_at "
            "FROM conduit_conversations c WHERE lower(c.title) LIKE $1 ESCAPE '\\' "
            "UNION ALL SELECT c.id, c.title, m.position, m.text, c.updated_at "
            "FROM conduit_messages m JOIN conduit_conversations c ON c.id = m.conversation_id "
            "WHERE lower(m.text) LIKE $1 ESCAPE '\\' "
            "ORDER BY 5 DESC, 1, 3 NULLS FIRST LIMIT $2",
            like_pattern(text),
            limit,
        )
        return [SearchHit(r[0], r[1], r[2], r[3]) for r in rows]

    async def rename(self, conversation_id: str, title: str) -> Conversation:
        """Give a conversation a new title."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE conduit_conversations SET title = $1 WHERE id = $2",
                title,
                conversation_id,
            )
            return await self._header(conn, conversation_id)

    async def delete(self, conversation_id: str) -> bool:
        """Forget a conversation and its messages; False when there was none."""
        async with self._db.transaction() as conn:
            status = await conn.execute(
                "DELETE FROM conduit_conversations WHERE id = $1", conversation_id
            )
        return bool(status != "DELETE 0")

    async def prune(self, older_than: timedelta | datetime) -> int:
        """Delete conversations not updated since `older_than`; returns how many."""
        cutoff = cutoff_time(older_than, self._clock())
        async with self._db.transaction() as conn:
            status = await conn.execute(
                "DELETE FROM conduit_conversations WHERE updated_at < $1", cutoff
            )
        return int(str(status).rsplit(" ", 1)[-1])

    async def copy(self, conversation_id: str, title: str | None = None) -> Conversation:
        """A new conversation with the same messages (to branch off)."""
        new_id = uuid.uuid4().hex
        now = self._clock()
        async with self._db.transaction() as conn:
            source = await self._header(conn, conversation_id, lock=True)
            await conn.execute(
                "INSERT INTO conduit_conversations "
                "(id, title, created_at, updated_at, message_count, options) "
                "VALUES ($1, $2, $3, $4, $5, $6)",
                new_id,
                source.title if title is None else title,
                now,
                now,
                source.message_count,
                options_column(source.options),
            )
            await conn.execute(
                "INSERT INTO conduit_messages (conversation_id, position, role, body, text, "
                "model, provider, usage, cost, created_at) SELECT $1, position, role, body, "
                "text, model, provider, usage, cost, created_at FROM conduit_messages "
                "WHERE conversation_id = $2",
                new_id,
                conversation_id,
            )
            return await self._header(conn, new_id)

    async def aclose(self) -> None:
        """Close the pool."""
        await self._db.aclose()

    def __repr__(self) -> str:
        return f"PostgresMessageStore({self.dsn!r})"
