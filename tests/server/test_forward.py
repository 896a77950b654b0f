"""Forwarding: chat requests (JSON and streams) for OpenAI-wire deployments go upstream
as they came."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from conduit import _json
from conduit.providers.openai import OpenAIChatModel
from conduit.routing import Deployment
from conduit.server.app import Gateway
from conduit.server.config import parse_config
from conduit.server.forward import speaks_openai
from tests.server.conftest import UPSTREAM_KEY, model_list
from tests.support.openai_server import REPLY, OpenAITestServer

HI = {"messages": [{"role": "user", "content": "Hi there"}]}


@pytest.fixture
def streamed(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The bodies streamed through the forwarding path."""
    sent: list[dict[str, Any]] = []
    original = OpenAIChatModel.stream_payload_frames

    def spy(self: OpenAIChatModel, payload: Any) -> Any:
        sent.append(dict(payload))
        return original(self, payload)

    monkeypatch.setattr(OpenAIChatModel, "stream_payload_frames", spy)
    return sent


async def _stream(gateway: Gateway, body: dict[str, Any]) -> list[Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(gateway.url + "/chat/completions", json=body) as response,
    ):
        assert response.status == 200
        text = (await response.read()).decode()
    data = [line[6:] for line in text.split("\n\n") if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    return [_json.loads(item) for item in data[:-1]]


@pytest.fixture
def forwarded(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The bodies sent through the forwarding path."""
    sent: list[dict[str, Any]] = []
    original = OpenAIChatModel.send_payload_bytes

    async def spy(self: OpenAIChatModel, payload: Any) -> bytes:
        sent.append(dict(payload))
        return await original(self, payload)

    monkeypatch.setattr(OpenAIChatModel, "send_payload_bytes", spy)
    return sent


@pytest.fixture
async def gateway(upstream: OpenAITestServer, tmp_path: Path) -> AsyncIterator[Gateway]:
    groups = [
        *model_list(upstream.base_url),
        {"model_name": "echo", "litellm_params": {"model": "fake/echo"}},
        {
            "model_name": "down",
            "litellm_params": {
                "model": "openai/gpt-4o-mini",
                "api_base": "http://127.0.0.1:9/v1",  # nothing listens: a connection error
                "api_key": UPSTREAM_KEY,
            },
        },
    ]
    config = parse_config(
        {
            "model_list": groups,
            "router_settings": {"num_retries": 0, "fallbacks": [{"down": ["chat"]}]},
            "server": {
                "database": str(tmp_path / "g.sqlite3"),
                "require_key": False,
                "ledger_flush_seconds": 0,
            },
        }
    )
    async with Gateway(config) as gw:
        await gw.start(port=0)
        yield gw


async def _post(gateway: Gateway, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(gateway.url + "/chat/completions", json=body) as response,
    ):
        return response.status, await response.json()


async def test_openai_wire_deployments_are_forwarded_as_they_are(
    gateway: Gateway, forwarded: list[dict[str, Any]]
) -> None:
    status, answer = await _post(gateway, {"model": "chat", **HI, "temperature": 0, "user": "u1"})
    assert status == 200
    # The caller's fields went on as they were; `user` and `model` stay in the gateway.
    assert forwarded == [{**HI, "temperature": 0}]
    # The upstream's own answer: its id and fields, with the group's name as the model.
    assert answer["id"] == "chatcmpl-test"
    assert "system_fingerprint" in answer
    assert answer["model"] == "chat"
    assert answer["choices"][0]["message"]["content"] == REPLY
    events = await gateway.events.events()
    assert [(e.model, e.status, e.provider) for e in events] == [("chat", 200, "openai")]
    assert events[0].input_tokens == answer["usage"]["prompt_tokens"]


async def test_other_deployments_take_the_typed_path(
    gateway: Gateway, forwarded: list[dict[str, Any]]
) -> None:
    status, answer = await _post(gateway, {"model": "echo", **HI})
    assert status == 200
    assert answer["choices"][0]["message"]["content"] == "Hi there"
    assert forwarded == []


async def test_fallbacks_still_apply(gateway: Gateway, forwarded: list[dict[str, Any]]) -> None:
    status, answer = await _post(gateway, {"model": "down", **HI})
    assert status == 200
    assert answer["id"] == "chatcmpl-test"  # answered by the "chat" group
    assert len(forwarded) == 2  # "down" refused the connection, then "chat" answered


def test_plain_openai_models_forward_others_do_not() -> None:
    assert speaks_openai(Deployment("openai/gpt-4o-mini", connection={"api_key": "sk-x"}))
    local = Deployment("vllm/my-model", connection={"base_url": "http://127.0.0.1:8000/v1"})
    assert speaks_openai(local)
    assert not speaks_openai(Deployment("anthropic/claude-sonnet-4-5", connection={"api_key": "x"}))
    assert not speaks_openai(Deployment("fake/echo"))
    # A deployment whose model cannot be built (no key) is not forwarded: the typed path
    # fails it as a try like any other, and the router moves on.
    assert not speaks_openai(Deployment("openai/gpt-4o-mini"))


async def test_a_group_forwards_only_when_all_its_deployments_do(gateway: Gateway) -> None:
    assert gateway.forwards("chat")
    assert not gateway.forwards("echo")
    assert gateway.forwards("down")  # and its fallback, "chat"


async def test_streams_are_forwarded_with_the_group_name(
    gateway: Gateway, streamed: list[dict[str, Any]]
) -> None:
    chunks = await _stream(gateway, {"model": "chat", **HI, "stream": True})
    assert len(streamed) == 1
    assert {c["model"] for c in chunks} == {"chat"}
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == REPLY
    # Usage was asked of the upstream for the ledger, but not passed on: not asked for.
    assert all(c["choices"] for c in chunks)
    events = await gateway.events.events()
    assert events[0].status == 200
    assert events[0].input_tokens > 0
    assert events[0].output_tokens > 0


async def test_the_usage_chunk_goes_on_when_asked(
    gateway: Gateway, streamed: list[dict[str, Any]]
) -> None:
    body = {"model": "chat", **HI, "stream": True, "stream_options": {"include_usage": True}}
    chunks = await _stream(gateway, body)
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["total_tokens"] > 0
    assert streamed


async def test_streams_to_other_deployments_take_the_typed_path(
    gateway: Gateway, streamed: list[dict[str, Any]]
) -> None:
    chunks = await _stream(gateway, {"model": "echo", **HI, "stream": True})
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Hi there"
    assert streamed == []


async def test_a_stream_that_cannot_start_falls_back(
    gateway: Gateway, streamed: list[dict[str, Any]]
) -> None:
    chunks = await _stream(gateway, {"model": "down", **HI, "stream": True})
    assert len(streamed) == 2  # "down" refused the connection before the first event
    assert chunks[0]["model"] == "down"


@pytest.mark.parametrize(
    ("field", "value"),
    [("stream", "no"), ("stream_options", "x"), ("max_tokens", -5), ("temperature", "hot")],
)
async def test_bad_fields_never_reach_the_upstream(
    gateway: Gateway,
    forwarded: list[dict[str, Any]],
    streamed: list[dict[str, Any]],
    field: str,
    value: Any,
) -> None:
    status, answer = await _post(gateway, {"model": "chat", **HI, field: value})
    assert status == 400
    assert answer["error"]["param"] == field
    assert forwarded == streamed == []
