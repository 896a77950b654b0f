"""Fixtures for the gateway tests: the scripted OpenAI-compatible upstream, a gateway on
127.0.0.1 (ephemeral port) in front of it, and virtual keys."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conduit.server.app import Gateway
from conduit.server.config import GatewayConfig, parse_config
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


@pytest.fixture
async def gateway(make_config: Callable[..., GatewayConfig]) -> AsyncIterator[Gateway]:
    async with Gateway(make_config()) as gw:
        await gw.start(port=0)
        yield gw


@pytest.fixture
def add_key(gateway: Gateway) -> Callable[..., Any]:
    async def add(**fields: Any) -> tuple[str, str]:
        key, secret = new_key(**fields)
        await gateway.keys.add(key, secret)
        return key.id, secret

    return add


async def fresh_minute(margin: float = 5.0) -> None:
    """Wait for the next minute when fewer than `margin` seconds of this one are left:
    per-minute limits roll over on the minute, and a test must not straddle it."""
    left = 60 - time.time() % 60
    if left < margin:
        await asyncio.sleep(left + 0.05)
