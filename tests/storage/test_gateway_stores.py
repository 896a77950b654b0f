"""Key stores, the usage ledger's gateway fields (schema version 3) and the gateway's key
budgets in its database's spend store, on both backends (a SQLite file and a PostgreSQL
server the tests start)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from conduit.errors import BudgetExceededError, ValidationError
from conduit.server.keys import spend_limits
from conduit.storage.events import EventFilter, TokenEvent, aggregate, event_from_row
from conduit.storage.keys import hash_secret, new_key, open_key_store
from conduit.storage.ledger import open_ledger as event_store
from conduit.storage.spend import SpendLimit, open_spend_store
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


async def test_key_budgets_are_shared_and_durable(store_url: str) -> None:
    # Two "replicas": separate spend stores on one database, as the gateway opens them
    # from its `database`; what one reserves and spends counts for both, and for a
    # store opened later.
    key, _ = new_key(max_budget=1.0, budget_window="1h")
    (limit,) = spend_limits(key)
    assert (limit.scope, limit.name, limit.max_usd, limit.window) == ("key", key.id, 1.0, 3600.0)
    first, second = open_spend_store(store_url), open_spend_store(store_url)
    try:
        held = await first.reserve([limit], 0.4)
        await second.settle(await second.reserve([limit], 0.4), 0.4)
        with pytest.raises(BudgetExceededError) as caught:
            await second.reserve([limit], 0.3)  # 0.4 held + 0.4 spent + 0.3 > 1.0
        assert (caught.value.scope, caught.value.name) == ("key", key.id)
        await first.settle(held, 0.1)  # the real cost: headroom comes back at once
        await second.reserve([limit], 0.3)
    finally:
        await first.aclose()
        await second.aclose()
    reopened = open_spend_store(store_url)
    try:
        assert await reopened.spent(limit) == pytest.approx(0.8)  # 0.4 + 0.1 + 0.3 held
        with pytest.raises(BudgetExceededError):
            await reopened.reserve([limit], 0.25)
    finally:
        await reopened.aclose()


async def test_fifty_concurrent_reservations_never_pass_a_key_budget(store_url: str) -> None:
    # The gateway's race: 50 requests of a key at once, each reserving its worst case
    # (0.01 USD) before calling upstream, from two stores (two replicas) on one database.
    key, _ = new_key(max_budget=0.10)
    (limit,) = spend_limits(key)
    stores = [open_spend_store(store_url), open_spend_store(store_url)]
    for store in stores:  # opened one after the other (see the report on SQLite opening)
        assert await store.spent(limit) == 0.0

    async def one(n: int) -> bool:
        store = stores[n % 2]
        try:
            held = await store.reserve([limit], 0.01)
        except BudgetExceededError:
            return False
        await store.settle(held, 0.008)
        return True

    try:
        answered = sum(await asyncio.gather(*(one(n) for n in range(50))))
        spent = await stores[0].spent(limit)
    finally:
        for store in stores:
            await store.aclose()
    assert spent <= 0.10 + 1e-9
    assert answered >= 10  # every reservation that fitted went through
    assert spent == pytest.approx(answered * 0.008)


def test_a_key_without_a_budget_brings_no_limit() -> None:
    key, _ = new_key()
    assert spend_limits(key) == ()
    forever, _ = new_key(max_budget=2)
    assert spend_limits(forever) == (SpendLimit("key", forever.id, 2.0),)


async def test_key_store_expiry_parallel_cap_and_update(store_url: str) -> None:
    store = open_key_store(store_url)
    try:
        key, secret = new_key(name="a", expires_at=2e9, max_parallel_requests=4)
        await store.add(key, secret)
        found = await store.find(secret)
        assert found is not None
        assert (found.expires_at, found.max_parallel_requests) == (2e9, 4)
        assert not found.expired(now=2e9 - 1)
        assert found.expired(now=2e9)
        changed = await store.update(
            key.id, max_budget=2.5, models=["chat"], expires_at=None, rpm=7
        )
        assert changed is not None
        assert (changed.max_budget, changed.models, changed.expires_at, changed.rpm) == (
            2.5,
            ("chat",),
            None,
            7,
        )
        assert await store.get(key.id) == changed
        with pytest.raises(ValidationError, match="max_budget"):
            await store.update(key.id, max_budget=float("nan"))
        with pytest.raises(ValidationError, match="colour"):
            await store.update(key.id, colour="red")
        assert await store.update("key_nope", rpm=1) is None
        assert await store.revoke(key.id)
        assert await store.update(key.id, rpm=1) is None  # revoked: no changes
    finally:
        await store.aclose()
