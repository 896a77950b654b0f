"""Router: LiteLLM's configuration and calls over the core router: strategies, rpm/tpm
limits, retries, fallbacks, cooldowns, Redis-shared state (all the core's behaviour,
reached through LiteLLM's names)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import conduit.compat as litellm
from conduit import errors
from conduit.compat.router import Router
from conduit.core.sync import run_sync
from conduit.storage.router_state import RedisRouterState
from tests.compat.conftest import CompatServer
from tests.storage.redis_server import RedisServer

HI = [{"role": "user", "content": "Hi"}]


def _dep(group: str, base: str, **extra: Any) -> dict[str, Any]:
    params = {"model": "openai/gpt-4o-mini", "api_base": base, "api_key": "k", **extra}
    return {"model_name": group, "litellm_params": params}


def test_round_robin_and_model_ids(server: CompatServer) -> None:
    router = Router(
        [
            {**_dep("g", server.base_url), "model_info": {"id": "a"}},
            {**_dep("g", server.base_url), "model_info": {"id": "b"}},
        ],
        routing_strategy="round-robin",
    )
    ids = [router.completion("g", HI)._hidden_params["model_id"] for _ in range(4)]
    assert ids == ["a", "b", "a", "b"]
    assert [d["model_info"]["id"] for d in router.model_list] == ["a", "b"]
    assert router.model_list[0]["model_name"] == "g"
    assert router.model_list[1]["litellm_params"]["api_base"] == server.base_url


@pytest.mark.parametrize(
    "strategy", ["simple-shuffle", "least-busy", "lowest-latency", "latency-based-routing"]
)
async def test_strategies_spread_over_healthy_deployments(
    server: CompatServer, strategy: str
) -> None:
    router = Router(
        [_dep("g", server.base_url, weight=2), _dep("g", server.base_url, rpm=1000)],
        routing_strategy=strategy,
        seed=1,
    )
    answers = await asyncio.gather(*(router.acompletion("g", HI) for _ in range(6)))
    assert {a._hidden_params["model_group"] for a in answers} == {"g"}
    if strategy != "simple-shuffle":
        assert len({a._hidden_params["model_id"] for a in answers}) == 2


def test_bad_configuration() -> None:
    with pytest.raises(errors.ValidationError):
        Router([], routing_strategy="fastest")
    with pytest.raises(errors.ValidationError):
        Router([{"model_name": "g"}])
    with pytest.raises(litellm.BadRequestError, match="no deployments"):
        Router([]).completion("missing", HI)


def test_retries_move_to_a_healthy_deployment_and_cool_the_bad_one(server: CompatServer) -> None:
    router = Router(
        [
            {**_dep("g", server.error_base("429")), "model_info": {"id": "bad"}},
            {**_dep("g", server.base_url), "model_info": {"id": "good"}},
        ],
        routing_strategy="round-robin",
        num_retries=1,
    )
    before = server.hits.get("429", 0)
    first = router.completion("g", HI)
    assert first._hidden_params["model_id"] == "good"
    for _ in range(3):  # the 429 put "bad" in cooldown: every call goes to "good"
        assert router.completion("g", HI)._hidden_params["model_id"] == "good"
    assert server.hits["429"] == before + 1


def test_only_deployment_never_cools_down(server: CompatServer) -> None:
    router = Router([_dep("g", server.error_base("500"))], num_retries=1, retry_after=0.01)
    before = server.hits.get("500", 0)
    for _ in range(2):
        with pytest.raises(litellm.InternalServerError):
            router.completion("g", HI)
    assert server.hits["500"] == before + 4


def test_non_retryable_errors_are_not_retried(server: CompatServer) -> None:
    router = Router(
        [_dep("g", server.error_base("400")), _dep("g", server.error_base("400"))], num_retries=3
    )
    before = server.hits.get("400", 0)
    with pytest.raises(litellm.BadRequestError):
        router.completion("g", HI)
    assert server.hits["400"] == before + 1


def test_fallbacks_by_error_class(server: CompatServer) -> None:
    router = Router(
        [
            _dep("primary", server.error_base("503")),
            _dep("backup", server.base_url),
            _dep("long", server.error_base("context")),
            _dep("big", server.base_url),
            _dep("strict", server.error_base("policy")),
            _dep("lenient", server.base_url),
            _dep("also-bad", server.error_base("500")),
        ],
        num_retries=0,
        fallbacks=[{"primary": ["backup"]}, {"also-bad": ["primary"]}],
        context_window_fallbacks=[{"long": ["big"]}],
        content_policy_fallbacks=[{"strict": "lenient"}],
    )
    assert router.completion("primary", HI)._hidden_params["fallback_from"] == "primary"
    assert router.completion("long", HI)._hidden_params["model_group"] == "big"
    assert router.completion("strict", HI)._hidden_params["model_group"] == "lenient"
    with pytest.raises(litellm.InternalServerError) as caught:  # the fallback failed too
        router.completion("also-bad", HI)
    # the core raises the group's own error (500), with a note for each fallback (503)
    assert caught.value.status_code == 500
    assert any("'primary'" in note for note in caught.value.__notes__)
    narrow = Router(
        [_dep("a", server.error_base("503")), _dep("b", server.base_url)],
        num_retries=0,
        fallbacks=[{"a": ["b"]}],
        fall_back_on=lambda error: isinstance(error, errors.RateLimitError),
    )
    with pytest.raises(litellm.ServiceUnavailableError):  # 503 is not a given error class
        narrow.completion("a", HI)


def test_rpm_and_tpm_limits(server: CompatServer) -> None:
    router = Router([_dep("g", server.base_url, rpm=2)])
    router.completion("g", HI)
    router.completion("g", HI)
    with pytest.raises(litellm.RateLimitError) as caught:
        router.completion("g", HI)
    assert caught.value.retry_after is not None
    assert caught.value.retry_after <= 60
    tokens = Router([_dep("g", server.base_url, tpm=10)])
    tokens.completion("g", HI)
    with pytest.raises(litellm.RateLimitError):
        tokens.completion("g", "x" * 200)


def test_all_cooling_down_is_a_rate_limit(server: CompatServer) -> None:
    router = Router(
        [_dep("g", server.error_base("401")), _dep("g", server.error_base("401"))],
        num_retries=0,
    )
    for _ in range(2):
        with pytest.raises(litellm.AuthenticationError):
            router.completion("g", HI)
    with pytest.raises(litellm.RateLimitError, match="cooling down"):
        router.completion("g", HI)
    calm = Router(
        [_dep("g", server.error_base("401")), _dep("g", server.error_base("401"))],
        num_retries=0,
        disable_cooldowns=True,
    )
    for _ in range(3):
        with pytest.raises(litellm.AuthenticationError):
            calm.completion("g", HI)


def test_allowed_fails_then_cooldown(server: CompatServer) -> None:
    router = Router(
        [
            {**_dep("g", server.error_base("500")), "model_info": {"id": "flaky"}},
            _dep("g", server.base_url),
        ],
        routing_strategy="round-robin",
        num_retries=0,
        allowed_fails=0,
    )
    with pytest.raises(litellm.InternalServerError):
        router.completion("g", HI)
    assert all(router.completion("g", HI)._hidden_params["model_id"] != "flaky" for _ in range(3))


async def test_streaming_and_embeddings_through_the_router(server: CompatServer) -> None:
    router = Router(
        [
            _dep("g", server.base_url),
            {
                "model_name": "e",
                "litellm_params": {
                    "model": "openai/text-embedding-3-small",
                    "api_base": server.base_url,
                    "api_key": "k",
                },
            },
            {
                "model_name": "bad-e",
                "litellm_params": {
                    "model": "openai/x",
                    "api_base": server.error_base("500"),
                    "api_key": "k",
                },
            },
        ],
        timeout=30,  # a hang guard: the local server answers at once
        num_retries=0,
    )
    stream = await router.acompletion("g", HI, stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert text == "Hello from the test server."
    assert len((await router.aembedding("e", ["a", "b"])).data) == 2
    assert router.embedding("e", "a").object == "list"
    with pytest.raises(litellm.NotFoundError):  # the server has no /err/.../embeddings
        await router.aembedding("bad-e", "a")


def test_add_deployment_and_names() -> None:
    router = Router()
    entry = router.add_deployment(
        {"model_name": "g", "litellm_params": {"model": "fake/echo"}, "model_info": {"id": "x"}}
    )
    assert entry["model_info"]["id"] == "x"
    assert router.get_model_names() == ["g"]
    assert [d.id for d in router.core.deployments("g")] == ["x"]
    assert router.completion("g", HI)._hidden_params["model_id"] == "x"
    with pytest.raises(errors.ValidationError, match="used twice"):
        router.add_deployment(
            {"model_name": "h", "litellm_params": {"model": "fake/echo"}, "model_info": {"id": "x"}}
        )
    assert len(router.model_list) == 1


# ------------------------------------------------------------------ Redis


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = RedisServer(Path(tmp_path_factory.mktemp("redis")))
    try:
        yield server.url
    finally:
        server.stop()


async def test_two_routers_share_limits_through_redis(server: CompatServer, redis_url: str) -> None:
    prefix = f"test:{id(server)}"
    deployments = [{**_dep("g", server.base_url, rpm=3), "model_info": {"id": "shared"}}]
    one = Router(deployments, state=RedisRouterState(redis_url, prefix=prefix))
    two = Router(deployments, state=RedisRouterState(redis_url, prefix=prefix))
    await one.acompletion("g", HI)
    await two.acompletion("g", HI)
    two.completion("g", HI)  # the sync path: its own event loop, its own client
    with pytest.raises(litellm.RateLimitError):
        await one.acompletion("g", HI)
    state = one.state
    assert isinstance(state, RedisRouterState)
    await state.cool("shared", 5)
    assert await state.cooling(["shared", "other"]) == [True, False]
    assert await state.get_many([]) == []
    assert await state.cooling([]) == []
    await one.aclose()
    await one.aclose()
    assert isinstance(two.state, RedisRouterState)
    await two.aclose()
    # the sync call's clients live on the sync bridge's loop: close them there
    await asyncio.to_thread(run_sync, two.aclose())


def test_redis_settings_build_a_redis_state() -> None:
    router = Router(redis_host="127.0.0.1", redis_port=1, redis_password="pw")
    assert isinstance(router.state, RedisRouterState)
    assert router.state.url == "redis://:pw@127.0.0.1:1"
