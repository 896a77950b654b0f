"""`from_server`: a Conduit `ChatModel` that calls the gateway."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conduit.errors import AuthenticationError, ValidationError
from conduit.schema import TextDelta
from conduit.server import from_server
from conduit.server.app import Gateway
from tests.support.openai_server import REPLY


async def test_chat_and_stream_through_the_gateway(
    gateway: Gateway, add_key: Callable[..., Any]
) -> None:
    _, secret = await add_key()
    model = from_server("chat", url=gateway.url.removesuffix("/v1"), api_key=secret)
    answer = await model.chat("Hi")
    assert answer.text == REPLY
    assert answer.usage.total_tokens > 0
    pieces = [e.text async for e in model.stream("Hi") if isinstance(e, TextDelta)]
    assert "".join(pieces) == REPLY


async def test_a_bad_key_is_an_authentication_error(gateway: Gateway) -> None:
    model = from_server("chat", url=gateway.url, api_key="sk-cnd-wrong")
    with pytest.raises(AuthenticationError):
        await model.chat("Hi")


def test_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONDUIT_API_KEY", "sk-cnd-env")
    model = from_server("chat", url="http://127.0.0.1:1/v1/")
    assert model.base_url == "http://127.0.0.1:1/v1"  # type: ignore[attr-defined]
    with pytest.raises(ValidationError):
        from_server("", url="http://127.0.0.1:1")
