"""Issue 29's items, each run through LiteLLM itself and through `conduit.compat`
(offline: mocks and the catalog), comparing objects, numbers and exception classes."""

from __future__ import annotations

import os
import warnings
from types import ModuleType

import pytest

import conduit.compat as compat

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]
M = [{"role": "user", "content": "hello world"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "The city"}},
                "required": ["city"],
            },
        },
    }
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


@pytest.mark.parametrize("model", ["gpt-3.5-turbo", "gpt-4o", "gpt-4"])
def test_item1_bare_names_with_mock_answer_alike(litellm: ModuleType, model: str) -> None:
    theirs = litellm.completion(model=model, messages=M, mock_response="Hello!")
    ours = compat.completion(model=model, messages=M, mock_response="Hello!")
    assert ours.choices[0].message.content == theirs.choices[0].message.content
    assert (ours.usage.prompt_tokens, ours.usage.completion_tokens) == (
        theirs.usage.prompt_tokens,
        theirs.usage.completion_tokens,
    )
    assert compat.completion_cost(ours) == pytest.approx(litellm.completion_cost(theirs))


def test_item2_names_exist(litellm: ModuleType) -> None:
    for name in (
        "mock_completion",
        "completion_with_retries",
        "text_completion",
        "batch_completion",
        "Cache",
        "BudgetManager",
        "model_cost",
        "get_llm_provider",
        "register_model",
        "get_max_tokens",
        "encode",
        "decode",
        "supports_audio_input",
    ):
        assert hasattr(litellm, name)
        assert getattr(compat, name) is not None, name
    assert len(compat.model_cost) > 2000


@pytest.mark.parametrize("model", ["gpt-4", "gpt-4o-mini", "gpt-3.5-turbo"])
def test_item3_costs_and_facts_agree(litellm: ModuleType, model: str) -> None:
    assert compat.cost_per_token(model, prompt_tokens=10, completion_tokens=10) == pytest.approx(
        litellm.cost_per_token(model, prompt_tokens=10, completion_tokens=10)
    )
    ours, theirs = compat.get_model_info(model), litellm.get_model_info(model)
    for key in ("max_input_tokens", "max_output_tokens", "litellm_provider", "mode"):
        assert ours[key] == theirs[key], key
    assert compat.supports_function_calling(model) == litellm.supports_function_calling(model)
    assert compat.get_llm_provider(model)[:2] == litellm.get_llm_provider(model)[:2]


def test_item4_token_counts_with_tools_and_images(litellm: ModuleType) -> None:
    for model in ("gpt-4o", "gpt-4"):
        assert compat.token_counter(model=model, messages=M, tools=TOOLS) == litellm.token_counter(
            model=model, messages=M, tools=TOOLS
        )
    image = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "hello"},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://x.invalid/a.png", "detail": "low"},
                },
            ],
        }
    ]
    assert compat.token_counter(model="gpt-4o", messages=image) == litellm.token_counter(
        model="gpt-4o", messages=image
    )


@pytest.mark.parametrize(
    "model", ["vertex_ai/gemini-2.5-flash", "together_ai/meta-llama/Llama-3-8b", "replicate/x/y"]
)
def test_item5_provider_prefixes(litellm: ModuleType, model: str) -> None:
    theirs = litellm.completion(model=model, messages=M, mock_response="m")
    ours = compat.completion(model=model, messages=M, mock_response="m")
    assert ours.choices[0].message.content == theirs.choices[0].message.content


def test_item5_unsupported_provider_is_a_clear_error() -> None:
    with pytest.raises(compat.BadRequestError, match="no Conduit adapter"):
        compat.completion(model="databricks/dbrx", messages=M, api_key="k")


def test_item6_router_mock_exception_falls_back(litellm: ModuleType) -> None:
    def make(lib: ModuleType) -> object:
        return lib.Router(
            model_list=[
                {
                    "model_name": "bad",
                    "litellm_params": {"model": "gpt-4o", "mock_response": Exception("boom")},
                },
                {
                    "model_name": "good",
                    "litellm_params": {"model": "gpt-4o", "mock_response": "ok"},
                },
            ],
            fallbacks=[{"bad": ["good"]}],
            num_retries=0,
        )

    for lib in (litellm, compat):
        assert make(lib).completion(model="bad", messages=M).choices[0].message.content == "ok"


def test_item7_model_list_entries_are_dicts(litellm: ModuleType) -> None:
    entry = {"model_name": "g", "litellm_params": {"model": "gpt-4o"}, "model_info": {"id": "a"}}
    for lib in (litellm, compat):
        router = lib.Router(model_list=[entry])
        assert router.model_list[0]["model_name"] == "g"
        assert router.get_model_ids() == ["a"]


def test_item9_custom_cost_and_cache(litellm: ModuleType) -> None:
    prices = {"input_cost_per_token": 1.0, "output_cost_per_token": 2.0}
    assert compat.cost_per_token("gpt-4o", 3, 4, custom_cost_per_token=prices) == pytest.approx(
        litellm.cost_per_token("gpt-4o", 3, 4, custom_cost_per_token=prices)
    )
    compat.cache = compat.Cache()
    try:
        compat.completion(model="fake/echo", messages="cache me")
        again = compat.completion(model="fake/echo", messages="cache me")
        assert again._hidden_params["cache_hit"] is True
    finally:
        compat.cache = None


def test_item10_objects_and_exceptions(litellm: ModuleType) -> None:
    import openai

    assert compat.ModelResponse().object == litellm.ModelResponse().object
    assert compat.Message(content="hi").role == litellm.Message(content="hi").role
    assert compat.Usage(completion_tokens=None).completion_tokens == 0
    for name in ("RateLimitError", "AuthenticationError", "BadRequestError", "NotFoundError"):
        ours, theirs = getattr(compat, name), getattr(litellm, name)
        bases = {b for b in theirs.__mro__ if b.__module__.startswith("openai")}
        assert all(issubclass(ours, b) for b in bases), name
    mine = compat.RateLimitError(message="x", llm_provider="openai", model="gpt-4o")
    theirs_e = litellm.RateLimitError(message="x", llm_provider="openai", model="gpt-4o")
    assert str(mine) == str(theirs_e)
    assert isinstance(mine, openai.RateLimitError)
