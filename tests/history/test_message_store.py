"""One behaviour suite for every MessageStore backend (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from conduit.errors import ValidationError
from conduit.memory import (
    ConversationNotFoundError,
    Messages,
    MessageStore,
    PostgresMessageStore,
    SQLiteMessageStore,
    message_store,
)
from conduit.schema import (
    FunctionCall,
    Response,
    TextBlock,
    ToolCall,
    Usage,
    assistant,
    system,
    tool_result,
    user,
)
from conduit.storage.migrations import StorageError


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def open_store(url: str, clock: Clock | None = None) -> MessageStore:
    if url.startswith("postgresql://"):
        return PostgresMessageStore(url, clock=clock or Clock())
    return SQLiteMessageStore(url, clock=clock or Clock())


@pytest.fixture
async def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(store_url: str, clock: Clock):
    s = open_store(store_url, clock)
    yield s
    await s.aclose()


async def test_round_trip_keeps_every_message_and_answer_details(store: MessageStore) -> None:
    call = ToolCall(id="c1", function=FunctionCall.from_arguments("add", {"a": 1}))
    answer = Response(
        model="gpt-4o",
        provider="openai",
        content=[TextBlock(text="It is 2.")],
        usage=Usage(input_tokens=12, output_tokens=3),
        cost=0.25,
    )
    chat = await store.create("Sums")
    assert chat.message_count == 0
    assert chat.title == "Sums"
    stored = await store.append(
        chat.id, system("Be exact."), user("1+1?"), assistant(tool_calls=[call])
    )
    assert [m.position for m in stored] == [0, 1, 2]
    await store.append(chat.id, tool_result("c1", "2"))
    await store.append(chat.id, answer)
    loaded = await store.load(chat.id)
    assert [m.message.role for m in loaded] == ["system", "user", "assistant", "tool", "assistant"]
    assert loaded[2].message.tool_calls[0].arguments == {"a": 1}
    last = loaded[-1]
    assert (last.model, last.provider, last.cost) == ("gpt-4o", "openai", 0.25)
    assert last.usage == Usage(input_tokens=12, output_tokens=3)
    assert loaded[0].usage is None
    assert loaded[0].model is None
    assert Messages(await store.messages(chat.id)).last().text == "It is 2."
    header = await store.get(chat.id)
    assert header.message_count == 5


async def test_answer_cost_comes_from_the_catalog_when_not_given(store: MessageStore) -> None:
    chat = await store.create()
    priced = Response(model="gpt-4o", provider="openai", usage=Usage(input_tokens=1000))
    unknown = Response(model="m", provider="nobody-knows", usage=Usage(input_tokens=1))
    stored = await store.append(chat.id, user("q"), priced, user("q2"), unknown)
    assert stored[1].cost is not None
    assert stored[1].cost > 0
    assert stored[3].cost is None


async def test_times_and_listing_order(store: MessageStore, clock: Clock) -> None:
    first = await store.create("first")
    clock.now += 10
    second = await store.create("second")
    clock.now += 10
    await store.append(first.id, user("bump"))
    listed = await store.conversations()
    assert [c.id for c in listed] == [first.id, second.id]
    assert listed[0].updated_at == datetime.fromtimestamp(clock.now, UTC)
    assert listed[0].created_at < listed[0].updated_at
    assert [c.id for c in await store.conversations(limit=1, offset=1)] == [second.id]


async def test_search_titles_and_text_case_insensitively(store: MessageStore) -> None:
    trip = await store.create("Trip to Paris")
    other = await store.create("Groceries")
    await store.append(trip.id, user("Book a hotel near the LOUVRE"))
    await store.append(other.id, user("milk 100% fat_free"))
    hits = await store.search("louvre")
    assert [(h.conversation_id, h.position) for h in hits] == [(trip.id, 0)]
    assert hits[0].text == "Book a hotel near the LOUVRE"
    title_hit = await store.search("paris")
    assert [(h.conversation_id, h.position, h.title) for h in title_hit] == [
        (trip.id, None, "Trip to Paris")
    ]
    # LIKE wildcards in the query match only themselves
    assert [h.conversation_id for h in await store.search("100%")] == [other.id]
    assert await store.search("100%_") == []
    assert len(await store.search("a", limit=1)) == 1


async def test_rename_copy_delete(store: MessageStore) -> None:
    chat = await store.create("draft")
    await store.append(chat.id, user("a"), assistant("b"))
    renamed = await store.rename(chat.id, "final")
    assert renamed.title == "final"
    branch = await store.copy(chat.id)
    assert branch.id != chat.id
    assert branch.title == "final"
    assert branch.message_count == 2
    await store.append(branch.id, user("c"))
    assert [m.text for m in await store.messages(chat.id)] == ["a", "b"]
    assert [m.text for m in await store.messages(branch.id)] == ["a", "b", "c"]
    assert (await store.copy(chat.id, "named")).title == "named"
    assert await store.delete(chat.id) is True
    assert await store.delete(chat.id) is False
    with pytest.raises(ConversationNotFoundError, match="no conversation"):
        await store.load(chat.id)
    assert [m.text for m in await store.messages(branch.id)] == ["a", "b", "c"]


async def test_prune_by_age_and_by_moment(store: MessageStore, clock: Clock) -> None:
    old = await store.create("old")
    await store.append(old.id, user("x"))
    clock.now += 3600
    fresh = await store.create("fresh")
    assert await store.prune(timedelta(minutes=30)) == 1
    assert [c.id for c in await store.conversations()] == [fresh.id]
    assert await store.search("x") == []  # messages went with it
    assert await store.prune(datetime.fromtimestamp(clock.now + 1)) == 1
    assert await store.conversations() == []


async def test_unknown_conversation_and_bad_input(store: MessageStore) -> None:
    for call in (
        store.get("nope"),
        store.append("nope", user("x")),
        store.rename("nope", "t"),
        store.copy("nope"),
    ):
        with pytest.raises(ConversationNotFoundError):
            await call
    chat = await store.create(id="fixed")
    assert chat.id == "fixed"
    with pytest.raises(StorageError, match="refused"):
        await store.create(id="fixed")
    with pytest.raises(ValidationError, match="Message or a Response"):
        await store.append(chat.id, "text")  # type: ignore[arg-type]
    assert (await store.get("fixed")).message_count == 0


async def test_concurrent_appends_to_one_conversation_keep_every_message(
    store_url: str,
) -> None:
    stores = [open_store(store_url) for _ in range(4)]
    chat = await stores[0].create("busy")
    try:
        await asyncio.gather(
            *(s.append(chat.id, user(f"{i}-{n}")) for i, s in enumerate(stores) for n in range(10))
        )
        loaded = await stores[0].load(chat.id)
    finally:
        for s in stores:
            await s.aclose()
    assert [m.position for m in loaded] == list(range(40))
    assert len({m.message.text for m in loaded}) == 40


async def test_closed_store_refuses(store_url: str) -> None:
    s = open_store(store_url)
    await s.create()
    await s.aclose()
    await s.aclose()
    with pytest.raises(Exception, match="closed"):
        await s.create()


def test_message_store_picks_the_backend(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CONDUIT_DATA_DIR", str(tmp_path))
    default = message_store()
    assert isinstance(default, SQLiteMessageStore)
    assert default.path == str(tmp_path / "history.sqlite3")
    assert message_store(f"sqlite:///{tmp_path}/h.db").path == f"{tmp_path}/h.db"  # type: ignore[attr-defined]
    assert message_store(":memory:").path == ":memory:"  # type: ignore[attr-defined]
    assert isinstance(message_store("postgres://127.0.0.1/x"), PostgresMessageStore)
