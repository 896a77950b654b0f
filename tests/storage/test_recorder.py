"""UsageRecorder: events written at once or in batches, nothing lost on close."""

from __future__ import annotations

import asyncio

from conduit.storage.events import TokenEvent
from conduit.storage.events_sqlite import SQLiteEventStore
from conduit.storage.recorder import UsageRecorder


def _event(n: int) -> TokenEvent:
    return TokenEvent(provider="fake", model="echo", input_tokens=n)


async def test_each_event_is_committed_before_record_returns() -> None:
    store = SQLiteEventStore(":memory:")
    recorder = UsageRecorder(store)
    await recorder.record(_event(1))
    assert await store.count() == 1
    assert recorder.pending == 0
    await store.aclose()


async def test_a_buffered_recorder_writes_everything_and_closes_while_its_writer_wakes() -> None:
    # More than `max_batch` events wake the writer just as `aclose()` cancels it: on
    # Python 3.11 `asyncio.wait_for` could swallow that cancellation and hang the close.
    for _ in range(30):
        store = SQLiteEventStore(":memory:")
        recorder = UsageRecorder(store, flush_seconds=60, max_batch=8)
        for n in range(20):
            await recorder.record(_event(n))
        await asyncio.sleep(0)
        async with asyncio.timeout(60):  # a hang fails here instead of stalling the suite
            await recorder.aclose()
        assert await store.count() == 20
        assert recorder.unwritten() == []
        await store.aclose()


async def test_events_recorded_after_close_are_written_at_once() -> None:
    store = SQLiteEventStore(":memory:")
    recorder = UsageRecorder(store, flush_seconds=60)
    await recorder.aclose()
    await recorder.record(_event(7))
    assert await store.count() == 1
    await store.aclose()
