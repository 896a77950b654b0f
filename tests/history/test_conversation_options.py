"""Conversations keep the call options they go on with (issue 26): a round trip on
every backend, and databases from before options were kept migrate with none."""

from __future__ import annotations

from typing import Any

import pytest

from conduit.errors import ValidationError
from conduit.memory import MessageStore, PostgresMessageStore, SQLiteMessageStore
from conduit.schema import user
from conduit.storage._postgres_db import PostgresDatabase
from conduit.storage._sqlite_db import SQLiteDatabase
from conduit.storage.history_postgres import POSTGRES_HISTORY_MIGRATIONS
from conduit.storage.history_sqlite import SQLITE_HISTORY_MIGRATIONS

OPTIONS = {"temperature": 0.3, "max_tokens": 50, "stop": ["END"], "extra": {"top_k": 4}}


def open_store(url: str) -> MessageStore:
    if url.startswith("postgresql://"):
        return PostgresMessageStore(url)
    return SQLiteMessageStore(url)


@pytest.fixture
async def store(store_url: str):
    s = open_store(store_url)
    yield s
    await s.aclose()


async def test_options_round_trip(store: MessageStore, store_url: str) -> None:
    chat = await store.create("Tuned", options=OPTIONS)
    plain = await store.create("Plain")
    assert chat.options == OPTIONS
    assert plain.options is None
    await store.append(chat.id, user("hi"))
    assert (await store.get(chat.id)).options == OPTIONS
    assert [c.options for c in await store.conversations()] == [OPTIONS, None]
    assert (await store.copy(chat.id)).options == OPTIONS
    changed = await store.set_options(chat.id, {"seed": 7})
    assert changed.options == {"seed": 7}
    assert changed.message_count == 1
    assert (await store.set_options(chat.id, {})).options is None
    again = open_store(store_url)  # read back by another connection
    try:
        assert (await again.get(chat.id)).options is None
        assert (await again.get(plain.id)).options is None
    finally:
        await again.aclose()


async def test_bad_options_are_refused(store: MessageStore) -> None:
    chat = await store.create("x")
    with pytest.raises(ValidationError, match="options"):
        await store.set_options(chat.id, {"when": object()})
    with pytest.raises(ValidationError, match="options"):
        await store.create("y", options={"t": float("nan")})
    from conduit.memory import ConversationNotFoundError

    with pytest.raises(ConversationNotFoundError):
        await store.set_options("nope", {"seed": 1})


async def _old_database(url: str) -> str:
    """A database at the schema before options, holding one conversation; its id."""
    if url.startswith("postgresql://"):
        pg = PostgresDatabase(url, "history", POSTGRES_HISTORY_MIGRATIONS[:-1])
        async with pg.transaction() as conn:
            await conn.execute(
                "INSERT INTO conduit_conversations (id, title, created_at, updated_at) "
                "VALUES ('old', 'Before', 1, 1)"
            )
        await pg.aclose()
        return "old"
    lite = SQLiteDatabase(url, "history", SQLITE_HISTORY_MIGRATIONS[:2])

    def write(conn: Any) -> None:
        conn.execute(
            "INSERT INTO conduit_conversations (id, title, created_at, updated_at) "
            "VALUES ('old', 'Before', 1, 1)"
        )

    await lite.write(write)
    await lite.aclose()
    return "old"


async def test_an_older_database_migrates_with_no_options(store_url: str) -> None:
    cid = await _old_database(store_url)
    store = open_store(store_url)
    try:
        old = await store.get(cid)
        assert (old.title, old.options) == ("Before", None)
        await store.append(cid, user("still here"))
        assert (await store.set_options(cid, {"top_p": 0.5})).options == {"top_p": 0.5}
    finally:
        await store.aclose()
