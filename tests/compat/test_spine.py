"""The LiteLLM face has no behaviour of its own: its Router is the core router, its
budgets are the core Budget interceptor over the spend stores, its retries and timeouts
the one RetryPolicy and Timeout. The same calls through `conduit.compat` and through the
core give the same picks, cooldowns, fallbacks and spend."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path
from typing import Any

import pytest

import conduit.compat as litellm
from conduit import errors, routing
from conduit.compat.budgeting import Budgets, process_spend
from conduit.core.policy import RetryPolicy, Timeout
from conduit.core.sync import run_sync
from conduit.routing import Deployment
from tests.compat.conftest import CompatServer

HI = [{"role": "user", "content": "Hi"}]
ONE_CALL = 0.15e-6 * 1 + 0.6e-6 * 7  # gpt-4o-mini, 1 prompt + 7 completion tokens
COMPAT = Path(litellm.__file__).parent


def _base(server: CompatServer, kind: str) -> str:
    return server.base_url if kind == "ok" else server.error_base(kind)


# Deployments: (group, id, what the server answers)
DEPLOYMENTS = [
    ("g", "a", "429"),
    ("g", "b", "ok"),
    ("g", "c", "500"),
    ("g", "d", "401"),
    ("g", "e", "ok"),
    ("down", "f", "503"),
    ("down", "h", "500"),
    ("backup", "z", "ok"),
]
SETTINGS: dict[str, Any] = {"allowed_fails": 0}
FALLBACKS = {"down": ["backup"]}


def _compat_router(server: CompatServer, strategy: str) -> litellm.Router:
    return litellm.Router(
        [
            {
                "model_name": group,
                "litellm_params": {
                    "model": "openai/gpt-4o-mini",
                    "api_base": _base(server, kind),
                    "api_key": "k",
                },
                "model_info": {"id": dep_id},
            }
            for group, dep_id, kind in DEPLOYMENTS
        ],
        routing_strategy=strategy,
        num_retries=1,
        fallbacks=[FALLBACKS],
        seed=7,
        **SETTINGS,
    )


def _core_router(server: CompatServer, strategy: str) -> routing.Router:
    groups: dict[str, list[Deployment]] = {}
    for group, dep_id, kind in DEPLOYMENTS:
        connection = {"base_url": _base(server, kind), "api_key": "k", "max_retries": 0}
        groups.setdefault(group, []).append(
            Deployment("openai/gpt-4o-mini", id=dep_id, connection=connection)
        )
    return routing.Router(
        groups,
        strategy={"latency-based-routing": "lowest-latency"}.get(strategy, strategy),
        retry=RetryPolicy(max_retries=1, initial_delay=0.0, max_delay=8.0),
        fallbacks=FALLBACKS,
        seed=7,
        **SETTINGS,
    )


CALLS = ["g"] * 7 + ["down"] * 2 + ["g"] * 2


@pytest.mark.parametrize(
    "strategy", ["round-robin", "simple-shuffle", "least-busy", "usage-based-routing"]
)
async def test_compat_router_and_core_router_route_alike(
    server: CompatServer, strategy: str
) -> None:
    ours = _compat_router(server, strategy)
    core = _core_router(server, {"usage-based-routing": "usage-based"}.get(strategy, strategy))
    assert isinstance(ours.core, routing.Router)  # LiteLLM's Router is the core router
    seen_compat: list[Any] = []
    seen_core: list[Any] = []
    for group in CALLS:
        try:
            answer = await ours.acompletion(group, HI)
            hidden = answer._hidden_params
            seen_compat.append((hidden["model_group"], hidden["model_id"]))
        except litellm.APIError as exc:  # never: every error has a more precise class
            raise AssertionError(exc) from exc
        except errors.ConduitError as exc:
            seen_compat.append(("error", exc.status_code))
        try:
            response = await core.model(group).chat(HI)
            route = response.metadata["route"]
            seen_core.append((route["group"], route["deployment"]))
        except errors.ConduitError as exc:
            seen_core.append(("error", exc.status_code))
    assert seen_compat == seen_core
    ids = [dep_id for _, dep_id, _ in DEPLOYMENTS]
    assert await ours.state.cooling(ids) == await core.state.cooling(ids)
    assert any(await core.state.cooling(ids))  # something did cool down
    assert ("backup", "z") in seen_core  # and something fell back


def test_litellm_settings_become_the_core_policies() -> None:
    router = litellm.Router(
        [{"model_name": "g", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "k"}}],
        routing_strategy="latency-based-routing",
        num_retries=3,
        retry_after=0.25,
        timeout=12,
        cooldown_time=9,
        allowed_fails=1,
        context_window_fallbacks=[{"g": "g-big"}],
    )
    core = router.core
    assert core.strategy == "lowest-latency"
    assert core.retry == RetryPolicy(max_retries=3, initial_delay=0.25, max_delay=8.0)
    assert (core.cooldown_seconds, core.allowed_fails) == (9.0, 1)
    assert core.context_window_fallbacks == {"g": ["g-big"]}
    [deployment] = core.deployments("g")
    assert deployment.connection["timeout"] == Timeout(total=12)
    assert deployment.connection["max_retries"] == RetryPolicy(max_retries=0)
    assert litellm.Router(disable_cooldowns=True).core.cooldown_seconds == 0.0
    for name, core_name in [
        ("usage-based-routing-v2", "usage-based"),
        ("cost-based-routing", "cost-based"),
        ("simple-shuffle", "simple-shuffle"),
    ]:
        assert litellm.Router(routing_strategy=name).core.strategy == core_name
    with pytest.raises(errors.ValidationError, match="num_retries"):
        litellm.Router(num_retries=-1)
    with pytest.raises(errors.ValidationError, match="retry_after"):
        litellm.Router(retry_after=float("nan"))
    with pytest.raises(errors.ValidationError, match="timeout"):
        litellm.Router(timeout=0)


def test_deployment_prices_and_mocks_are_the_cores() -> None:
    router = litellm.Router(
        [
            {
                "model_name": "g",
                "litellm_params": {
                    "model": "openai/gpt-4o-mini",
                    "input_cost_per_token": 1e-6,
                    "output_cost_per_token": 2e-6,
                    "mock_response": "priced by the deployment",
                },
            }
        ]
    )
    [deployment] = router.core.deployments("g")
    assert deployment.prices is not None
    assert (deployment.prices.input, deployment.prices.output) == (1.0, 2.0)
    answer = router.completion("g", HI)
    usage = answer.usage
    cost = (usage.prompt_tokens * 1.0 + usage.completion_tokens * 2.0) / 1e6
    assert answer._hidden_params["response_cost"] == pytest.approx(cost)
    assert litellm.completion_cost(answer) == pytest.approx(cost)


def test_per_call_mock_on_a_router_is_routed(server: CompatServer) -> None:
    router = _compat_router(server, "round-robin")
    before = dict(server.hits)
    picked = [router.completion("g", HI, mock_response="m")._hidden_params for _ in range(2)]
    assert [p["model_id"] for p in picked] == ["a", "b"]  # the router picked, nothing sent
    assert server.hits == before
    assert picked[0]["response_cost"] > 0


def test_completion_fallbacks_are_the_core_router(
    server: CompatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    # A fallback whose key is missing is just a failure to fall back from: the core
    # router builds its deployments' models lazily.
    seen: list[str] = []
    litellm.failure_callback = [lambda kw, exc, *_: seen.append(type(exc).__name__)]
    answer = litellm.completion(
        model="anthropic/claude-haiku-4-5",
        messages=HI,
        api_key="",
        fallbacks=[{"model": "openai/gpt-4o-mini", "api_base": server.base_url, "api_key": "k"}],
    )
    assert answer._hidden_params["model_ref"] == "openai/gpt-4o-mini"
    assert "model_id" not in answer._hidden_params  # not a Router call
    assert seen == []
    with pytest.raises(litellm.BadRequestError):  # a plain bad request: no fallback fixes it
        litellm.completion(
            model="openai/gpt-4o-mini",
            messages=HI,
            api_base=server.error_base("400"),
            api_key="k",
            fallbacks=["fake/echo"],
        )
    assert seen == ["BadRequestError"]


# ------------------------------------------------------------------ budgets under load


def _budgets(kind: str, tmp_path: Path) -> Budgets:
    return Budgets(None if kind == "memory" else f"sqlite:///{tmp_path / 'spend.sqlite3'}")


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_budgets_hold_under_50_concurrent_calls(
    server: CompatServer, kind: str, tmp_path: Path
) -> None:
    budgets = _budgets(kind, tmp_path)
    budget = ONE_CALL * 10.5
    budgets.set("tag", "burst", budget)
    litellm.budgets = budgets
    before = server.hits.get("ok", 0)

    async def one() -> Any:
        return await litellm.acompletion(
            model="openai/gpt-4o-mini",
            messages=HI,
            api_base=server.base_url,
            api_key="k",
            max_tokens=7,
            metadata={"tags": ["burst"]},
        )

    try:
        results = await asyncio.gather(*(one() for _ in range(50)), return_exceptions=True)
        answered = [r for r in results if not isinstance(r, BaseException)]
        refused = [r for r in results if isinstance(r, litellm.BudgetExceededError)]
        assert len(answered) + len(refused) == 50
        assert len(answered) == 10  # each call's worst case is its cost: ten fit
        assert server.hits.get("ok", 0) - before == 10  # the refused ones sent nothing
        spent = await budgets.spent("tag", "burst")
        assert spent <= budget
        assert spent == pytest.approx(ONE_CALL * 10)
    finally:
        await budgets.aclose()


async def test_max_budget_holds_under_50_concurrent_router_calls(server: CompatServer) -> None:
    litellm.max_budget = ONE_CALL * 5.5
    router = litellm.Router(
        [
            {
                "model_name": "g",
                "litellm_params": {
                    "model": "openai/gpt-4o-mini",
                    "api_base": server.base_url,
                    "api_key": "k",
                },
            }
        ]
        * 2
    )
    results = await asyncio.gather(
        *(router.acompletion("g", HI, max_tokens=7) for _ in range(50)), return_exceptions=True
    )
    answered = [r for r in results if not isinstance(r, BaseException)]
    assert len(answered) == 5
    assert all(isinstance(r, litellm.BudgetExceededError) for r in results if r not in answered)
    assert await process_spend.total() == pytest.approx(ONE_CALL * 5)


def test_a_closed_stream_pays_for_what_it_delivered() -> None:
    budgets = Budgets()
    budgets.set("user", "sam", 1.0)
    litellm.budgets = budgets
    stream = litellm.completion(
        model="openai/gpt-4o-mini",
        messages=HI,
        mock_response="one two three four five six seven eight",
        user="sam",
        stream=True,
    )
    next(iter(stream))
    stream.close()  # the core Budget settles what reached the caller, not the worst case
    spent = run_sync(budgets.spent("user", "sam"))
    assert 0 < spent < ONE_CALL * 10


# ------------------------------------------------------------------ nothing left to copy


def test_compat_holds_no_routing_retry_or_money_code() -> None:
    """No compat module sleeps, draws random numbers or keeps counters: those live in
    the spine (routing, core.policy, storage)."""
    banned_modules = {"random", "asyncio", "threading"}
    banned_names = {"_retryable", "_pick", "_choose", "_failed", "SpendLedger", "SpendRecord"}
    for path in sorted(COMPAT.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found = {alias.name.split(".")[0] for alias in node.names}
                assert not found & banned_modules, f"{path.name} imports {found}"
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                assert node.name not in banned_names, (path.name, node.name)
