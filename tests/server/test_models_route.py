"""`GET /v1/models/{id}` through the official `openai` package: the group, 404 JSON for
an unknown id, and a key's model scope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import anthropic
import openai
import pytest

from conduit.server.app import Gateway


async def test_retrieve(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    _, secret = await add_key(models=["chat"])
    async with openai.AsyncOpenAI(base_url=gateway.url, api_key=secret, max_retries=0) as c:
        model = await c.models.retrieve("chat")
        assert (model.id, model.object, model.owned_by) == ("chat", "model", "conduit")
        with pytest.raises(openai.NotFoundError) as unknown:
            await c.models.retrieve("nope")
        # Outside the key's scope: as if it did not exist.
        with pytest.raises(openai.NotFoundError):
            await c.models.retrieve("embed")
    assert unknown.value.code == "model_not_found"
    async with openai.AsyncOpenAI(base_url=gateway.url, api_key="sk-cnd-x", max_retries=0) as c:
        with pytest.raises(openai.AuthenticationError):
            await c.models.retrieve("chat")
    async with (
        aiohttp.ClientSession() as http,
        http.get(gateway.url + "/models/a/b", headers={"Authorization": f"Bearer {secret}"}) as r,
    ):
        body = await r.json()
    assert r.status == 404
    assert body["error"]["code"] == "model_not_found"


async def test_retrieve_with_anthropics_sdk(gateway: Gateway, add_key: Callable[..., Any]) -> None:
    _, secret = await add_key(models=["chat"])
    base = gateway.url.removesuffix("/v1")
    async with anthropic.AsyncAnthropic(base_url=base, api_key=secret, max_retries=0) as c:
        model = await c.models.retrieve("chat")
        assert (model.id, model.type, model.display_name) == ("chat", "model", "chat")
        with pytest.raises(anthropic.NotFoundError):
            await c.models.retrieve("embed")
