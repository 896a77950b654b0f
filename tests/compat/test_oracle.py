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


def _pair(**params: object) -> list[dict[str, object]]:
    """Two mock deployments of group "g": gpt-4o ("expensive") and gpt-4o-mini ("cheap")."""
    a: dict[str, object] = {"model": "gpt-4o", "mock_response": "a", **params}
    b: dict[str, object] = {"model": "gpt-4o-mini", "mock_response": "b"}
    return [
        {"model_name": "g", "litellm_params": a, "model_info": {"id": "expensive"}},
        {"model_name": "g", "litellm_params": b, "model_info": {"id": "cheap"}},
    ]


@pytest.mark.parametrize(
    "strategy",
    [
        "simple-shuffle",
        "least-busy",
        "latency-based-routing",
        "usage-based-routing",
        "usage-based-routing-v2",
        "cost-based-routing",
    ],
)
def test_item8_strategies_answer_from_the_group(litellm: ModuleType, strategy: str) -> None:
    import asyncio

    seen = {}
    for lib in (litellm, compat):
        router = lib.Router(model_list=_pair(), routing_strategy=strategy)

        async def calls(router: object = router) -> set[str]:
            answers = [await router.acompletion(model="g", messages=M) for _ in range(4)]  # type: ignore[attr-defined]
            return {a._hidden_params["model_id"] for a in answers}

        seen[lib.__name__] = asyncio.run(calls())
        assert seen[lib.__name__] <= {"expensive", "cheap"}
    if strategy == "cost-based-routing":  # both pick the cheaper deployment, every time
        assert seen["litellm"] == seen["conduit.compat"] == {"cheap"}


def test_item8_order_ids_and_wildcards(litellm: ModuleType) -> None:
    for lib in (litellm, compat):
        ordered = _pair(order=2)
        ordered[1]["litellm_params"]["order"] = 1  # type: ignore[index]
        router = lib.Router(model_list=ordered)
        picked = {
            router.completion(model="g", messages=M)._hidden_params["model_id"] for _ in range(6)
        }
        assert picked == {"cheap"}, lib.__name__
        assert router.completion(model="expensive", messages=M).choices[0].message.content == "a"
        for group, asked in (("*", "gpt-4o-mini"), ("openai/*", "openai/gpt-4o")):
            wild = lib.Router(
                model_list=[
                    {"model_name": group, "litellm_params": {"model": group, "mock_response": "w"}}
                ]
            )
            answer = wild.completion(model=asked, messages=M)
            assert (answer.choices[0].message.content, answer.model) == ("w", asked.split("/")[-1])


def test_item7_introspection(litellm: ModuleType) -> None:
    infos, deployments = [], []
    for lib in (litellm, compat):
        router = lib.Router(model_list=_pair())
        info = router.get_model_group_info("g")
        infos.append(
            (
                info.model_group,
                info.providers,
                info.max_input_tokens,
                info.max_output_tokens,
                info.input_cost_per_token,
                info.output_cost_per_token,
                info.mode,
                info.supports_function_calling,
                info.rpm,
                info.tpm,
            )
        )
        assert router.get_model_group_info("nope") is None
        found = router.get_deployment("cheap")
        deployments.append((found.model_name, found["model_name"], found.litellm_params.model))
        assert router.get_deployment("nope") is None
        cache = router.cooldown_cache
        cache.add_deployment_to_cooldown(
            model_id="cheap",
            original_exception=Exception("x"),
            exception_status=429,
            cooldown_time=60,
        )
        active = cache.get_active_cooldowns(model_ids=["cheap", "expensive"], parent_otel_span=None)
        assert [model_id for model_id, _ in active] == ["cheap"]
    assert infos[0] == infos[1]
    assert deployments[0] == deployments[1] == ("g", "g", "gpt-4o-mini")
    router = compat.Router(model_list=_pair())
    router.cooldown_cache.add_deployment_to_cooldown("cheap", None, 429, 60)
    router.reset()  # LiteLLM 1.53.2's reset flushes its in-memory cache, cooldowns too
    assert router.cooldown_cache.get_active_cooldowns(["cheap"], None) == []


def test_item8_pre_call_checks_skip_a_window_too_small(litellm: ModuleType) -> None:
    entries = _pair()
    entries[0]["model_info"] = {"id": "expensive", "max_input_tokens": 5}
    long = [{"role": "user", "content": "hello world " * 20}]
    for lib in (litellm, compat):
        router = lib.Router(model_list=entries, enable_pre_call_checks=True)
        answers = {
            router.completion(model="g", messages=long).choices[0].message.content for _ in range(5)
        }
        assert answers == {"b"}, lib.__name__


def test_item6_mock_testing_fallbacks(litellm: ModuleType) -> None:
    entries = [
        {"model_name": "a", "litellm_params": {"model": "gpt-4o", "mock_response": "from a"}},
        {"model_name": "b", "litellm_params": {"model": "gpt-4o", "mock_response": "from b"}},
    ]
    for lib in (litellm, compat):
        router = lib.Router(model_list=entries, fallbacks=[{"a": ["b"]}])
        answer = router.completion(model="a", messages=M, mock_testing_fallbacks=True)
        assert answer.choices[0].message.content == "from b", lib.__name__
        assert router.completion(model="a", messages=M).choices[0].message.content == "from a"


@pytest.mark.parametrize(
    ("text", "answer"),
    [("Hey, how's it going?", "It's simple to use and easy to get started"), ("hi", "Hello!")],
)
def test_item10_stream_chunk_builder_usage(litellm: ModuleType, text: str, answer: str) -> None:
    messages = [{"role": "user", "content": text}]
    usages = []
    for lib in (litellm, compat):
        stream = lib.completion(
            model="gpt-3.5-turbo", messages=messages, stream=True, mock_response=answer
        )
        built = lib.stream_chunk_builder(list(stream), messages=messages)
        assert built.choices[0].message.content == answer
        usages.append(
            (built.usage.prompt_tokens, built.usage.completion_tokens, built.usage.total_tokens)
        )
    assert usages[0] == usages[1]


def test_item10_failure_callbacks_get_cost_and_standard_logging_object(
    litellm: ModuleType,
) -> None:
    import importlib
    import threading

    def failure_kwargs(lib: ModuleType) -> dict[str, object]:
        base = importlib.import_module(f"{lib.__name__}.integrations.custom_logger").CustomLogger
        got: dict[str, dict[str, object]] = {}
        logged = threading.Event()

        class Logger(base):  # type: ignore[misc, valid-type]
            def log_failure_event(self, kwargs, response_obj, start_time, end_time):  # type: ignore[no-untyped-def]
                got["failure"] = kwargs
                logged.set()

        lib.callbacks = [Logger()]
        try:
            with pytest.raises(Exception, match="boom"):
                lib.completion(model="gpt-4o", messages=M, mock_response=Exception("boom"))
            assert logged.wait(60)  # LiteLLM logs from a thread
        finally:
            lib.callbacks = []
        return got["failure"]

    seen = []
    for lib in (litellm, compat):
        kwargs = failure_kwargs(lib)
        log = kwargs["standard_logging_object"]
        assert isinstance(log, dict)
        seen.append(
            (
                kwargs["response_cost"],
                log["status"],
                log["model"],
                log["response_cost"],
                log["custom_llm_provider"],
                log["total_tokens"],
                "boom" in str(log["error_str"]),
            )
        )
    assert seen[0] == seen[1] == (0, "failure", "gpt-4o", 0.0, "openai", 0, True)


def test_mock_timeout_times_out(litellm: ModuleType) -> None:
    for lib in (litellm, compat):
        with pytest.raises(lib.Timeout):
            lib.completion(model="gpt-3.5-turbo", messages=M, timeout=0.01, mock_timeout=True)
        router = lib.Router(
            model_list=[{"model_name": "g", "litellm_params": {"model": "gpt-4o"}}], num_retries=0
        )
        with pytest.raises(lib.Timeout):
            router.completion(model="g", messages=M, timeout=0.01, mock_timeout=True)


def test_get_available_deployment_weighs_by_rpm(litellm: ModuleType) -> None:
    entries = [
        {"model_name": "g", "litellm_params": {"model": "gpt-4o", "rpm": 6}},
        {"model_name": "g", "litellm_params": {"model": "gpt-4o-mini"}, "rpm": 1440},
        {"model_name": "solo", "litellm_params": {"model": "gpt-4o", "rpm": 10}},
    ]
    for lib in (litellm, compat):
        router = lib.Router(model_list=entries, model_group_alias={"alias": "g"})
        picked = [
            router.get_available_deployment("g")["litellm_params"]["model"] for _ in range(300)
        ]
        assert picked.count("gpt-4o-mini") / len(picked) > 0.89, lib.__name__
        assert router.get_available_deployment("alias")["model_name"] == "g"
        assert router.get_available_deployment("solo")["litellm_params"]["model"] == "gpt-4o"


def test_wildcard_group_with_a_per_call_mock_needs_no_key(
    litellm: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    entries = [{"model_name": "*", "litellm_params": {"model": "openai/*"}, "tpm": 100}]
    for lib in (litellm, compat):
        router = lib.Router(model_list=entries)
        for _ in range(10):  # tpm beside litellm_params weighs the shuffle; it is no limit
            answer = router.completion(model="gpt-4", messages=M, mock_response="good morning")
            assert answer["model"] == "gpt-4", lib.__name__


def test_tag_filtering_by_call_metadata(litellm: ModuleType) -> None:
    import asyncio

    def entry(model: str, id: str, tags: list[str] | None) -> dict[str, object]:
        params: dict[str, object] = {"model": model, "mock_response": id}
        if tags is not None:
            params["tags"] = tags
        return {"model_name": "g", "litellm_params": params, "model_info": {"id": id}}

    entries = [
        entry("gpt-4o", "free-model", ["free", "default"]),
        entry("gpt-4o-mini", "paid-model", ["paid"]),
        entry("gpt-4o", "untagged", None),
    ]
    for lib in (litellm, compat):
        router = lib.Router(model_list=entries, enable_tag_filtering=True)

        async def ids(tags: list[str] | None, router: object = router) -> set[str]:
            metadata = {} if tags is None else {"tags": tags}
            answers = [
                await router.acompletion(model="g", messages=M, metadata=metadata)  # type: ignore[attr-defined]
                for _ in range(5)
            ]
            return {a._hidden_params["model_id"] for a in answers}

        assert asyncio.run(ids(["paid"])) == {"paid-model"}, lib.__name__
        assert asyncio.run(ids(["free"])) == {"free-model"}, lib.__name__
        assert asyncio.run(ids(None)) == {"free-model"}, lib.__name__  # the "default" tag
