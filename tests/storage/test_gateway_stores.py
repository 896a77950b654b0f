"""Key stores, the usage ledger's gateway fields (schema version 3) and budgets kept in
the ledger, on both backends (a SQLite file and a PostgreSQL server the tests start)."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from conduit.compat.budgeting import Budgets, EventSpendLedger, SpendRecord
from conduit.compat.exceptions import BudgetExceededError
from conduit.errors import ValidationError
from conduit.storage.ledger import open_ledger as event_store
from conduit.storage.events import EventFilter, TokenEvent, aggregate, event_from_row
from conduit.storage.keys import hash_secret, new_key, open_key_store
from tests.support.stores import backend, store_url

__all__ = ["backend", "store_url"]

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)


async def raw(url: str, sql: str) -> None:
    if url.startswith("postgresql://"):
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()
    else:
        with sqlite3.connect(url) as conn:
            conn.execute(sql)
        conn.close()


async def test_key_store_round_trip(store_url: str) -> None:
    store = open_key_store(store_url)
    try:
        key, secret = new_key(
            name="team",
            models=["chat", "embed"],
            max_budget=1.5,
            budget_window="1d",
            rpm=10,
            tpm=1000,
            user="alice",
            tags=["ci", "nightly"],
        )
        other, other_secret = new_key()
        await store.add(key, secret)
        await store.add(other, other_secret)
        found = await store.find(secret)
        assert found == key
        assert await store.get(key.id) == key
        assert await store.find("sk-cnd-unknown") is None
        assert await store.get("key_nope") is None
        assert [k.id for k in await store.list()] == [key.id, other.id]
        assert await store.revoke(key.id)
        assert not await store.revoke(key.id)
        assert [k.id for k in await store.list()] == [other.id]
        revoked = await store.find(secret)
        assert revoked is not None
        assert not revoked.active
        assert len(await store.list(include_revoked=True)) == 2
    finally:
        await store.aclose()


async def test_key_store_keeps_only_the_hash(store_url: str, backend: str) -> None:
    store = open_key_store(store_url)
    key, secret = new_key()
    await store.add(key, secret)
    await store.aclose()
    if backend == "sqlite":
        with sqlite3.connect(store_url) as conn:
            rows = conn.execute("SELECT * FROM conduit_keys").fetchall()
        conn.close()
    else:
        conn = await asyncpg.connect(store_url)
        rows = [tuple(r) for r in await conn.fetch("SELECT * FROM conduit_keys")]
        await conn.close()
    cells = [str(c) for row in rows for c in row]
    assert secret not in cells
    assert hash_secret(secret) in cells


def test_new_key_checks_its_fields() -> None:
    with pytest.raises(ValidationError, match="max_budget"):
        new_key(max_budget=-1)
    with pytest.raises(ValidationError, match="tpm"):
        new_key(tpm=0)
    with pytest.raises(ValidationError, match="one non-empty line"):
        new_key(models=["a\nb"])
    assert repr(open_key_store("postgresql://127.0.0.1/x")).startswith("PostgresKeyStore(")


async def test_gateway_fields_round_trip_and_filter(store_url: str) -> None:
    store = event_store(store_url)
    events = [
        TokenEvent(
            provider="openai",
            model="chat",
            key_id="k1",
            user="alice",
            tags=("ci", "50%_off"),
            status=200,
            cost=0.25,
            timestamp=NOW,
        ),
        TokenEvent(
            provider="openai", model="chat", key_id="k2", tag="ci", status=429, timestamp=NOW
        ),
        TokenEvent(
            provider="openai",
            model="chat",
            key_id="k1",
            status=200,
            cost=0.5,
            timestamp=NOW + timedelta(hours=1),
        ),
    ]
    try:
        await store.record_many(events)
        back = await store.events()
        assert back == events
        assert await store.count(EventFilter(key_id="k1")) == 2
        assert await store.count(EventFilter(user="alice")) == 1
        assert await store.count(EventFilter(status=429)) == 1
        assert await store.count(EventFilter(has_tag="ci")) == 2  # in tags, or the tag
        assert await store.count(EventFilter(has_tag="50%_off")) == 1
        assert await store.count(EventFilter(has_tag="50")) == 0  # whole tags only
        rows = await store.totals(["key", "status"])
        assert [(r.key, r.events) for r in rows] == [(("k1", 200), 2), (("k2", 429), 1)]
        assert [(r.key, r.cost) for r in aggregate(events, ["key"])] == [
            (("k1",), 0.75),
            (("k2",), 0.0),
        ]
    finally:
        await store.aclose()


def test_a_tag_with_the_separator_is_refused() -> None:
    with pytest.raises(ValueError, match="tag"):
        TokenEvent(provider="p", model="m", tags=("a\x1fb",))
    row = ("e", 0.0, "p", "m", 0, 0, 0, None, None, None, None, None, None, None, None)
    assert event_from_row(row).tags == ()


async def test_version_2_rows_read_back_with_no_gateway_fields(
    store_url: str, backend: str
) -> None:
    store = event_store(store_url)
    await store.record(TokenEvent(provider="p", model="m", timestamp=NOW))
    await store.aclose()
    # As a version-2 writer leaves them: the new columns unset.
    await raw(store_url, "UPDATE conduit_events SET tags = NULL, status = NULL")
    again = event_store(store_url)
    try:
        (event,) = await again.events()
        assert (event.key_id, event.user, event.tags, event.status) == (None, None, (), None)
    finally:
        await again.aclose()


async def test_budgets_kept_in_the_ledger_are_shared_and_durable(store_url: str) -> None:
    # Two "processes": separate stores on one database; spend from one counts for both.
    first, second = event_store(store_url), event_store(store_url)
    now = time.time()

    def budgets_over(store: object) -> Budgets:
        budgets = Budgets(ledger=EventSpendLedger(store), clock=lambda: now)  # type: ignore[arg-type]
        budgets.set("key", "k1", 1.0, window="1h")
        budgets.set("tag", "ci", 0.5, window="1d")
        return budgets

    a, b = budgets_over(first), budgets_over(second)
    try:
        await a.record(0.4, model="openai/gpt-4o", key="k1", tags=["ci"])
        await b.record(0.4, model="openai/gpt-4o", key="k1")
        await a.check(key="k1", tags=["ci"])  # 0.8 of 1.0, 0.4 of 0.5
        await b.record(0.3, model="openai/gpt-4o", key="k1")
        with pytest.raises(BudgetExceededError) as caught:
            await a.check(key="k1")
        assert (caught.value.entity_type, caught.value.current_cost) == ("key", pytest.approx(1.1))
        await a.check(tags=["ci"])
        await b.record(0.2, model="openai/gpt-4o", tags=["ci"])
        with pytest.raises(BudgetExceededError, match="tag 'ci'"):
            await a.check(tags=["other", "ci"])
    finally:
        await first.aclose()
        await second.aclose()
    reopened = event_store(store_url)
    try:
        with pytest.raises(BudgetExceededError):
            await budgets_over(reopened).check(key="k1")
    finally:
        await reopened.aclose()


async def test_ledger_spend_by_scope_and_window(store_url: str) -> None:
    store = event_store(store_url)
    ledger = EventSpendLedger(store)
    try:
        now = time.time()
        await ledger.record(
            SpendRecord(
                at=now - 7200,
                cost_usd=1.0,
                model="openai/gpt-4o",
                key="k1",
                user="alice",
                tags=("ci",),
            )
        )
        await ledger.record(SpendRecord(at=now, cost_usd=0.25, model="local", key="k1"))
        assert await ledger.spent("key", "k1", now - 3600) == 0.25
        assert await ledger.spent("key", "k1", float("-inf")) == 1.25
        assert await ledger.spent("user", "alice", float("-inf")) == 1.0
        assert await ledger.spent("tag", "ci", now - 3600) == 0.0
        assert await ledger.spent("global", "*", float("-inf")) == 1.25
        assert await ledger.spent("key", "nobody", float("-inf")) == 0.0
        budgets = Budgets(ledger=ledger)
        budgets.set("key", "k1", 1.0, window="1h")
        await budgets.check(key="k1")  # the old 1.0 is outside the window
        budgets.set("key", "k1", 1.0)  # for ever: 1.25 spent
        with pytest.raises(BudgetExceededError, match="k1"):
            await budgets.check(key="k1")
        (event,) = [e for e in await store.events() if e.model == "local"]
        assert event.provider == "local"
        assert event.key_id == "k1"
        assert repr(ledger).startswith("EventSpendLedger(")
    finally:
        await store.aclose()
