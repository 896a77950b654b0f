"""Spend stores: reserve -> settle on memory, SQLite, PostgreSQL and Redis, one contract.

Time-dependent behaviour (windows, hold expiry) runs on an injected clock, never the
wall clock; the real servers are started on 127.0.0.1 by the suite's fixtures.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from conduit.errors import BudgetExceededError, ValidationError
from conduit.storage import (
    MemorySpendStore,
    PostgresSpendStore,
    RedisSpendStore,
    Reservation,
    SpendLimit,
    SpendStore,
    SQLiteSpendStore,
    open_spend_store,
)
from conduit.storage.spend import SLOTS, fits, safe_url, slot_of
from tests.support.postgres_server import postgres_server

BACKENDS = ["memory", "sqlite", "postgres", "redis"]
T0 = 1_700_000_000.0  # a whole number of seconds: slot edges are easy to reason about


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


Make = Callable[..., SpendStore]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=BACKENDS)
async def make(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> AsyncIterator[Make]:
    """`make(**options)`: a new store object on this test's one backing (a file, a
    database, a Redis prefix), so two objects share their budgets like two processes
    would. Memory has no backing: every call returns the one store."""
    backend: str = request.param
    made: list[SpendStore] = []
    dsn = await postgres_server().new_database() if backend == "postgres" else ""
    redis_url = request.getfixturevalue("redis_server").url if backend == "redis" else ""
    prefix = f"t{uuid.uuid4().hex[:10]}:"
    memory: list[MemorySpendStore] = []

    def make(hold_seconds: float = 600.0, clock: Callable[[], float] | None = clock) -> SpendStore:
        store: SpendStore
        if backend == "memory":
            if not memory:
                memory.append(MemorySpendStore(hold_seconds=hold_seconds, clock=clock or Clock()))
            return memory[0]
        if backend == "sqlite":
            store = SQLiteSpendStore(
                tmp_path / "spend.sqlite3", hold_seconds=hold_seconds, clock=clock or Clock()
            )
        elif backend == "postgres":
            store = PostgresSpendStore(dsn, hold_seconds=hold_seconds, clock=clock, max_size=5)
        else:
            store = RedisSpendStore(
                url=redis_url, prefix=prefix, hold_seconds=hold_seconds, clock=clock
            )
        made.append(store)
        return store

    yield make
    for store in made:
        await store.aclose()


async def test_settle_replaces_the_hold(make: Make) -> None:
    store = make()
    cap = SpendLimit("key", "k1", max_usd=0.10)
    held = await store.reserve([cap], 0.05)
    assert isinstance(held, Reservation)
    assert held.amount == 0.05
    assert held.limits == (cap,)
    assert held.created == T0
    assert held.expires == T0 + 600
    assert await store.spent(cap) == pytest.approx(0.05)
    await store.settle(held, 0.01)  # the call was cheaper than its worst case
    assert await store.spent(cap) == pytest.approx(0.01)


async def test_a_refusal_names_the_first_limit_and_holds_nothing(make: Make) -> None:
    store = make()
    roomy = SpendLimit("user", "alice", max_usd=1.0)
    tight = SpendLimit("tag", "nightly", max_usd=0.02, window=3600)
    await store.reserve([roomy, tight], 0.01)
    with pytest.raises(BudgetExceededError) as info:
        await store.reserve([roomy, tight], 0.015)
    error = info.value
    assert (error.scope, error.name, error.limit) == ("tag", "nightly", 0.02)
    assert error.spent == pytest.approx(0.01)
    assert "tag 'nightly'" in str(error)
    assert not error.retryable
    # All or nothing: the refused reservation held nothing under the roomy limit either.
    assert await store.spent(roomy) == pytest.approx(0.01)
    assert await store.spent(tight) == pytest.approx(0.01)
    with pytest.raises(BudgetExceededError) as info:
        await store.reserve([SpendLimit("tag", "nightly", 0.015, window=3600), roomy], 0.01)
    assert info.value.limit == 0.015  # the first that would be passed, in order


async def test_a_spent_limit_refuses_even_a_reservation_of_zero(make: Make) -> None:
    store = make()
    cap = SpendLimit("key", "k2", max_usd=0.02)
    free = await store.reserve([cap], 0.0)  # prices unknown: reserve 0 while room is left
    await store.release(free)
    await store.settle(await store.reserve([cap], 0.02), 0.02)  # exactly the limit: fine
    with pytest.raises(BudgetExceededError):
        await store.reserve([cap], 0.0)
    with pytest.raises(BudgetExceededError):  # a budget of $0 allows nothing
        await store.reserve([SpendLimit("key", "nothing", max_usd=0)], 0.0)


async def test_settle_is_idempotent_and_release_frees(make: Make) -> None:
    store = make()
    cap = SpendLimit("global", "*", max_usd=1.0)
    held = await store.reserve([cap], 0.5)
    await store.settle(held, 0.2)
    await store.settle(held, 0.2)
    await store.settle(held, 0.9)  # a second settle changes nothing
    await store.release(held)  # nor does a release after a settle
    assert await store.spent(cap) == pytest.approx(0.2)
    other = await store.reserve([cap], 0.7)
    assert await store.spent(cap) == pytest.approx(0.9)
    await store.release(other)
    await store.release(other)
    assert await store.spent(cap) == pytest.approx(0.2)


async def test_limits_on_one_key_share_their_spend(make: Make) -> None:
    store = make()
    big = SpendLimit("user", "bob", max_usd=1.0, window=86_400)
    small = SpendLimit("user", "bob", max_usd=0.05, window=86_400)
    held = await store.reserve([big, small, big], 0.04)  # held once, counted by both
    assert await store.spent(big) == pytest.approx(0.04)
    with pytest.raises(BudgetExceededError) as info:
        await store.reserve([big, small], 0.02)
    assert info.value.limit == 0.05
    await store.settle(held, 0.03)
    assert await store.spent(small) == pytest.approx(0.03)
    # Another window is another series: nothing spent there yet.
    assert await store.spent(SpendLimit("user", "bob", 1.0, window=3600)) == 0.0


async def test_spend_leaves_a_rolling_window(make: Make, clock: Clock) -> None:
    store = make()
    hourly = SpendLimit("key", "k3", max_usd=1.0, window=100)  # slots of 1 s
    ever = SpendLimit("key", "k3", max_usd=1.0)
    await store.settle(await store.reserve([hourly, ever], 0.6), 0.6)
    clock.now = T0 + 50
    with pytest.raises(BudgetExceededError):
        await store.reserve([hourly], 0.5)
    clock.now = T0 + 100.5  # the slot it was spent in is still partly inside: counted
    assert await store.spent(hourly) == pytest.approx(0.6)
    clock.now = T0 + 101
    assert await store.spent(hourly) == 0.0
    await store.release(await store.reserve([hourly], 0.9))
    assert await store.spent(ever) == pytest.approx(0.6)  # for ever is for ever


async def test_an_expired_hold_counts_at_its_reserved_amount(make: Make, clock: Clock) -> None:
    store = make(hold_seconds=60)
    cap = SpendLimit("key", "crashed", max_usd=1.0)
    held = await store.reserve([cap], 0.3)  # ... and the process dies without settling
    clock.now = T0 + 61
    assert await store.spent(cap) == pytest.approx(0.3)
    with pytest.raises(BudgetExceededError):
        await store.reserve([cap], 0.75)  # the expired hold still counts
    await store.release(await store.reserve([cap], 0.7))
    # A settle after the expiry keeps the reserved amount: it may come from a call that
    # outlived its hold, but it cannot free money a crash would have kept.
    await store.settle(held, 0.01)
    assert await store.spent(cap) == pytest.approx(0.3)


async def test_an_expired_hold_rolls_out_of_its_window(make: Make, clock: Clock) -> None:
    store = make(hold_seconds=60)
    window = SpendLimit("user", "carol", max_usd=1.0, window=100)
    await store.reserve([window], 0.8)
    clock.now = T0 + 61  # expired: counted as spent at T0 + 60
    assert await store.spent(window) == pytest.approx(0.8)
    with pytest.raises(BudgetExceededError):
        await store.reserve([window], 0.3)
    clock.now = T0 + 60 + 101  # one window (and a slot) after it became spend
    assert await store.spent(window) == 0.0
    await store.reserve([window], 0.9)


async def test_concurrent_callers_never_pass_a_budget(make: Make) -> None:
    """Fifty callers on two store objects (two processes' worth), $0.01 each, a $0.10
    budget: exactly ten get through."""
    stores = [make(), make()]
    cap = SpendLimit("key", "busy", max_usd=0.10, window=3600)

    async def call(i: int) -> Reservation | BudgetExceededError:
        try:
            return await stores[i % 2].reserve([cap], 0.01)
        except BudgetExceededError as exc:
            return exc

    results = await asyncio.gather(*(call(i) for i in range(50)))
    held = [r for r in results if isinstance(r, Reservation)]
    assert len(held) == 10
    for r in results:
        if isinstance(r, BudgetExceededError):
            assert r.spent is not None
            assert r.spent <= 0.10 + 1e-9
    assert await stores[0].spent(cap) == pytest.approx(0.10)
    await asyncio.gather(*(stores[i % 2].settle(r, 0.004) for i, r in enumerate(held)))
    assert await stores[1].spent(cap) == pytest.approx(0.04)


async def test_a_reservation_without_limits_holds_nothing(make: Make) -> None:
    store = make()
    held = await store.reserve([], 1e9)
    assert held.limits == ()
    await store.settle(held, 1.0)
    await store.release(held)


@pytest.mark.parametrize("backend", ["postgres", "redis"])
async def test_the_servers_clock_by_default(backend: str, request: pytest.FixtureRequest) -> None:
    cap = SpendLimit("key", "server-clock", max_usd=1.0, window=60)
    store: SpendStore
    if backend == "postgres":
        store = PostgresSpendStore(await postgres_server().new_database())
    else:
        store = RedisSpendStore(url=request.getfixturevalue("redis_server").url, prefix="sc:")
    try:
        held = await store.reserve([cap], 0.5)
        assert abs(held.expires - held.created - 3600) < 1e-6
        assert held.created > T0
        await store.settle(held, 0.25)
        assert await store.spent(cap) == pytest.approx(0.25)
    finally:
        await store.aclose()


async def test_redis_keys_of_a_window_expire_and_for_ever_stay(
    request: pytest.FixtureRequest,
) -> None:
    import redis.asyncio

    url = request.getfixturevalue("redis_server").url
    client = redis.asyncio.Redis.from_url(url)
    store = RedisSpendStore(client, prefix="ttl:", hold_seconds=60)
    try:
        windowed = SpendLimit("key", "w", max_usd=1.0, window=100)
        ever = SpendLimit("key", "e", max_usd=1.0)
        await store.settle(await store.reserve([windowed, ever], 0.1), 0.1)
        ttl = await client.pttl("ttl:key:100.0:w:s")
        assert (60 + 100) * 1000 < ttl <= (60 + 100 + 1) * 1000 + 1000
        assert await client.pttl("ttl:key:0.0:e:s") == -1
        assert repr(store) == "RedisSpendStore(prefix='ttl:')"
    finally:
        await store.aclose()  # a client we passed stays open
        await client.aclose()


# -- bad input ------------------------------------------------------------------------------

BAD_NUMBERS = [math.nan, math.inf, -math.inf, -1, True, None, "1"]


@pytest.mark.parametrize("value", BAD_NUMBERS)
async def test_bad_amounts_are_refused_naming_the_argument(make: Make, value: Any) -> None:
    store = make()
    cap = SpendLimit("key", "k", max_usd=1.0)
    with pytest.raises(ValidationError, match="amount"):
        await store.reserve([cap], value)
    held = await store.reserve([cap], 0.1)
    with pytest.raises(ValidationError, match="actual_usd"):
        await store.settle(held, value)
    assert await store.spent(cap) == pytest.approx(0.1)  # the hold is untouched


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_bad_limits_are_refused_naming_the_argument(value: Any) -> None:
    with pytest.raises(ValidationError, match="max_usd"):
        SpendLimit("key", "k", max_usd=value)
    if value is not None:  # None is "for ever"
        with pytest.raises(ValidationError, match="window"):
            SpendLimit("key", "k", max_usd=1.0, window=value)
    with pytest.raises(ValidationError, match="hold_seconds"):
        MemorySpendStore(hold_seconds=value)
    with pytest.raises(ValidationError, match="hold_seconds"):
        SQLiteSpendStore(":memory:", hold_seconds=value)
    with pytest.raises(ValidationError, match="hold_seconds"):
        PostgresSpendStore("postgresql://127.0.0.1/x", hold_seconds=value)
    with pytest.raises(ValidationError, match="hold_seconds"):
        RedisSpendStore(url="redis://127.0.0.1:1/0", hold_seconds=value)


def test_zero_windows_and_odd_names_are_refused() -> None:
    with pytest.raises(ValidationError, match="window"):
        SpendLimit("key", "k", max_usd=1.0, window=0)
    with pytest.raises(ValidationError, match="scope"):
        SpendLimit("a key", "k", max_usd=1.0)
    with pytest.raises(ValidationError, match="scope"):
        SpendLimit("", "k", max_usd=1.0)
    with pytest.raises(ValidationError, match="name"):
        SpendLimit("key", "", max_usd=1.0)
    with pytest.raises(ValidationError, match="name"):
        SpendLimit("key", None, max_usd=1.0)  # type: ignore[arg-type]


async def test_limits_must_be_spend_limits() -> None:
    store = MemorySpendStore()
    with pytest.raises(ValidationError, match="SpendLimit"):
        await store.reserve([("key", "k", 1.0)], 0.1)  # type: ignore[list-item]
    cap = SpendLimit("key", "k", 1.0)
    assert (await store.reserve(cap, 0.1)).limits == (cap,)  # type: ignore[arg-type]


# -- pieces -----------------------------------------------------------------------------------


def test_slots_and_fits() -> None:
    assert slot_of(100.0, 250.0) == 250 // (100 / SLOTS)
    assert slot_of(0.0, 1e9) == 0
    assert SpendLimit("k", "n", 1, window=100).start(T0 + 100.5) == T0
    assert fits(0.09999999999999999, 0.0, 0.1) is False  # float sums of ten 0.01s
    assert fits(0.09, 0.01, 0.1) is True
    assert fits(0.0, 0.0, 0.0) is False


def test_open_spend_store_by_url(tmp_path: Path) -> None:
    assert isinstance(open_spend_store(), MemorySpendStore)
    assert isinstance(open_spend_store(":memory:"), MemorySpendStore)
    path = tmp_path / "s.sqlite3"
    assert isinstance(open_spend_store(path), SQLiteSpendStore)
    found = open_spend_store(f"sqlite:///{path}")
    assert isinstance(found, SQLiteSpendStore)
    assert found.path == str(path)
    assert isinstance(open_spend_store("postgresql://u:pw@127.0.0.1/db"), PostgresSpendStore)
    assert isinstance(open_spend_store("redis://127.0.0.1:1/0", hold_seconds=5), RedisSpendStore)
    with pytest.raises(ValidationError, match="url"):
        open_spend_store("")


def test_no_secrets_in_reprs() -> None:
    assert "pw" not in repr(PostgresSpendStore("postgresql://u:pw@127.0.0.1/db"))
    assert "pw" not in repr(RedisSpendStore(url="redis://:pw@127.0.0.1:1/0"))
    assert safe_url("postgresql://127.0.0.1/db") == "postgresql://127.0.0.1/db"
    assert safe_url("redis://u:p%40ss@h:1/0") == "redis://u:***@h:1/0"
    assert isinstance(MemorySpendStore(), SpendStore)


async def test_the_memory_store_forgets_windows_nothing_counts_in_any_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("conduit.storage.spend._FORGET_EVERY", 2)
    clock = Clock()
    store = MemorySpendStore(clock=clock, hold_seconds=10)
    old = SpendLimit("user", "gone", max_usd=1.0, window=100)
    ever = SpendLimit("user", "kept", max_usd=1.0)
    await store.settle(await store.reserve([old], 0.5), 0.5)
    await store.settle(await store.reserve([ever], 0.5), 0.5)
    assert repr(store) == "MemorySpendStore(2 limits)"
    clock.now = T0 + 200
    busy = SpendLimit("global", "*", max_usd=1e6)
    await store.release(await store.reserve([busy], 0.1))
    await store.release(await store.reserve([busy], 0.1))
    assert repr(store) == "MemorySpendStore(2 limits)"  # "gone" went; "*" came
    assert await store.spent(old) == 0.0
    assert await store.spent(ever) == pytest.approx(0.5)


@pytest.mark.parametrize("seed", range(4))
async def test_every_backend_keeps_the_same_books(
    seed: int, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """One random run of reservations, settles, releases, expiries and window roll-overs,
    played on all four backends at once: they refuse the same calls, report the same
    spend after every step, and no limit is ever passed."""
    import random

    rng = random.Random(seed)
    clock = Clock()
    stores: list[SpendStore] = [
        MemorySpendStore(hold_seconds=30, clock=clock),
        SQLiteSpendStore(tmp_path / "books.sqlite3", hold_seconds=30, clock=clock),
        PostgresSpendStore(await postgres_server().new_database(), hold_seconds=30, clock=clock),
        RedisSpendStore(
            url=request.getfixturevalue("redis_server").url,
            prefix=f"books{uuid.uuid4().hex[:8]}:",
            hold_seconds=30,
            clock=clock,
        ),
    ]
    # Two limits on one key (one series) always apply together: a call under only the
    # larger one could otherwise pass the smaller one, which did not apply to it.
    groups = [
        [SpendLimit("user", "u", max_usd=1.0, window=50), SpendLimit("user", "u", 0.6, 50)],
        [SpendLimit("tag", "t", max_usd=2.0)],
        [SpendLimit("global", "*", max_usd=1.5, window=200)],
    ]
    limits = [limit for group in groups for limit in group]
    held: list[list[Reservation]] = []
    try:
        for _ in range(60):
            step = rng.random()
            if step < 0.5 or not held:
                chosen = [x for g in rng.sample(groups, rng.randint(1, 3)) for x in g]
                amount = round(rng.uniform(0, 0.3), 4)
                outcomes: list[Reservation | None] = []
                for store in stores:
                    try:
                        outcomes.append(await store.reserve(chosen, amount))
                    except BudgetExceededError:
                        outcomes.append(None)
                assert len({o is None for o in outcomes}) == 1, (chosen, amount, outcomes)
                if outcomes[0] is not None:
                    held.append([o for o in outcomes if o is not None])
            elif step < 0.8:
                reservations = held.pop(rng.randrange(len(held)))
                worst = reservations[0].amount  # a call never costs more than its worst case
                actual = round(rng.uniform(0, worst), 4) if rng.random() < 0.7 else 0.0
                for store, reservation in zip(stores, reservations, strict=True):
                    await store.settle(reservation, actual)
            else:
                clock.now += rng.choice([1, 5, 20, 31, 60])
            for limit in limits:
                books = [await store.spent(limit) for store in stores]
                assert max(books) - min(books) < 1e-9, (limit, books)
                assert books[0] <= limit.max_usd + 1e-9  # never past a limit
    finally:
        for store in stores:
            await store.aclose()
