"""The router's names and per-call settings: wildcard pattern groups, deployment ids,
aliases, tags, pre-call context-window checks, `max_parallel` slots, deployment options,
per-call retries/fallbacks, `deployment(id)` and `reset()`."""

from __future__ import annotations

import asyncio

import pytest

from conduit.errors import (
    AuthenticationError,
    BadRequestError,
    ContextWindowExceededError,
    NotFoundError,
    ServerError,
    ValidationError,
)
from conduit.routing import Deployment, Router
from conduit.schema import ChatOptions
from tests.routing.support import NO_WAIT, dep


def _answered(router: Router, name: str, text: str = "hi", **kwargs: object) -> str:
    response = router.model(name, **kwargs).chat_sync(text)  # type: ignore[arg-type]
    return str(response.metadata["route"]["deployment"])


def test_wildcard_pattern_groups_fill_in_the_name() -> None:
    router = Router({"*": [Deployment("*")], "fake/*": [Deployment("fake/*", id="fakes")]})
    assert [d.ref for d in router.deployments("fake/echo")] == ["fake/echo"]  # most specific
    assert router.model("fake/echo").chat_sync("ping").text == "ping"
    assert _answered(router, "fake/echo") == "fakes[fake/echo]"
    with pytest.raises(ValidationError, match="wildcard"):
        Router({"g": [Deployment("openai/*")]})
    with pytest.raises(ValidationError, match="wildcard"):
        _ = Deployment("fake/*").chat_model


def test_ids_aliases_and_deployment_lookup() -> None:
    router = Router({"g": [dep("a"), dep("b")]}, route_by_id=True, aliases={"gpt": "g"})
    assert {_answered(router, "b") for _ in range(5)} == {"b"}
    assert _answered(router, "gpt") in {"a", "b"}
    assert router.deployment("a").id == "a"
    with pytest.raises(NotFoundError):
        router.deployment("zzz")
    with pytest.raises(NotFoundError):
        Router({"g": [dep("a")]}).model("a")  # ids route only with route_by_id


def test_tags_pick_tagged_deployments_and_default() -> None:
    router = Router(
        {"g": [dep("free", tags=["free"]), dep("paid", tags=["paid", "default"])]},
        tag_filtering=True,
    )
    assert {_answered(router, "g", tags=["free"]) for _ in range(5)} == {"free"}
    assert {_answered(router, "g") for _ in range(5)} == {"paid"}
    strict = Router({"g": [dep("free", tags=["free"])]}, tag_filtering=True)
    with pytest.raises(BadRequestError, match="tagged"):
        strict.model("g", tags=["vip"]).chat_sync("hi")


def test_pre_call_checks_skip_windows_too_small() -> None:
    router = Router(
        {"g": [dep("small", context_window=3), dep("big", context_window=10_000)]},
        pre_call_checks=True,
    )
    long = "hello world " * 20
    assert {_answered(router, "g", long) for _ in range(5)} == {"big"}
    tiny = Router({"g": [dep("small", context_window=3)]}, pre_call_checks=True)
    with pytest.raises(ContextWindowExceededError, match="context window is 3"):
        tiny.model("g").chat_sync(long)


def test_max_parallel_waits_for_a_slot() -> None:
    router = Router({"g": [dep("one", max_parallel=1)]})

    async def main() -> int:
        model = router.model("g")
        answers = await asyncio.gather(*(model.chat(f"{i}") for i in range(4)))
        return len(answers)

    assert asyncio.run(main()) == 4
    assert router._slots["one"].used == 0


def test_deployment_options_and_per_call_settings() -> None:
    d = Deployment("fake/echo", options={"temperature": 0.2, "presence_penalty": 1})
    merged = d.call_options(ChatOptions(temperature=0.9))
    assert (merged.temperature, merged.extra) == (0.9, {"presence_penalty": 1})
    failing = dep("bad", [ServerError("boom")])
    router = Router({"a": [failing], "b": [dep("good")]}, retry=NO_WAIT)
    assert router.model("a", fallbacks=["b"], retry=0).chat_sync("hi").text == "good"
    with pytest.raises(ServerError):
        router.model("a", retries_by_error={ServerError: 0}).chat_sync("hi")


def test_reset_forgets_cooldowns() -> None:
    router = Router({"g": [dep("a"), dep("b")]})
    asyncio.run(router.failed(router.deployment("a"), AuthenticationError("bad key")))
    assert asyncio.run(router.state.cooling(["a"])) == [True]
    router.reset()
    assert asyncio.run(router.state.cooling(["a", "b"])) == [False, False]
