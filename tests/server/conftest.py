"""Fixtures for the gateway tests: the scripted OpenAI-compatible upstream, a gateway on
127.0.0.1 (ephemeral port) in front of it, and virtual keys."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conduit.server.app import Gateway
from conduit.server.config import GatewayConfig, parse_config
from conduit.storage.buckets_sqlite import SQLiteBuckets
from conduit.storage.keys import new_key
from tests.support.openai_server import OpenAITestServer

UPSTREAM_KEY = "sk-upstream-secret-0123456789"
# Prices for the "chat" group (USD per token), so budgets and spend are exact numbers.
PRICE_IN, PRICE_OUT = 0.001, 0.002


@pytest.fixture(scope="session")
def upstream() -> Iterator[OpenAITestServer]:
    server = OpenAITestServer().start()
    yield server
    server.stop()


def model_list(base_url: str) -> list[dict[str, Any]]:
    params = {"api_base": base_url, "api_key": UPSTREAM_KEY}
    return [
        {
            "model_name": "chat",
            "litellm_params": {"model": "openai/gpt-4o-mini", **params},
            "model_info": {"input_cost_per_token": PRICE_IN, "output_cost_per_token": PRICE_OUT},
        },
        {
            "model_name": "embed",
            "litellm_params": {"model": "openai/text-embedding-3-small", **params},
        },
    ]


@pytest.fixture
def make_config(upstream: OpenAITestServer, tmp_path: Path) -> Callable[..., GatewayConfig]:
    def make(**server: Any) -> GatewayConfig:
        settings = {
            "database": str(tmp_path / "gateway.sqlite3"),
            "ledger_flush_seconds": 0,
            "key_cache_seconds": 0,
            **server,
        }
        return parse_config(
            {
                "model_list": model_list(upstream.base_url),
                "router_settings": {"num_retries": 0},
                "server": settings,
            }
        )

    return make


class FrozenClock:
    """A wall clock that stands still until a test moves it (`now += seconds`)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def key_clock() -> FrozenClock:
    """The clock of the `gateway`'s per-key rpm/tpm buckets: they refill only when a test
    moves it, so a limit's refusals never depend on how long the calls took."""
    return FrozenClock()


@pytest.fixture
async def gateway(
    make_config: Callable[..., GatewayConfig], key_clock: FrozenClock
) -> AsyncIterator[Gateway]:
    config = make_config()
    # The store the gateway opens by default (its database), on the test's clock.
    buckets = SQLiteBuckets(config.database, clock=key_clock)
    async with Gateway(config, buckets=buckets) as gw:
        await gw.start(port=0)
        yield gw


@pytest.fixture
def add_key(gateway: Gateway) -> Callable[..., Any]:
    async def add(**fields: Any) -> tuple[str, str]:
        key, secret = new_key(**fields)
        await gateway.keys.add(key, secret)
        return key.id, secret

    return add
