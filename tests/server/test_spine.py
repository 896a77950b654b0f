"""The gateway on the spine (issue 23): one ledger with the command line and `Model`,
budgets that concurrency cannot overspend on either path, every deployment type priced
and named, and no import from the LiteLLM face."""

from __future__ import annotations

import ast
import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest

import conduit.server
from conduit.providers.fake import MockModel
from conduit.routing import Deployment
from conduit.schema import Prices
from conduit.server.app import Gateway
from conduit.server.config import GatewayConfig, parse_config
from conduit.server.keys import spend_limits
from conduit.storage.events import EventFilter
from conduit.storage.keys import new_key
from tests.server.conftest import model_list
from tests.support.openai_server import OpenAITestServer

# fake/echo answers with the last message; one token per four characters each way.
ECHO_PRICES = {"input_cost_per_token": 0.001, "output_cost_per_token": 0.002}
ECHO = {"model_name": "echo", "litellm_params": {"model": "fake/echo"}, "model_info": ECHO_PRICES}
SERVER = Path(conduit.server.__file__).parent


def test_the_gateway_imports_nothing_from_compat() -> None:
    for path in sorted(SERVER.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                assert not name.startswith("conduit.compat"), f"{path.name} imports {name}"
    # Nor does anything it imports load the LiteLLM face.
    code = "import sys, conduit.server.app; print('conduit.compat' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False"


# -- one ledger ---------------------------------------------------------------------------


def _conduit(*args: str, data: Path) -> str:
    environ = {**os.environ, "CONDUIT_DATA_DIR": str(data)}
    environ.pop("CONDUIT_LEDGER", None)
    environ.pop("CONDUIT_NO_LOG", None)
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=environ, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_gateway_request_lands_in_the_ledger_conduit_usage_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONDUIT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CONDUIT_LEDGER", raising=False)
    # The framework face first, in its own process, as a user would run it.
    code = "from conduit import Model; print(Model('fake/echo').query('hi').text)"
    assert _conduit("-c", code, data=tmp_path).strip() == "hi"

    async def through_the_gateway() -> None:
        team = {**ECHO, "model_name": "team-chat"}
        config = parse_config({"model_list": [team], "server": {"require_key": False}})
        assert config.ledger_url() is None  # no database set: the one ledger
        async with Gateway(config) as gateway:
            url = await gateway.start(port=0)
            async with openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0) as client:
                await client.chat.completions.create(
                    model="team-chat", messages=[{"role": "user", "content": "Hello ledger"}]
                )

    asyncio.run(through_the_gateway())
    rows = json.loads(_conduit("-m", "conduit", "usage", "--json", data=tmp_path))
    seen = {(r["provider"], r["model"]): r for r in rows}
    # The framework's row names the model, the gateway's the model group it served.
    assert set(seen) == {("fake", "echo"), ("fake", "team-chat")}
    assert seen["fake", "team-chat"]["events"] == 1
    assert seen["fake", "team-chat"]["input_tokens"] == 3  # "Hello ledger": 12 characters
    assert seen["fake", "team-chat"]["cost_usd"] == pytest.approx(3 * 0.001 + 3 * 0.002)
    assert seen["fake", "echo"]["events"] == 1


# -- budgets under concurrency ------------------------------------------------------------


async def settled(*gateways: Gateway) -> None:
    """Wait for the requests in flight to finish their books (a client may see its last
    byte before the gateway settles and records the request)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60  # a hang guard
    while True:
        if not any(g.metrics.in_flight for g in gateways) or loop.time() > deadline:
            break
        await asyncio.sleep(0.02)
    for gateway in gateways:
        await gateway.recorder.flush()


async def _spend(gateway: Gateway, key_id: str) -> tuple[float, list[int]]:
    """What the key spent (by the spend store) and the statuses the ledger has for it."""
    await settled(gateway)
    key = await gateway.keys.get(key_id)
    assert key is not None
    (limit,) = spend_limits(key)
    spent = await gateway.spend.spent(limit)
    events = await gateway.events.events(EventFilter(key_id=key_id))
    ledger = sum(e.cost or 0.0 for e in events if e.status == 200)
    assert ledger == pytest.approx(spent, abs=1e-9)
    return spent, sorted(e.status or 0 for e in events)


async def _fifty(urls: list[str], secret: str, model: str, stream: bool = False) -> list[Any]:
    async def one(n: int) -> Any:
        url = urls[n % len(urls)]
        async with openai.AsyncOpenAI(base_url=url, api_key=secret, max_retries=0) as client:
            try:
                if stream and n % 2:
                    chunks = await client.chat.completions.create(
                        model=model,
                        messages=[{"role": "user", "content": f"Hello budget {n:02d}"}],
                        max_tokens=10,
                        stream=True,
                    )
                    return [c async for c in chunks]
                return await client.chat.completions.create(
                    model=model,
                    messages=[{"role": "user", "content": f"Hello budget {n:02d}"}],
                    max_tokens=10,
                )
            except openai.RateLimitError as exc:
                return exc

    return await asyncio.gather(*(one(n) for n in range(50)))


def _check(results: list[Any], statuses: list[int], spent: float) -> None:
    refused = [r for r in results if isinstance(r, openai.RateLimitError)]
    answered = [r for r in results if not isinstance(r, Exception)]
    assert spent <= 0.10 + 1e-9, spent
    assert answered, "some requests fit the budget"
    assert refused, "the budget stopped the rest"
    assert {r.code for r in refused} == {"budget_exceeded"}
    assert statuses.count(200) == len(answered)
    assert statuses.count(429) == len(refused)


@pytest.fixture
def budget_config(upstream: OpenAITestServer, tmp_path: Path) -> Callable[..., GatewayConfig]:
    def make(**server: Any) -> GatewayConfig:
        return parse_config(
            {
                "model_list": [*model_list(upstream.base_url), ECHO],
                "router_settings": {"num_retries": 0},
                "server": {
                    "database": str(tmp_path / "gateway.sqlite3"),
                    "ledger_flush_seconds": 0.05,
                    "key_cache_seconds": 0,
                    **server,
                },
            }
        )

    return make


@pytest.mark.parametrize("group", ["echo", "chat"], ids=["typed", "forwarded"])
async def test_fifty_concurrent_requests_never_pass_a_key_budget(
    budget_config: Callable[..., GatewayConfig], group: str
) -> None:
    async with Gateway(budget_config()) as gateway:
        await gateway.start(port=0)
        assert gateway.forwards(group) == (group == "chat")
        key, secret = new_key(max_budget=0.10)
        await gateway.keys.add(key, secret)
        results = await _fifty([gateway.url], secret, group, stream=True)
        spent, statuses = await _spend(gateway, key.id)
    _check(results, statuses, spent)


# -- every deployment type is priced and named ---------------------------------------------


@pytest.fixture
async def echo_gateway(
    budget_config: Callable[..., GatewayConfig],
) -> AsyncIterator[tuple[Gateway, str, str]]:
    async with Gateway(budget_config()) as gateway:
        await gateway.start(port=0)
        key, secret = new_key(user="ann", tags=["ci", "nightly"])
        await gateway.keys.add(key, secret)
        yield gateway, key.id, secret


async def test_a_typed_deployment_records_provider_tokens_and_cost(
    echo_gateway: tuple[Gateway, str, str],
) -> None:
    gateway, key_id, secret = echo_gateway
    assert not gateway.forwards("echo")
    hello = [{"role": "user", "content": "Hello, typed path"}]  # 17 characters: 5 tokens
    async with openai.AsyncOpenAI(base_url=gateway.url, api_key=secret, max_retries=0) as c:
        answer = await c.chat.completions.create(model="echo", messages=hello)
        chunks = [
            chunk
            async for chunk in await c.chat.completions.create(
                model="echo", messages=hello, stream=True, stream_options={"include_usage": True}
            )
        ]
    assert answer.choices[0].message.content == "Hello, typed path"
    assert answer.model == "echo"
    assert answer.usage is not None
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (5, 5)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello, typed path"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 10
    await gateway.recorder.flush()
    events = await gateway.events.events(EventFilter(key_id=key_id))
    assert len(events) == 2
    for event in events:
        assert (event.provider, event.model, event.status) == ("fake", "echo", 200)
        assert (event.input_tokens, event.output_tokens) == (5, 5)
        assert event.cost == pytest.approx(5 * 0.001 + 5 * 0.002)
        assert (event.user, event.tags, event.tag) == ("ann", ("ci", "nightly"), "ci")
    text = gateway.metrics.render()
    assert 'conduit_cost_usd_total{model="echo"}' in text


async def test_refusals_after_authentication_are_recorded(
    echo_gateway: tuple[Gateway, str, str],
) -> None:
    gateway, _, _ = echo_gateway
    scoped, secret = new_key(models=["chat"], rpm=1)
    await gateway.keys.add(scoped, secret)
    async with openai.AsyncOpenAI(base_url=gateway.url, api_key=secret, max_retries=0) as c:
        with pytest.raises(openai.PermissionDeniedError):
            await c.chat.completions.create(
                model="echo", messages=[{"role": "user", "content": "x"}]
            )
        with pytest.raises(openai.NotFoundError):
            await c.chat.completions.create(
                model="nope", messages=[{"role": "user", "content": "x"}]
            )
        with pytest.raises(openai.BadRequestError):
            await c.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": "x"}], stream="no"
            )  # type: ignore[call-overload]
        await c.chat.completions.create(model="chat", messages=[{"role": "user", "content": "x"}])
        with pytest.raises(openai.RateLimitError):
            await c.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": "x"}]
            )
    await gateway.recorder.flush()
    events = await gateway.events.events(EventFilter(key_id=scoped.id))
    assert [(e.status, e.model) for e in events] == [
        (403, "echo"),
        (404, "(none)"),
        (400, "chat"),
        (200, "chat"),
        (429, "chat"),
    ]
    assert {e.provider for e in events if e.status != 200} == {"gateway"}


async def test_a_typed_stream_closed_early_is_paid_for(
    echo_gateway: tuple[Gateway, str, str],
) -> None:
    gateway, key_id, secret = echo_gateway
    words = " ".join(f"word{n}" for n in range(40))
    slow = MockModel([words], delay=0.05, name="slow")
    gateway.router.add_deployment("slow", Deployment(slow, prices=Prices(input=1000, output=2000)))
    body = {"model": "slow", "messages": [{"role": "user", "content": "Go on"}], "stream": True}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{gateway.url}/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {secret}"},
        ) as response,
    ):
        for _ in range(4):  # the role chunk, then three words
            assert (await response.content.readline()).startswith(b"data: ")
            await response.content.readline()
        response.close()  # hang up mid-stream
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60  # a hang guard
    while True:
        await gateway.recorder.flush()
        events = await gateway.events.events(EventFilter(key_id=key_id))
        if events or loop.time() > deadline:
            break
        await asyncio.sleep(0.05)
    (event,) = events
    assert event.status == 499  # a client that went away, not a server error
    assert event.output_tokens > 0  # what was delivered is recorded ...
    assert event.cost is not None
    assert event.cost > 0  # ... and paid for
