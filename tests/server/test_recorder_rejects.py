"""One event the ledger refuses (bad data, not an outage) is dropped and logged; the
events queued beside it are still written and the ledger keeps advancing."""

from __future__ import annotations

import asyncio
import logging

import pytest

from conduit.server.usage import GatewayRecorder
from conduit.storage.events import TokenEvent
from conduit.storage.events_sqlite import SQLiteEventStore


async def test_a_refused_event_does_not_stop_the_ledger(caplog: pytest.LogCaptureFixture) -> None:
    store = SQLiteEventStore(":memory:")
    recorder = GatewayRecorder(store, flush_seconds=0.01)
    good = [TokenEvent(provider="p", model=f"m{i}", input_tokens=1) for i in range(3)]
    # A count past SQLite's 64-bit integers: the driver refuses the row (OverflowError).
    bad = TokenEvent(provider="p", model="bad", input_tokens=2**64)
    with caplog.at_level(logging.ERROR, logger="conduit.server.usage"):
        # Recorded together, so they meet in one batch.
        await asyncio.gather(*(recorder.record(e) for e in (good[0], bad, *good[1:])))
        await recorder.record(TokenEvent(provider="p", model="after", input_tokens=1))
    written = sorted(e.model for e in await store.events())
    assert written == ["after", "m0", "m1", "m2"]
    assert recorder.rejected == 1
    assert recorder.pending == 0
    assert any("refused an event" in r.getMessage() for r in caplog.records)
    await recorder.aclose()
    await store.aclose()
