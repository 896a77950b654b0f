"""Router: retries onto other deployments, cooldowns, fallbacks, route(), costs, bad input."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from conduit.core.policy import RetryPolicy
from conduit.core.protocols import BaseChatModel, ModelInfo
from conduit.errors import (
    AuthenticationError,
    BadRequestError,
    ConduitError,
    ContentFilterError,
    ContextWindowExceededError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    ServerError,
    TimeoutError,
    ValidationError,
)
from conduit.providers.fake import MockModel
from conduit.routing import Deployment, Routed, Router
from conduit.schema import ChatOptions, Message, Prices, Response, StreamEvent, Usage
from conduit.storage import MemoryRouterState
from tests.routing.support import NO_WAIT, Clock, answer, dep, mock


def calls(deployment: Deployment) -> int:
    return len(deployment.chat_model.calls)  # type: ignore[attr-defined]


async def ask(router: Router, group: str = "g") -> Response:
    return await router.model(group).chat("hi")


# ------------------------------------------------------------------ retries


async def test_a_retryable_failure_moves_to_another_deployment_at_once() -> None:
    bad, good = dep("bad", [ServerError("down")]), dep("good")
    slow_retry = RetryPolicy(max_retries=1, initial_delay=60, jitter=False)  # never waited
    router = Router({"g": [bad, good]}, strategy="round-robin", retry=slow_retry)
    response = await ask(router)
    assert response.text == "good"
    assert response.metadata["route"] == {
        "group": "g",
        "deployment": "good",
        "model": "fake/good",
        "tries": 2,
        "requested": "g",
    }
    assert (calls(bad), calls(good)) == (1, 1)


async def test_the_only_deployment_is_retried_after_the_policys_delay() -> None:
    only = dep("only", [ServerError("down"), ServerError("down"), "ok"])
    router = Router({"g": [only]}, retry=NO_WAIT)
    response = await ask(router)
    assert response.text == "ok"
    assert response.metadata["route"]["tries"] == 3


async def test_retries_stop_at_the_policys_count() -> None:
    deployments = [dep(n, [ServerError("down")]) for n in "abcd"]
    router = Router({"g": deployments}, retry=RetryPolicy(max_retries=2, initial_delay=0))
    with pytest.raises(ServerError):
        await ask(router)
    assert sum(calls(d) for d in deployments) == 3


async def test_a_retry_after_longer_than_the_policy_allows_is_not_waited_for() -> None:
    only = dep("only", [RateLimitError("slow", retry_after=3600), "ok"])
    router = Router({"g": [only]}, retry=RetryPolicy(max_retries=3, max_retry_after=60))
    with pytest.raises(RateLimitError):
        await ask(router)
    assert calls(only) == 1


async def test_non_retryable_errors_are_raised_at_once_and_blame_nobody() -> None:
    state = MemoryRouterState()
    deployments = [dep(n, [BadRequestError("bad field")]) for n in "ab"]
    router = Router({"g": deployments}, retry=3, allowed_fails=0, state=state)
    with pytest.raises(BadRequestError):
        await ask(router)
    assert sum(calls(d) for d in deployments) == 1
    assert await state.cooling(["a", "b"]) == [False, False]
    assert await state.get_many(["fails:a", "fails:b"]) == [0, 0]


async def test_a_refused_key_moves_to_another_deployment_but_is_never_repeated() -> None:
    bad, good = dep("bad", [AuthenticationError("bad key")]), dep("good")
    router = Router({"g": [bad, good]}, strategy="round-robin", retry=NO_WAIT)
    assert (await ask(router)).text == "good"
    alone = Router({"g": [dep("bad", [AuthenticationError("bad key")])]}, retry=NO_WAIT)
    with pytest.raises(AuthenticationError):
        await ask(alone)
    assert calls(alone.deployments("g")[0]) == 1


async def test_a_conflict_is_retryable_so_it_is_retried() -> None:
    only = dep("only", [BadRequestError("busy", status_code=409), "ok"])
    assert (await ask(Router({"g": [only]}, retry=NO_WAIT))).text == "ok"


async def test_other_exceptions_propagate_at_once() -> None:
    def broken(deployment: Deployment) -> Any:
        raise KeyError("a bug")

    router = Router({"g": [dep("a"), dep("b")]}, retry=NO_WAIT)
    with pytest.raises(KeyError):
        await router.route("g", broken)
    assert router._stats.in_flight == {"a": 0} or router._stats.in_flight == {"b": 0}


async def test_a_cancelled_attempt_is_not_a_failure() -> None:
    state = MemoryRouterState()
    started = asyncio.Event()

    async def hang(deployment: Deployment) -> None:
        started.set()
        await asyncio.Event().wait()

    router = Router({"g": [dep("a"), dep("b")]}, allowed_fails=0, state=state)
    task = asyncio.create_task(router.route("g", hang))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await state.cooling(["a", "b"]) == [False, False]
    assert set(router._stats.in_flight.values()) == {0}


# ------------------------------------------------------------------ cooldowns


async def test_a_hard_failure_cools_the_deployment_down_at_once() -> None:
    clock = Clock()
    bad, good = dep("bad", [NotFoundError("no such model")]), dep("good")
    router = Router(
        {"g": [bad, good]},
        strategy="round-robin",
        retry=NO_WAIT,
        cooldown_seconds=5,
        state=MemoryRouterState(clock=clock),
    )
    assert [(await ask(router)).text for _ in range(4)] == ["good"] * 4
    assert calls(bad) == 1  # cooling: never picked
    clock.now = 5.5
    await ask(router)
    await ask(router)
    assert calls(bad) == 2  # cooled off: picked again (and cooled again)


@pytest.mark.parametrize(
    "error",
    [
        AuthenticationError("bad key"),
        RateLimitError("slow down"),
        TimeoutError("too slow"),
        PermissionDeniedError("no access"),
        ProviderError("gone", status_code=404),
        BadRequestError("no access", status_code=403),
    ],
    ids=["401", "429", "timeout", "403", "404", "400-class with 403"],
)
async def test_hard_failures(error: ConduitError) -> None:
    state = MemoryRouterState()
    router = Router({"g": [dep("bad", [error]), dep("good")]}, retry=0, state=state)
    await router.failed(router.deployments("g")[0], error)
    assert await state.cooling(["bad", "good"]) == [True, False]


async def test_a_rate_limits_retry_after_lengthens_the_cooldown() -> None:
    clock = Clock()
    state = MemoryRouterState(clock=clock)
    router = Router({"g": [dep("a"), dep("b")]}, cooldown_seconds=5, state=state)
    await router.failed(router.deployments("g")[0], RateLimitError("slow", retry_after=30))
    clock.now = 29.0
    assert await state.cooling(["a"]) == [True]
    clock.now = 30.5
    assert await state.cooling(["a"]) == [False]


async def test_more_than_allowed_fails_in_a_minute_cools_down() -> None:
    clock = Clock()
    state = MemoryRouterState(clock=clock)
    flaky = dep("flaky", [ServerError("oops")])
    router = Router(
        {"g": [flaky, dep("good")]},
        strategy="round-robin",
        retry=0,
        allowed_fails=1,
        state=state,
    )
    with pytest.raises(ServerError):  # flaky: 1 failure, allowed
        await ask(router)
    assert (await ask(router)).text == "good"
    assert await state.cooling(["flaky"]) == [False]
    clock.now = 61.0  # the minute is over: the count starts again
    with pytest.raises(ServerError):
        await ask(router)
    assert await state.cooling(["flaky"]) == [False]
    await ask(router)
    with pytest.raises(ServerError):  # the second failure within a minute
        await ask(router)
    assert await state.cooling(["flaky"]) == [True]
    assert [(await ask(router)).text for _ in range(3)] == ["good"] * 3


async def test_the_only_deployment_never_cools_down() -> None:
    state = MemoryRouterState()
    only = dep("only", [AuthenticationError("bad key")])
    router = Router({"g": [only]}, retry=0, allowed_fails=0, state=state)
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            await ask(router)
    assert calls(only) == 3
    assert await state.cooling(["only"]) == [False]


async def test_cooldown_seconds_zero_turns_cooldowns_off() -> None:
    deployments = [dep(n, [AuthenticationError("bad key")]) for n in "ab"]
    router = Router({"g": deployments}, retry=0, cooldown_seconds=0)
    for _ in range(4):
        with pytest.raises(AuthenticationError):
            await ask(router)
    assert await router.state.cooling(["a", "b"]) == [False, False]


async def test_all_cooling_down_is_a_rate_limit_error() -> None:
    router = Router({"g": [dep(n, [AuthenticationError("no")]) for n in "ab"]}, retry=0)
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            await ask(router)
    with pytest.raises(RateLimitError, match="all are cooling down") as caught:
        await ask(router)
    assert caught.value.retry_after == 5.0


# ------------------------------------------------------------------ fallbacks


async def test_a_group_that_gives_up_falls_back_to_the_next_group() -> None:
    router = Router(
        {"primary": [dep("p", [ServerError("down")])], "backup": [dep("b")]},
        retry=0,
        fallbacks={"primary": ["backup"]},
    )
    routed = await router.route("primary", lambda d: d.chat_model.chat("hi"))
    assert (routed.group, routed.requested, routed.fell_back, routed.tries) == (
        "backup",
        "primary",
        True,
        2,
    )
    assert routed.value.metadata["route"]["requested"] == "primary"


async def test_fallbacks_are_one_level_and_the_groups_own_error_is_raised() -> None:
    router = Router(
        {
            "first": [dep("f", [ServerError("first is down")])],
            "second": [dep("s", [RateLimitError("second is busy")])],
            "third": [dep("t")],
        },
        retry=0,
        fallbacks={"first": ["second"], "second": ["third"]},
    )
    with pytest.raises(ServerError, match="first is down") as caught:
        await ask(router, "first")
    assert any("'second' failed too" in note for note in caught.value.__notes__)
    assert calls(router.deployments("third")[0]) == 0


async def test_context_window_overflows_go_to_their_fallbacks_first() -> None:
    router = Router(
        {
            "small": [dep("small", [ContextWindowExceededError("too long")])],
            "big": [dep("big")],
            "other": [dep("other")],
        },
        retry=3,
        fallbacks={"small": ["other"]},
        context_window_fallbacks={"small": ["big"]},
    )
    assert (await ask(router, "small")).text == "big"
    assert calls(router.deployments("small")[0]) == 1  # not retried: it would fail again


async def test_content_filter_refusals_go_to_their_fallbacks_first() -> None:
    router = Router(
        {
            "strict": [dep("strict", [ContentFilterError("blocked")])],
            "lenient": [dep("lenient")],
            "other": [dep("other")],
        },
        fallbacks={"strict": ["other"]},
        content_policy_fallbacks={"strict": ["lenient"]},
    )
    assert (await ask(router, "strict")).text == "lenient"


async def test_plain_fallbacks_serve_overflows_without_their_own_list() -> None:
    router = Router(
        {"a": [dep("a", [ContextWindowExceededError("too long")])], "b": [dep("b")]},
        fallbacks={"a": ["b"]},
    )
    assert (await ask(router, "a")).text == "b"


async def test_a_bad_request_does_not_fall_back_unless_told() -> None:
    groups = {"a": [dep("a", [BadRequestError("bad field")])], "b": [dep("b")]}
    with pytest.raises(BadRequestError):
        await ask(Router(groups, fallbacks={"a": ["b"]}), "a")
    told = Router(
        {"a": [dep("a", [BadRequestError("bad field")])], "b": [dep("b")]},
        fallbacks={"a": ["b"]},
        fall_back_on=lambda error: isinstance(error, BadRequestError),
    )
    assert (await ask(told, "a")).text == "b"


async def test_all_cooling_down_falls_back() -> None:
    router = Router(
        {"a": [dep(n, [AuthenticationError("no")]) for n in "xy"], "b": [dep("b")]},
        retry=0,
        fallbacks={"a": ["b"]},
    )
    texts = [(await ask(router, "a")).text for _ in range(3)]
    assert texts == ["b", "b", "b"]


async def test_an_unknown_fallback_group_is_noted() -> None:
    router = Router({"a": [dep("a", [ServerError("down")])]}, retry=0, fallbacks={"a": ["zz"]})
    with pytest.raises(ServerError) as caught:
        await ask(router, "a")
    assert "unknown model group 'zz'" in caught.value.__notes__[0]


# ------------------------------------------------------------------ route()


async def test_route_runs_any_attempt_and_says_which_deployment_answered() -> None:
    seen: list[str] = []

    async def forward(deployment: Deployment) -> dict[str, Any]:
        seen.append(deployment.id or "")
        if deployment.id == "bad":
            raise ServerError("upstream 502", status_code=502)
        return {"id": "chatcmpl-1", "usage": {"total_tokens": 12}}

    router = Router({"g": [dep("bad"), dep("good")]}, strategy="round-robin", retry=NO_WAIT)
    routed = await router.route("g", forward, tokens=5)
    assert isinstance(routed, Routed)
    assert routed.value == {"id": "chatcmpl-1", "usage": {"total_tokens": 12}}
    assert (routed.deployment.id, routed.group, routed.tries) == ("good", "g", 2)
    assert seen == ["bad", "good"]
    await routed.settle(12)
    await routed.settle(99)  # only the first counts
    assert routed.deployment.cost(Usage(input_tokens=10)) is None


def test_route_sync_and_settle_sync() -> None:
    router = Router({"g": [dep("a", tpm=1000)]})

    async def attempt(deployment: Deployment) -> str:
        return deployment.id or ""

    routed = router.route_sync("g", attempt, tokens=10)
    assert routed.value == "a"
    routed.settle_sync(10)
    with pytest.raises(ValidationError, match="tokens"):
        routed.settle_sync(-1)


async def test_route_refuses_bad_tokens_and_unknown_groups() -> None:
    router = Router({"g": ["fake/echo"]})
    with pytest.raises(ValidationError, match="tokens must be"):
        await router.route("g", lambda d: d.chat_model.chat("hi"), tokens=-1)
    with pytest.raises(NotFoundError, match="unknown model group 'nope'; groups: 'g'"):
        await router.route("nope", lambda d: d.chat_model.chat("hi"))
    with pytest.raises(NotFoundError):
        router.model("nope")
    with pytest.raises(NotFoundError):
        router.deployments("nope")


async def test_a_missing_key_is_a_failed_try_not_a_crash() -> None:
    router = Router(
        {"g": [Deployment("openai/gpt-4o-mini", id="nokey"), dep("good")]},
        strategy="round-robin",
        retry=NO_WAIT,
    )
    assert (await ask(router)).text == "good"
    assert await router.state.cooling(["nokey"]) == [True]


# ------------------------------------------------------------------ costs


class Priced(BaseChatModel):
    """A model whose own info carries prices (as catalog models do)."""

    def __init__(self) -> None:
        self._info = ModelInfo("fake", "priced", prices=Prices(input=1.0, output=1.0))

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    async def _chat(self, messages: list[Message], options: ChatOptions) -> Response:
        return answer("priced", total=1_000_000)

    async def _stream(
        self, messages: list[Message], options: ChatOptions
    ) -> AsyncIterator[StreamEvent]:
        raise NotImplementedError
        yield


async def test_costs_come_from_the_deployments_prices_else_the_models() -> None:
    own = Router({"g": [Deployment(Priced(), prices=Prices(input=3.0, output=5.0))]})
    response = await ask(own)
    assert response.cost == pytest.approx((999_999 * 3.0 + 1 * 5.0) / 1e6)
    models = Router({"g": [Deployment(Priced())]})
    assert (await ask(models)).cost == pytest.approx(1.0)
    unknown = Router({"g": [dep("x")]})
    assert (await ask(unknown)).cost is None


async def test_a_response_from_route_is_priced_and_labelled_too() -> None:
    router = Router({"g": [dep("a", prices=Prices(input=1.0, output=1.0))]})
    routed = await router.route("g", lambda d: d.chat_model.chat("hi"))
    usage = routed.value.usage
    assert routed.value.cost == pytest.approx(usage.total_tokens / 1e6)
    assert routed.value.metadata["route"]["deployment"] == "a"


async def test_a_shared_answer_object_is_not_relabelled_in_place() -> None:
    shared = answer("same")
    router = Router({"g": [dep("a", [shared]), dep("b", [shared])]}, strategy="round-robin")
    first, second = await ask(router), await ask(router)
    assert first.metadata["route"]["deployment"] == "a"
    assert second.metadata["route"]["deployment"] == "b"
    assert "route" not in shared.metadata


# ------------------------------------------------------------------ the model face


def test_the_group_model_works_from_sync_code() -> None:
    model = Router({"g": ["fake/echo"]}).model("g")
    assert model.chat_sync("ping").text == "ping"
    assert [e.type for e in model.stream_sync("ping")][-1] == "done"
    assert model.model_info.ref == "router/g"
    assert model is model.router.model("g")


async def test_a_group_of_embedders() -> None:
    failing = MockModel(name="x")  # a chat model object cannot embed: a failed try
    router = Router(
        {"e": [Deployment(failing, id="chat-only"), "fake/hash"]},
        strategy="round-robin",
        retry=NO_WAIT,
    )
    embedder = router.embedder("e")
    with pytest.raises(ValidationError):
        await embedder.embed("a")  # ValidationError is the caller's: not retried
    vectors = await embedder.embed(["a", "b"])
    assert len(vectors) == 2
    assert embedder is router.embedder("e")
    assert repr(embedder) == "RoutedEmbedder('router/e')"


def test_groups_and_deployments_can_be_listed_and_added() -> None:
    router = Router({"a": ["fake/echo"]})
    router.add_deployment("b", mock("m"))
    assert list(router.groups) == ["a", "b"]
    assert "b" in router.groups
    assert [d.ref for d in router.deployments("b")] == ["fake/m"]
    assert repr(router) == "Router(groups=['a', 'b'], strategy='simple-shuffle')"


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"retry": -1}, "retry must be"),
        ({"retry": True}, "retry must be"),
        ({"retry": 1.5}, "retry must be"),
        ({"allowed_fails": -1}, "allowed_fails must be"),
        ({"allowed_fails": True}, "allowed_fails must be"),
        ({"cooldown_seconds": float("nan")}, "cooldown_seconds must be"),
        ({"cooldown_seconds": float("inf")}, "cooldown_seconds must be"),
        ({"cooldown_seconds": -1}, "cooldown_seconds must be"),
        ({"cooldown_seconds": None}, "cooldown_seconds must be"),
        ({"fallbacks": {"g": "other"}}, r"fallbacks\['g'\] must be a list"),
        ({"fallbacks": [{"g": ["other"]}]}, "fallbacks must be a mapping"),
        ({"context_window_fallbacks": {"g": [1]}}, r"context_window_fallbacks\['g'\]"),
        ({"content_policy_fallbacks": {"": ["x"]}}, "content_policy_fallbacks keys"),
        ({"fall_back_on": "yes"}, "fall_back_on must be a function"),
        ({"state": {}}, "state must be a RouterState"),
        ({"buckets": {}}, "buckets must be a BucketStore"),
        ({"seed": True}, "seed must be"),
        ({"strategy": "latency-based-routing"}, "strategy must be one of"),
    ],
)
def test_bad_settings_are_refused_naming_the_argument(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Router({"g": ["fake/echo"]}, **kwargs)


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ({"g": []}, r"groups\['g'\] must be a non-empty list"),
        ({"g": "fake/echo"}, r"groups\['g'\] must be a non-empty list"),
        ([("g", ["fake/echo"])], "groups must be a mapping"),
        ({"": ["fake/echo"]}, "group name must be a non-empty string"),
        ({"g": [42]}, "model must be a model string or a ChatModel"),
    ],
)
def test_bad_groups_are_refused(groups: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Router(groups)
