"""Odometer storage: events written per second and aggregation time over 1M events,
SQLite and PostgreSQL side by side.

Usage: python benchmarks/odometer.py [--events 1000000] [--postgres DSN]
Without --postgres a throwaway server is started (PostgreSQL's programs must be installed;
see tests/support/postgres_server.py). Floors: the bare driver doing the same inserts.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conduit.odometer import EventStore, PostgresEventStore, SQLiteEventStore, TokenEvent

START = datetime(2025, 1, 1, tzinfo=UTC)


def make_events(n: int) -> list[TokenEvent]:
    rng = random.Random(7)
    models = [("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("anthropic", "claude-haiku")]
    out = []
    for i in range(n):
        provider, model = models[i % 3]
        out.append(
            TokenEvent(
                id=f"e{i}",
                provider=provider,
                model=model,
                input_tokens=rng.randrange(1, 2000),
                output_tokens=rng.randrange(1, 500),
                cost=rng.random() / 100,
                duration=rng.random(),
                timestamp=START + timedelta(seconds=i * 30),
                tag=f"t{i % 10}",
                conversation_id=f"c{i % 1000}",
            )
        )
    return out


async def measure(name: str, store: EventStore, events: list[TokenEvent], single: int) -> None:
    t0 = time.perf_counter()
    for event in events[:single]:
        await store.record(event)
    one_by_one = single / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    rest = events[single:]
    for i in range(0, len(rest), 10_000):
        await store.record_many(rest[i : i + 10_000])
    batched = len(rest) / (time.perf_counter() - t0)
    count = await store.count()
    print(f"{name}: {count} events")
    print(f"  record() one transaction each : {one_by_one:>10,.0f} events/s")
    print(f"  record_many() 10k per batch   : {batched:>10,.0f} events/s")
    for by in (["provider", "model"], ["day"], ["tag"], ["conversation"]):
        t0 = time.perf_counter()
        rows = await store.totals(by)
        print(
            f"  totals by {','.join(by):<16}: {time.perf_counter() - t0:8.3f} s ({len(rows)} rows)"
        )


def sqlite_floor(events: list[TokenEvent], path: Path, single: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE t (id TEXT UNIQUE, ts REAL, day TEXT, provider TEXT, model TEXT, "
                 "i INT, o INT, c INT, cost REAL, d REAL, conv TEXT, tag TEXT)")  # fmt: skip
    rows = [e.row() for e in events[:single]]
    t0 = time.perf_counter()
    for row in rows:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", row)
        conn.execute("COMMIT")
    print(
        f"  floor: bare sqlite3, one transaction each: {single / (time.perf_counter() - t0):,.0f}/s"
    )
    conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--single", type=int, default=20_000)
    parser.add_argument("--postgres")
    args = parser.parse_args()
    t0 = time.perf_counter()
    events = make_events(args.events)
    print(f"made {len(events):,} events in {time.perf_counter() - t0:.1f} s")
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteEventStore(Path(folder) / "usage.sqlite3")
        await measure("SQLite", store, events, args.single)
        await store.aclose()
        sqlite_floor(events, Path(folder) / "floor.sqlite3", args.single)
    dsn, server = args.postgres, None
    if dsn is None:
        from tests.support.postgres_server import postgres_server

        server = postgres_server()
        dsn = await server.new_database()
    pg = PostgresEventStore(dsn)
    await measure("PostgreSQL", pg, events, args.single)
    await pg.aclose()
    if server is not None:
        print("  (throwaway server: fsync=off)")


if __name__ == "__main__":
    asyncio.run(main())
