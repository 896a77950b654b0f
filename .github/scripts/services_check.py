"""The usage ledger on PostgreSQL and the answer cache on Redis, against the servers the
CI job runs as service containers (the test suite starts private servers of its own).

    CONDUIT_TEST_POSTGRES_URL=postgresql://... CONDUIT_TEST_REDIS_URL=redis://... \\
        python .github/scripts/services_check.py
"""

from __future__ import annotations

import asyncio
import os
import uuid

import redis.asyncio

import conduit
from conduit.interceptors import Cache, RecordUsage, with_interceptors
from conduit.storage import RedisCache
from conduit.storage.ledger import open_ledger


async def main() -> None:
    ledger = open_ledger(os.environ["CONDUIT_TEST_POSTGRES_URL"])
    client = redis.asyncio.Redis.from_url(os.environ["CONDUIT_TEST_REDIS_URL"])
    question = f"services check {uuid.uuid4()}"  # a fresh cache key on every run
    try:
        before = await ledger.count()
        model = with_interceptors(
            conduit.model("fake/echo"), [RecordUsage(ledger, tag="ci"), Cache(RedisCache(client))]
        )
        first = await model.chat(question)
        second = await model.chat(question)
        assert (first.text, first.metadata["cache_hit"]) == (question, False), first
        assert (second.text, second.metadata["cache_hit"]) == (question, True), second
        recorded = await ledger.count() - before
        assert recorded == 2, f"{recorded} events recorded for two calls"
        print(f"PostgreSQL ledger: {recorded} events; Redis cache: a miss, then a hit")
    finally:
        await ledger.aclose()
        await client.aclose()


if __name__ == "__main__":
    asyncio.run(main())
