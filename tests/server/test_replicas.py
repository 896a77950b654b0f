"""Two gateway replicas sharing a real Redis (limits) and PostgreSQL (keys, spend,
ledger): a limit of N requests a minute holds across both, spend adds up exactly, and
fifty concurrent requests split over both never spend past a key's budget."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from conduit.server.app import Gateway
from conduit.server.config import parse_config
from conduit.server.usage import key_usage
from conduit.storage.events import EventFilter
from conduit.storage.keys import new_key
from tests.server.conftest import PRICE_IN, PRICE_OUT, model_list
from tests.server.test_spine import ECHO, _check, _fifty, _spend, settled
from tests.storage.redis_server import RedisServer
from tests.support.openai_server import OpenAITestServer
from tests.support.postgres_server import postgres_server

HI = [{"role": "user", "content": "Hello, replicas"}]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server.url
    server.stop()


@pytest.fixture
async def replicas(
    upstream: OpenAITestServer, redis_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Gateway, Gateway]]:
    dsn = await postgres_server().new_database()
    config = {
        "model_list": [*model_list(upstream.base_url), ECHO],
        "router_settings": {"num_retries": 0},
        # A fresh Redis database number per test is not needed: keys carry the key id.
        "server": {
            "database": dsn,
            "redis_url": redis_url,
            "ledger_flush_seconds": 0,
            "key_cache_seconds": 0,
        },
    }
    async with Gateway(parse_config(config)) as one, Gateway(parse_config(config)) as two:
        await one.start(port=0)
        await two.start(port=0)
        yield one, two


async def _call(gateway: Gateway, secret: str, **fields: Any) -> Any:
    async with openai.AsyncOpenAI(base_url=gateway.url, api_key=secret, max_retries=0) as c:
        try:
            return await c.chat.completions.create(model="chat", messages=HI, **fields)
        except openai.RateLimitError as exc:
            return exc


async def test_a_shared_rpm_limit_holds_across_replicas(
    replicas: tuple[Gateway, Gateway],
) -> None:
    one, two = replicas
    limit = 6
    key, secret = new_key(rpm=limit)
    await one.keys.add(key, secret)
    started = time.monotonic()
    results = await asyncio.gather(*(_call(gw, secret) for _ in range(limit) for gw in (one, two)))
    elapsed = time.monotonic() - started
    ok = [r for r in results if not isinstance(r, Exception)]
    limited = [r for r in results if isinstance(r, openai.RateLimitError)]
    # The bucket (on Redis's clock) holds `limit` and refills one request every 10 s: only
    # a burst that took that long could have had more (never on an unloaded machine).
    refilled = int(elapsed * limit / 60)
    assert limit <= len(ok) <= limit + refilled, (len(ok), elapsed)
    assert len(ok) + len(limited) == 2 * limit
    served = {
        gw: await gw.events.count(EventFilter(key_id=key.id, status=200)) for gw in (one, two)
    }
    assert set(served.values()) == {len(ok)}  # one ledger: both replicas see every request


async def test_spend_adds_up_exactly_across_replicas(replicas: tuple[Gateway, Gateway]) -> None:
    one, two = replicas
    key, secret = new_key()
    await two.keys.add(key, secret)  # created through one replica, used on both
    answers = await asyncio.gather(*(_call(gw, secret) for _ in range(5) for gw in (one, two)))
    expected = sum(
        a.usage.prompt_tokens * PRICE_IN + a.usage.completion_tokens * PRICE_OUT for a in answers
    )
    (row,) = await key_usage(one.events, key.id)
    assert row.events == 10
    assert row.cost == pytest.approx(expected, rel=1e-12)
    assert row.input_tokens == sum(a.usage.prompt_tokens for a in answers)


async def test_a_budget_spent_on_one_replica_stops_the_other(
    replicas: tuple[Gateway, Gateway],
) -> None:
    one, two = replicas
    key, secret = new_key(max_budget=0.03)  # one call (0.017 USD, 0.022 reserved) fits
    await one.keys.add(key, secret)
    assert not isinstance(await _call(one, secret, max_tokens=10), Exception)
    refused = await _call(two, secret, max_tokens=10)
    assert isinstance(refused, openai.RateLimitError)
    assert refused.code == "budget_exceeded"


@pytest.mark.parametrize("group", ["echo", "chat"], ids=["typed", "forwarded"])
async def test_fifty_concurrent_requests_on_two_replicas_never_pass_a_key_budget(
    replicas: tuple[Gateway, Gateway], group: str
) -> None:
    one, two = replicas
    key, secret = new_key(max_budget=0.10)
    await one.keys.add(key, secret)
    results = await _fifty([one.url, two.url], secret, group, stream=True)
    await settled(one, two)
    spent, statuses = await _spend(one, key.id)
    _check(results, statuses, spent)


async def test_a_key_revoked_on_one_replica_is_refused_by_the_other_within_a_second(
    upstream: OpenAITestServer, redis_url: str
) -> None:
    # The default key cache (0.5 s): replica two has the key cached when replica one
    # revokes it; once the cache's time has passed, replica two refuses it. Waiting that
    # long (measured on the monotonic clock) is all the test assumes about time.
    dsn = await postgres_server().new_database()
    config = parse_config(
        {
            "model_list": [*model_list(upstream.base_url), ECHO],
            "server": {"database": dsn, "redis_url": redis_url},
        }
    )
    cache_seconds = config.key_cache_seconds
    assert cache_seconds <= 1.0  # the documented promise: revocation within one second
    async with Gateway(config) as one, Gateway(config) as two:
        await one.start(port=0)
        await two.start(port=0)
        key, secret = new_key()
        await one.keys.add(key, secret)
        assert not isinstance(await _call(two, secret), Exception)  # cached on two
        assert await one.keys.revoke(key.id)
        revoked = time.monotonic()
        await asyncio.sleep(cache_seconds + 0.05)
        assert time.monotonic() - revoked > cache_seconds
        with pytest.raises(openai.AuthenticationError):
            async with openai.AsyncOpenAI(base_url=two.url, api_key=secret, max_retries=0) as c:
                await c.chat.completions.create(model="chat", messages=HI)
