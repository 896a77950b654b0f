"""Several stores opening the same new SQLite file at once all get it (WAL is switched on
under the write lock, which SQLite refuses at once instead of waiting)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from conduit.storage.events import TokenEvent
from conduit.storage.events_sqlite import SQLiteEventStore
from conduit.storage.keys_sqlite import SQLiteKeyStore
from conduit.storage.spend import SpendLimit
from conduit.storage.spend_sqlite import SQLiteSpendStore


async def test_stores_opening_one_new_file_together_all_open_it(tmp_path: Path) -> None:
    for round_ in range(10):
        path = tmp_path / f"shared-{round_}.sqlite3"
        events = [SQLiteEventStore(path) for _ in range(3)]
        keys = [SQLiteKeyStore(str(path)) for _ in range(3)]
        spends = [SQLiteSpendStore(path) for _ in range(3)]
        limit = SpendLimit("key", "k", 1.0)
        await asyncio.gather(
            *(store.record(TokenEvent(provider="p", model="m")) for store in events),
            *(store.list() for store in keys),
            *(store.spent(limit) for store in spends),
        )
        assert await events[0].count() == 3
        for store in [*events, *keys, *spends]:
            await store.aclose()
