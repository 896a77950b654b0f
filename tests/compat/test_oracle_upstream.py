"""Fixes found by running LiteLLM's own `tests/local_testing` files against
`conduit.compat` (issue 29): each call goes through LiteLLM itself and through
`conduit.compat`, offline, and the answers are compared. Written from LiteLLM's
documented signatures."""

from __future__ import annotations

import os
import warnings
from types import ModuleType
from typing import Any
from unittest.mock import MagicMock

import pytest

import conduit.compat as compat
from conduit.compat import utils as compat_utils

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]


@pytest.fixture(scope="module")
def litellm() -> ModuleType:
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import litellm
    litellm.telemetry = False
    litellm.suppress_debug_info = True
    return litellm


@pytest.mark.parametrize(
    "model",
    [
        "ft:gpt-3.5-turbo:my-org:custom_suffix:id",
        "ft:gpt-4-0613:my-org:custom_suffix:id",
        "ft:gpt-4o-mini-2024-07-18:acme::abc123",
    ],
)
def test_fine_tuned_names_are_priced_as_their_ft_entry(litellm: ModuleType, model: str) -> None:
    theirs, ours = litellm.get_model_info(model), compat.get_model_info(model)
    assert ours["key"] == theirs["key"]
    assert ours["litellm_provider"] == theirs["litellm_provider"] == "openai"
    assert ours["input_cost_per_token"] == pytest.approx(theirs["input_cost_per_token"])
    assert ours["output_cost_per_token"] == pytest.approx(theirs["output_cost_per_token"])


def test_fine_tuned_name_with_provider_prefix(litellm: ModuleType) -> None:
    args: dict[str, Any] = {
        "model": "openai/ft:gpt-3.5-turbo:my-org:custom_suffix:id",
        "custom_llm_provider": "openai",
    }
    assert compat.get_model_info(**args)["key"] == litellm.get_model_info(**args)["key"]


@pytest.mark.parametrize("model", ["gpt-35-turbo", "ada"])
def test_bare_name_one_provider_lists_has_its_facts(litellm: ModuleType, model: str) -> None:
    theirs, ours = litellm.get_model_info(model), compat.get_model_info(model)
    assert ours["litellm_provider"] == theirs["litellm_provider"] == "azure"
    assert ours["mode"] == theirs["mode"]
    assert ours["input_cost_per_token"] == pytest.approx(theirs["input_cost_per_token"])


def test_unknown_names_stay_not_mapped(litellm: ModuleType) -> None:
    for module in (litellm, compat):
        with pytest.raises(Exception, match="isn't mapped yet"):
            module.get_model_info("no-such-model-anywhere")


def test_get_model_cost_map_is_a_fresh_mutable_copy(litellm: ModuleType) -> None:
    theirs, ours = litellm.get_model_cost_map(url=""), compat.get_model_cost_map(url="")
    assert isinstance(ours, dict)
    assert isinstance(theirs, dict)
    assert ours["gpt-4o-mini"]["mode"] == theirs["gpt-4o-mini"]["mode"] == "chat"
    assert ours["gpt-4o-mini"]["input_cost_per_token"] == pytest.approx(
        theirs["gpt-4o-mini"]["input_cost_per_token"]
    )
    ours.pop("gpt-4o-mini")
    assert "gpt-4o-mini" in compat.get_model_cost_map()
    assert "gpt-4o-mini" in compat.model_cost
    assert compat.utils.get_model_cost_map is compat.get_model_cost_map


@pytest.mark.parametrize("mpr", [None, 10])
@pytest.mark.parametrize("tpm", [None, 20, 300000])
@pytest.mark.parametrize("rpm", [None, 30])
@pytest.mark.parametrize("default", [None, 40])
def test_calculate_max_parallel_requests(
    litellm: ModuleType, mpr: int | None, tpm: int | None, rpm: int | None, default: int | None
) -> None:
    from litellm.utils import calculate_max_parallel_requests

    args = {
        "max_parallel_requests": mpr,
        "rpm": rpm,
        "tpm": tpm,
        "default_max_parallel_requests": default,
    }
    assert compat_utils.calculate_max_parallel_requests(**args) == (
        calculate_max_parallel_requests(**args)
    )


@pytest.mark.parametrize("sync", [True, False])
async def test_completion_with_retries_calls_original_function_without_its_retries(
    litellm: ModuleType, sync: bool
) -> None:
    seen = []
    for module in (litellm, compat):
        original = MagicMock(return_value="answer")
        call: dict[str, Any] = {
            "model": "gpt-3.5-turbo",
            "messages": [{"role": "user", "content": "hi"}],
            "num_retries": 3,
            "original_function": original,
        }
        if sync:
            answer = module.completion_with_retries(**call)
        else:
            answer = await module.acompletion_with_retries(**call)
        assert answer == "answer"
        original.assert_called_once()
        kwargs = original.call_args.kwargs
        seen.append((kwargs["num_retries"], kwargs["max_retries"], kwargs["model"]))
    assert seen[0] == seen[1] == (0, 0, "gpt-3.5-turbo")


def test_completion_with_retries_retries_original_function_on_retryable_errors() -> None:
    from conduit.compat.exceptions import BadRequestError, RateLimitError

    limited = RateLimitError("slow down", llm_provider="openai", model="gpt-4o")
    flaky = MagicMock(side_effect=[limited, "answer"])
    call = {"model": "gpt-4o", "messages": "hi", "original_function": flaky}
    assert compat.completion_with_retries(**call, num_retries=1) == "answer"
    assert flaky.call_count == 2
    bad = MagicMock(side_effect=BadRequestError("bad", llm_provider="openai", model="gpt-4o"))
    with pytest.raises(BadRequestError):
        compat.completion_with_retries(model="gpt-4o", messages="hi", original_function=bad)
    assert bad.call_count == 1  # not worth retrying


async def test_tag_routing_refusal_says_litellms_router_error(litellm: ModuleType) -> None:
    from litellm.types.router import RouterErrors

    from conduit.compat.types.router import RouterErrors as OurRouterErrors

    model_list = [
        {"model_name": "gpt-4", "litellm_params": {"model": "gpt-4o", "mock_response": "hi"}},
        {
            "model_name": "gpt-4",
            "litellm_params": {"model": "gpt-4o-mini", "tags": ["teamA"], "mock_response": "hi"},
        },
    ]
    wording = RouterErrors.no_deployments_with_tag_routing.value
    assert OurRouterErrors.no_deployments_with_tag_routing.value == wording
    for module in (litellm, compat):
        router = module.Router(model_list=model_list, enable_tag_filtering=True)
        with pytest.raises(Exception) as refused:
            await router.acompletion(
                model="gpt-4",
                messages=[{"role": "user", "content": "hi"}],
                metadata={"tags": ["paid"]},
            )
        assert wording in str(refused.value)
    assert isinstance(refused.value, compat.BadRequestError)


def test_logging_module_has_litellms_loggers(litellm: ModuleType) -> None:
    import logging

    from litellm import _logging as theirs

    from conduit.compat import _logging as ours

    for name in ("verbose_logger", "verbose_router_logger", "verbose_proxy_logger"):
        assert isinstance(getattr(theirs, name), logging.Logger)
        assert isinstance(getattr(ours, name), logging.Logger)


def _router(module: ModuleType) -> Any:
    return module.Router(
        model_list=[
            {"model_name": "g", "litellm_params": {"model": "gpt-4o", "mock_response": "hi"}}
        ]
    )


@pytest.mark.parametrize(
    ("error_name", "healthy", "fallbacks", "retried"),
    [
        ("RateLimitError", ["d1", "d2"], None, True),
        ("RateLimitError", [], None, False),
        ("InternalServerError", [], None, False),
        ("NotFoundError", ["d1"], None, False),
        ("ContextWindowExceededError", ["d1"], [{"g": ["h"]}], False),
        ("ContextWindowExceededError", ["d1"], None, False),
        ("BadRequestError", ["d1", "d2"], None, False),
        ("AuthenticationError", ["d1", "d2"], None, False),
        ("Timeout", ["d1"], None, True),
        ("ServiceUnavailableError", ["d1"], None, True),
        ("InternalServerError", ["d1"], None, True),
    ],
)
def test_should_retry_this_error_alike(
    litellm: ModuleType, error_name: str, healthy: list[str], fallbacks: Any, retried: bool
) -> None:
    for module in (litellm, compat):
        error = getattr(module, error_name)(message="no", model="gpt-4o", llm_provider="openai")
        call = {
            "error": error,
            "healthy_deployments": healthy,
            "context_window_fallbacks": fallbacks,
        }
        if retried:
            assert _router(module).should_retry_this_error(**call) is True
        else:
            with pytest.raises(type(error)):
                _router(module).should_retry_this_error(**call)


def test_router_module_has_litellms_policies(litellm: ModuleType) -> None:
    from litellm.router import AllowedFailsPolicy, RetryPolicy

    from conduit.compat.router import AllowedFailsPolicy as OurAllowed
    from conduit.compat.router import RetryPolicy as OurRetry

    theirs = RetryPolicy(ContentPolicyViolationErrorRetries=3, AuthenticationErrorRetries=0)
    ours = OurRetry(ContentPolicyViolationErrorRetries=3, AuthenticationErrorRetries=0)
    assert ours.ContentPolicyViolationErrorRetries == theirs.ContentPolicyViolationErrorRetries
    allowed = {"RateLimitErrorAllowedFails": 100}
    assert (
        OurAllowed(**allowed).RateLimitErrorAllowedFails
        == AllowedFailsPolicy(**allowed).RateLimitErrorAllowedFails
    )


def test_register_model_updates_a_model_cost_the_program_set(
    litellm: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = {"my-org/tuned-model": {"input_cost_per_token": 2e-05, "output_cost_per_token": 6e-05}}
    for module in (litellm, compat):
        monkeypatch.setattr(module, "model_cost", module.get_model_cost_map(url=""))
        module.register_model(spec)
        assert module.model_cost["my-org/tuned-model"]["input_cost_per_token"] == 2e-05
