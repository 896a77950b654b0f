"""`OdometerRegistry`: in-memory counts (session, conversations) and the ledger behind
`persistent_odometer`, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from conduit.core.sync import run_sync
from conduit.odometer import (
    ConversationOdometer,
    OdometerRegistry,
    PersistentOdometer,
    SessionOdometer,
    TokenEvent,
)


def _event(n: int, conversation: str | None = None) -> TokenEvent:
    return TokenEvent(
        provider="openai",
        model="gpt-4o",
        input_tokens=n,
        output_tokens=1,
        conversation_id=conversation,
    )


def test_emitted_events_are_counted_and_kept_in_the_ledger(store_url: str) -> None:
    registry = OdometerRegistry(ledger=store_url)
    try:
        trip = registry.register_conversation_odometer("trip")
        other = registry.register_conversation_odometer("other")
        for n in range(1, 4):
            registry.emit_token_event(_event(n, "trip"))
        registry.emit_token_event(_event(10))  # no conversation: the session only
        assert isinstance(registry.session_odometer, SessionOdometer)
        assert isinstance(trip, ConversationOdometer)
        assert registry.session_odometer.total().input_tokens == 16
        assert (trip.total().events, trip.total().input_tokens) == (3, 6)
        assert other.total().events == 0
        persistent = registry.persistent_odometer
        assert isinstance(persistent, PersistentOdometer)
        assert run_sync(persistent.store.count()) == 4
        rows = run_sync(persistent.stored_totals(by=["conversation"]))
        assert {r.key: r.events for r in rows} == {("trip",): 3, (None,): 1}
    finally:
        registry.close()
    again = OdometerRegistry(ledger=store_url)  # another run reads the same ledger
    try:
        assert again.persistent_odometer is not None
        assert run_sync(again.persistent_odometer.store.count()) == 4
    finally:
        again.close()


def test_count_does_not_write_and_conversations_are_bounded() -> None:
    registry = OdometerRegistry(ledger=False, max_conversations=2)
    for name in ("a", "b", "c"):
        registry.register_conversation_odometer(name)
    assert list(registry.conversation_odometers) == ["b", "c"]  # the oldest went
    registry.count(_event(5, "c"))
    assert registry.conversation_odometers["c"].total().events == 1
    assert registry.persistent_odometer is None
    assert "events=1" in repr(registry)


@pytest.mark.parametrize("bad", [-1, True, 2.5])
def test_a_bad_bound_is_refused(bad: object) -> None:
    from conduit.errors import ValidationError

    with pytest.raises(ValidationError, match="max_conversations"):
        OdometerRegistry(ledger=False, max_conversations=bad)  # type: ignore[arg-type]
