"""Dependencies fail clearly: with Redis or PostgreSQL down, the keys that need it get
503 with `Retry-After` and a JSON body naming it, the keys that do not keep working,
`/health/readiness` reports each dependency, and the outage is one log line, not one
per request. A limit configured to fail open is not counted while its store is down."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conduit.server.app import Gateway
from conduit.server.config import GatewayConfig, parse_config
from conduit.storage.keys import new_key
from tests.server.conftest import model_list
from tests.server.live import PostgresProcess, RedisProcess
from tests.server.test_admin import call, chat
from tests.support.openai_server import OpenAITestServer

MASTER = "sk-master-admin-0123456789"


@pytest.fixture
def make(upstream: OpenAITestServer, tmp_path: Path) -> Callable[..., GatewayConfig]:
    def config(**server: Any) -> GatewayConfig:
        return parse_config(
            {
                "model_list": model_list(upstream.base_url),
                "router_settings": {"num_retries": 0},
                "server": {"master_key": MASTER, "key_cache_seconds": 0, **server},
            }
        )

    return config


def _outage_lines(caplog: pytest.LogCaptureFixture, name: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "conduit.server.dependencies" and f"{name} (" in r.getMessage()
    ]


async def test_redis_down(
    make: Callable[..., GatewayConfig], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="conduit.server.dependencies")
    redis = RedisProcess(tmp_path / "redis")
    try:
        database = str(tmp_path / "g.sqlite3")
        async with (
            Gateway(make(database=database, redis_url=redis.url)) as gateway,
            Gateway(make(database=database, redis_url=redis.url, fail_open=["rpm"])) as lenient,
        ):
            await gateway.start(port=0)
            await lenient.start(port=0)
            limited, limited_secret = new_key(rpm=1000)
            plain, plain_secret = new_key()
            for key, secret in ((limited, limited_secret), (plain, plain_secret)):
                await gateway.keys.add(key, secret)
            assert (await chat(gateway, limited_secret))[0] == 200
            status, ready = await call(gateway, "GET", "/health/readiness", None)
            assert (status, ready["dependencies"]["redis"]["status"]) == (200, "up")

            redis.stop()
            for _ in range(5):
                status, body = await chat(gateway, limited_secret)
                assert status == 503
                assert body["error"]["code"] == "dependency_unavailable"
                assert body["error"]["dependency"] == "redis"
                # A key with no rpm/tpm never needs Redis.
                assert (await chat(gateway, plain_secret))[0] == 200
            # Fail-open: the rpm limit is not counted while Redis is down.
            assert (await chat(lenient, limited_secret))[0] == 200
            status, ready = await call(gateway, "GET", "/health/readiness", None)
            assert status == 503
            assert ready["dependencies"]["redis"]["status"] == "down"
            assert ready["dependencies"]["database"]["status"] == "up"
            assert len(_outage_lines(caplog, "redis")) == 2  # one per gateway

            redis.start()
            status, _ = await chat(gateway, limited_secret)
            while status == 503:  # the next probe (at most a second away) finds it back
                status, _ = await chat(gateway, limited_secret)
            assert status == 200
            assert any("answers again" in line for line in _outage_lines(caplog, "redis"))
    finally:
        redis.stop()


async def test_retry_after_on_a_dependency_503(
    make: Callable[..., GatewayConfig], tmp_path: Path
) -> None:
    from tests.server.test_money import _key

    redis = RedisProcess(tmp_path / "redis")
    database = str(tmp_path / "g.sqlite3")
    try:
        async with Gateway(make(database=database, redis_url=redis.url)) as gateway:
            url = await gateway.start(port=0)
            _, secret = await _key(gateway, tpm=100_000)
            redis.stop()
            # Readiness asks Redis itself: no request has to fail first.
            status, ready = await call(gateway, "GET", "/health/readiness", None)
            assert (status, ready["dependencies"]["redis"]["status"]) == (503, "down")
            import aiohttp

            async with (
                aiohttp.ClientSession(headers={"Authorization": f"Bearer {secret}"}) as s,
                s.post(
                    f"{url}/chat/completions",
                    json={"model": "chat", "messages": [{"role": "user", "content": "x"}]},
                ) as response,
            ):
                assert response.status == 503
                assert response.headers["Content-Type"].startswith("application/json")
                assert int(response.headers["Retry-After"]) >= 1
    finally:
        redis.stop()


async def test_postgresql_down(
    make: Callable[..., GatewayConfig], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="conduit.server.dependencies")
    postgres = PostgresProcess(name="outage")
    try:
        dsn = await postgres.new_database()
        async with Gateway(make(database=dsn)) as gateway:
            await gateway.start(port=0)
            budget, budget_secret = new_key(max_budget=100.0)
            plain, plain_secret = new_key()
            for key, secret in ((budget, budget_secret), (plain, plain_secret)):
                await gateway.keys.add(key, secret)
            for secret in (budget_secret, plain_secret):
                assert (await chat(gateway, secret))[0] == 200  # seen: cached

            postgres.halt()
            for _ in range(5):
                status, body = await chat(gateway, budget_secret)
                assert (status, body["error"]["dependency"]) == (503, "database")
                # No budget: a key seen lately works from the cache; its ledger event
                # waits in memory until the database is back.
                assert (await chat(gateway, plain_secret))[0] == 200
            _, unseen = new_key()
            status, body = await chat(gateway, unseen)
            assert (status, body["error"]["code"]) == (503, "dependency_unavailable")
            status, ready = await call(gateway, "GET", "/health/readiness", None)
            assert status == 503
            assert ready["dependencies"]["database"]["status"] == "down"
            assert len(_outage_lines(caplog, "database")) == 1

            postgres.resume()
            status, _ = await chat(gateway, budget_secret)
            while status == 503:  # the next probe finds it back
                status, _ = await chat(gateway, budget_secret)
            assert status == 200
            await gateway.recorder.flush()
            events = await gateway.events.events()
            assert sum(e.key_id == plain.id for e in events) == 6  # none lost
    finally:
        postgres.stop()
