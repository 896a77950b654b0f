"""One behaviour suite for every EventStore backend, migrations and bad rows included."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from conduit.errors import ValidationError
from conduit.odometer import (
    EventFilter,
    EventStore,
    PostgresEventStore,
    SchemaVersionError,
    SQLiteEventStore,
    StorageError,
    TokenEvent,
)
from conduit.storage.events import aggregate
from conduit.storage.ledger import open_ledger

DAY1 = datetime(2025, 3, 1, 12, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)


def open_store(url: str) -> EventStore:
    return PostgresEventStore(url) if url.startswith("postgresql://") else SQLiteEventStore(url)


@pytest.fixture
async def store(store_url: str):
    s = open_store(store_url)
    yield s
    await s.aclose()


def sample() -> list[TokenEvent]:
    return [
        TokenEvent(provider="openai", model="gpt-4o", input_tokens=10, output_tokens=5,
                   cached_tokens=2, cost=0.5, duration=1.0, timestamp=DAY1, tag="a",
                   conversation_id="c1"),
        TokenEvent(provider="openai", model="gpt-4o-mini", input_tokens=1, output_tokens=1,
                   timestamp=DAY1, tag="b"),
        TokenEvent(provider="anthropic", model="claude", input_tokens=100, output_tokens=50,
                   cost=1.5, duration=2.0, timestamp=DAY2, conversation_id="c1"),
    ]  # fmt: skip


async def test_record_read_and_totals_match_the_in_memory_sum(store: EventStore) -> None:
    events = sample()
    await store.record(events[0])
    await store.record_many(events[1:])
    assert await store.events() == events
    assert await store.count() == 3
    for by in ([], ["provider"], ["model", "day"], ["tag"], ["conversation"], ["provider", "tag"]):
        assert await store.totals(by) == aggregate(events, by), by
    total = (await store.totals())[0]
    assert (total.events, total.input_tokens, total.cost, total.priced) == (3, 111, 2.0, 2)


async def test_filters_and_limit(store: EventStore) -> None:
    await store.record_many(sample())
    assert await store.count(EventFilter(provider="openai")) == 2
    assert await store.count(EventFilter(since=DAY2)) == 1
    assert await store.count(EventFilter(until=DAY2)) == 2
    assert await store.count(EventFilter(tag="a", model="gpt-4o", conversation_id="c1")) == 1
    assert [e.model for e in await store.events(limit=1)] == ["gpt-4o"]
    assert await store.totals(["model"], EventFilter(provider="nobody")) == []
    assert await store.totals() != []


async def test_recording_an_event_twice_counts_it_once(store: EventStore) -> None:
    event = sample()[0]
    await store.record(event)
    await store.record(event)
    await store.record_many([event, event])
    assert await store.count() == 1


async def test_unknown_group_key_is_refused(store: EventStore) -> None:
    with pytest.raises(ValidationError, match="cannot group usage by 'colour'"):
        await store.totals(["colour"])


async def test_empty_store(store: EventStore) -> None:
    assert await store.totals() == []
    assert await store.events() == []


async def raw(url: str, sql: str, *params: object) -> None:
    if url.startswith("postgresql://"):
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(sql.replace("?", "$1") if params else sql, *params)
        finally:
            await conn.close()
    else:
        with sqlite3.connect(url) as conn:
            conn.execute(sql, params)
        conn.close()


async def test_a_bad_row_is_a_clear_error(store_url: str) -> None:
    store = open_store(store_url)
    await store.record(sample()[0])
    await raw(
        store_url,
        "INSERT INTO conduit_events (id, ts, day, provider, model, input_tokens, "
        "output_tokens, cached_tokens) VALUES ('bad', 0, 'x', 'p', '', 0, 0, 0)",
    )
    with pytest.raises(StorageError, match="row 'bad' is not a valid event"):
        await store.events()
    await store.aclose()


async def test_a_negative_count_cannot_be_written(store_url: str) -> None:
    store = open_store(store_url)
    await store.count()
    with pytest.raises(Exception, match=r"CHECK|check"):
        await raw(
            store_url,
            "INSERT INTO conduit_events (id, ts, day, provider, model, input_tokens, "
            "output_tokens, cached_tokens) VALUES ('neg', 0, 'x', 'p', 'm', -5, 0, 0)",
        )
    await store.aclose()


async def test_a_newer_schema_is_refused(store_url: str) -> None:
    store = open_store(store_url)
    await store.count()
    await store.aclose()
    await raw(store_url, "UPDATE conduit_schema SET version = 99 WHERE component = 'events'")
    again = open_store(store_url)
    with pytest.raises(SchemaVersionError, match="schema version 99, newer than"):
        await again.count()
    await again.aclose()


V1 = {
    "sqlite": (
        "CREATE TABLE conduit_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)",
        "INSERT INTO conduit_schema VALUES ('events', 1)",
        "CREATE TABLE conduit_events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
        "ts REAL NOT NULL, day TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, "
        "input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, "
        "cached_tokens INTEGER NOT NULL, cost REAL, duration REAL, conversation_id TEXT)",
    ),
    "postgres": (
        "CREATE TABLE conduit_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)",
        "INSERT INTO conduit_schema VALUES ('events', 1)",
        "CREATE TABLE conduit_events (seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
        "ts DOUBLE PRECISION NOT NULL, day TEXT NOT NULL, provider TEXT NOT NULL, "
        "model TEXT NOT NULL, input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL, "
        "cached_tokens BIGINT NOT NULL, cost DOUBLE PRECISION, duration DOUBLE PRECISION, "
        "conversation_id TEXT)",
    ),
}


async def test_migrates_a_version_1_database_keeping_its_events(
    store_url: str, backend: str
) -> None:
    for statement in V1[backend]:
        await raw(store_url, statement)
    await raw(
        store_url,
        "INSERT INTO conduit_events (id, ts, day, provider, model, input_tokens, "
        f"output_tokens, cached_tokens) VALUES ('old', {DAY1.timestamp()}, '2025-03-01', "
        "'openai', 'gpt-4o', 7, 1, 0)",
    )
    store = open_store(store_url)
    try:
        await store.record(sample()[1])  # has a tag: needs version 2
        rows = await store.totals(["tag"])
    finally:
        await store.aclose()
    assert [(r.key, r.input_tokens) for r in rows] == [((None,), 7), (("b",), 1)]


def test_event_store_picks_the_backend(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CONDUIT_DATA_DIR", str(tmp_path))
    assert open_ledger().path == str(tmp_path / "usage.sqlite3")  # type: ignore[attr-defined]
    assert open_ledger(":memory:").path == ":memory:"  # type: ignore[attr-defined]
    assert open_ledger("sqlite:///x.db").path == "x.db"  # type: ignore[attr-defined]
    assert isinstance(open_ledger("postgresql://127.0.0.1/x"), PostgresEventStore)


def test_a_damaged_sqlite_file_is_a_clear_error(tmp_path) -> None:
    import asyncio

    path = tmp_path / "broken.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    store = SQLiteEventStore(path)
    with pytest.raises(StorageError, match="cannot open"):
        asyncio.run(store.count())
    asyncio.run(store.aclose())
