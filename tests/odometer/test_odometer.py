from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conduit.errors import ValidationError
from conduit.odometer import (
    EventFilter,
    Odometer,
    PersistentOdometer,
    SQLiteEventStore,
    TokenEvent,
    UsageReport,
    event_from_response,
    stats,
    stats_sync,
)
from conduit.schema import Response, Usage

WHEN = datetime(2025, 5, 1, tzinfo=UTC)


def answer(**fields) -> Response:
    base = {
        "model": "gpt-4o",
        "provider": "openai",
        "usage": Usage(input_tokens=10, output_tokens=2),
    }
    return Response(**(base | fields))


def test_event_from_response_fields_and_cost_sources() -> None:
    event = event_from_response(
        answer(duration=0.5, usage=Usage(input_tokens=10, cache_read_tokens=4)),
        conversation_id="c", tag="t", timestamp=WHEN,
    )  # fmt: skip
    assert (event.provider, event.model, event.cached_tokens, event.duration) == (
        "openai", "gpt-4o", 4, 0.5,
    )  # fmt: skip
    assert event.conversation_id == "c"
    assert event.tag == "t"
    assert event.timestamp == WHEN
    assert event.cost is not None
    assert event.cost > 0
    assert event_from_response(answer(cost=0.0)).cost == 0.0  # the answer's own cost wins
    assert event_from_response(answer(provider="nobody-here")).cost is None
    split = event_from_response(Response(model="anthropic/claude-haiku-4-5"))
    assert (split.provider, split.model) == ("anthropic", "claude-haiku-4-5")
    bare = event_from_response(Response())
    assert (bare.provider, bare.model, bare.cost) == ("unknown", "unknown", None)
    assert event_from_response(Response(model="m"), provider="local").provider == "local"


def test_token_event_validation_and_time() -> None:
    naive = TokenEvent(provider="p", model="m", timestamp=datetime(2025, 1, 1, 23, 30))
    assert naive.timestamp.tzinfo is UTC
    assert naive.day == "2025-01-01"
    plus2 = TokenEvent(
        provider="p", model="m",
        timestamp=datetime(2025, 1, 2, 1, 0, tzinfo=UTC) .astimezone(
            __import__("datetime").timezone(timedelta(hours=2))),
    )  # fmt: skip
    assert plus2.day == "2025-01-02"
    assert plus2.timestamp.tzinfo is UTC
    with pytest.raises(ValidationError):
        TokenEvent(provider="p", model="m", input_tokens=-1)
    with pytest.raises(ValidationError):
        TokenEvent(provider="", model="m")


def test_session_and_conversation_odometers() -> None:
    session = Odometer(tag="run")
    a, b = session.conversation("a"), session.conversation("b")
    a.record_response(answer())
    a.record_response(answer(model="gpt-4o-mini"), tag="special")
    b.record_response(answer())
    session.record(TokenEvent(provider="x", model="y", input_tokens=1))
    assert a.total().events == 2
    assert b.total().events == 1
    assert session.total().events == 4
    assert session.total().input_tokens == 31
    by_conv = {r.key: r.events for r in session.totals(["conversation"])}
    assert by_conv == {(None,): 1, ("a",): 2, ("b",): 1}
    assert {r.key for r in session.totals(["tag"])} == {("run",), ("special",)}
    assert repr(session) == "Odometer(events=4)"
    report = session.report()
    assert isinstance(report, UsageReport)
    assert report.total().events == 4
    assert "openai" in str(report)
    assert "UsageReport(by=('provider', 'model')" in repr(report)


async def test_persistent_odometer_counts_across_runs(tmp_path) -> None:
    path = tmp_path / "usage.sqlite3"
    for _ in range(2):  # two "runs"
        store = SQLiteEventStore(path)
        session = PersistentOdometer(store, tag="cli")
        chat = session.conversation("c1")
        await chat.arecord_response(answer())
        await session.arecord(TokenEvent(provider="p", model="m", output_tokens=3))
        assert session.total().events == 2
        assert chat.total().events == 1
        stored = await session.stored_totals(["conversation"])
        await store.aclose()
    assert {r.key: r.events for r in stored} == {(None,): 2, ("c1",): 2}


async def test_stats_from_odometer_store_and_default(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CONDUIT_DATA_DIR", str(tmp_path))
    odo = Odometer()
    odo.record(TokenEvent(provider="a", model="m", input_tokens=1, timestamp=WHEN, tag="x"))
    odo.record(
        TokenEvent(provider="b", model="m", input_tokens=2, timestamp=WHEN + timedelta(days=2))
    )
    assert [r.key for r in (await stats(odo, by=["provider"])).rows] == [("a",), ("b",)]
    filtered = await stats(odo, by=["day"], filters=EventFilter(since=WHEN + timedelta(days=1)))
    assert [r.key for r in filtered.rows] == [("2025-05-03",)]
    assert (await stats(odo, filters=EventFilter(until=WHEN + timedelta(days=1)))).rows[
        0
    ].events == 1
    assert (await stats(odo, filters=EventFilter(tag="x", provider="a"))).total().events == 1
    assert (await stats(odo, filters=EventFilter(tag="nope"))).rows == []
    with pytest.raises(ValidationError):
        await stats(odo, by=["nope"])
    store = SQLiteEventStore(tmp_path / "usage.sqlite3")
    await store.record_many(odo.events)
    await store.aclose()
    assert (await stats()).total().events == 2
    assert stats_sync(by=["model"]).rows[0].events == 2


async def test_persistent_odometer_writes_through_the_recorder_into_the_one_ledger(
    tmp_path, monkeypatch
) -> None:
    from conduit.storage.ledger import open_ledger
    from conduit.storage.recorder import UsageRecorder

    monkeypatch.setenv("CONDUIT_DATA_DIR", str(tmp_path))
    odometer = PersistentOdometer(tag="job")  # the one ledger, opened here
    assert isinstance(odometer.recorder, UsageRecorder)
    await odometer.conversation("c1").arecord_response(answer())
    await odometer.aclose()  # closes the ledger it opened
    ledger = open_ledger()
    try:
        [event] = await ledger.events()
    finally:
        await ledger.aclose()
    assert (event.tag, event.conversation_id) == ("job", "c1")

    store = SQLiteEventStore(":memory:")
    shared = UsageRecorder(store)
    first, second = PersistentOdometer(shared), PersistentOdometer(shared, tag="b")
    await first.arecord_response(answer())
    await second.arecord_response(answer())
    assert await store.count() == 2
    await first.aclose()  # a recorder or store passed in stays open
    assert await store.count() == 2
    await store.aclose()
    with pytest.raises(ValidationError, match="store"):
        PersistentOdometer(False)  # type: ignore[arg-type]


def test_a_report_shows_any_key_as_text() -> None:
    odo = Odometer()
    odo.record(TokenEvent(provider="p", model="m", status=429))
    odo.record(TokenEvent(provider="p", model="m"))
    report = odo.report(by=["status"])
    assert sorted(row[0] for row in report.table()[1:]) == ["-", "429"]
    assert "429" in str(report)


def test_the_odometer_keeps_the_latest_events_and_an_exact_total() -> None:
    odo = Odometer(max_events=3)
    for n in range(10):
        odo.record(TokenEvent(provider="p", model="m", input_tokens=n))
    assert [e.input_tokens for e in odo.events] == [7, 8, 9]
    assert (odo.total().events, odo.total().input_tokens) == (10, 45)
