"""LiteLLM-style tests of LiteLLM's documented public surface (written for this
comparison from LiteLLM 1.110's public signatures; offline: mocks only)."""

import asyncio

import litellm
import pytest
from litellm import Router

M = [{"role": "user", "content": "Hey, how's it going?"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


def test_mock_completion_bare_name():
    r = litellm.completion(model="gpt-3.5-turbo", messages=M, mock_response="Hello!")
    assert r.choices[0].message.content == "Hello!"
    assert r.usage.prompt_tokens == 10
    assert r.usage.completion_tokens == 20


def test_mock_completion_function():
    r = litellm.mock_completion(model="gpt-3.5-turbo", messages=M, mock_response="x")
    assert r.choices[0].message.content == "x"


def test_mock_stream():
    chunks = list(
        litellm.completion(model="gpt-4o-mini", messages=M, mock_response="a b c", stream=True)
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == "a b c"


def test_async_mock():
    r = asyncio.run(litellm.acompletion(model="gpt-4o", messages=M, mock_response="hi"))
    assert r.choices[0].message.content == "hi"


def test_mock_rate_limit_string():
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(model="gpt-4o", messages=M, mock_response="litellm.RateLimitError")


def test_mock_exception_is_an_error():
    with pytest.raises(Exception, match="boom"):
        litellm.completion(model="gpt-4o", messages=M, mock_response=Exception("boom"))


def test_completion_cost_of_mock():
    r = litellm.completion(model="gpt-3.5-turbo", messages=M, mock_response="Hello!")
    assert litellm.completion_cost(completion_response=r) == pytest.approx(3.5e-05)


def test_completion_cost_by_text():
    assert litellm.completion_cost(model="gpt-3.5-turbo", prompt="hi", completion="there") > 0


def test_cost_per_token_gpt4():
    p, c = litellm.cost_per_token("gpt-4", prompt_tokens=10, completion_tokens=10)
    assert p == pytest.approx(0.0003)
    assert c == pytest.approx(0.0006)


def test_custom_cost_per_token():
    cost = litellm.completion_cost(
        model="gpt-3.5-turbo",
        prompt="",
        completion="",
        custom_cost_per_token={"input_cost_per_token": 1.0, "output_cost_per_token": 1.0},
    )
    assert cost == 0.0 or cost >= 0


def test_get_model_info_gpt4():
    info = litellm.get_model_info("gpt-4")
    assert info["litellm_provider"] == "openai"
    assert info["max_input_tokens"] == 8192


def test_get_max_tokens():
    assert litellm.get_max_tokens("gpt-4o-mini") == 16384


def test_model_cost_is_large():
    assert len(litellm.model_cost) > 2000
    assert litellm.model_cost["gpt-4o"]["input_cost_per_token"] == pytest.approx(2.5e-06)


def test_supports_function_calling():
    assert litellm.supports_function_calling("gpt-3.5-turbo")
    assert litellm.supports_vision("gpt-4o")
    assert not litellm.supports_vision("gpt-3.5-turbo")


def test_supports_audio_input():
    assert litellm.supports_audio_input("gpt-4o-mini") is False


def test_get_llm_provider():
    assert litellm.get_llm_provider("gpt-3.5-turbo")[1] == "openai"
    assert litellm.get_llm_provider("claude-sonnet-4-5")[1] == "anthropic"
    assert litellm.get_llm_provider("together_ai/x")[1] == "together_ai"


def test_get_llm_provider_unknown():
    with pytest.raises(litellm.BadRequestError):
        litellm.get_llm_provider("no-such-model-anywhere")


def test_token_counter_messages():
    assert (
        litellm.token_counter(model="gpt-4o", messages=[{"role": "user", "content": "hello world"}])
        == 9
    )


def test_token_counter_text():
    assert litellm.token_counter(model="gpt-4o", text="hello world") == 2


def test_token_counter_tools():
    plain = litellm.token_counter(model="gpt-4o", messages=M)
    assert litellm.token_counter(model="gpt-4o", messages=M, tools=TOOLS) > plain + 20


def test_token_counter_low_detail_image():
    m = [
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
    assert litellm.token_counter(model="gpt-4o", messages=m) == 93


def test_encode_decode():
    assert litellm.decode(model="gpt-4o", tokens=litellm.encode(model="gpt-4o", text="hi")) == "hi"


def test_register_model():
    litellm.register_model(
        {
            "gpt-my-own": {
                "input_cost_per_token": 1e-06,
                "output_cost_per_token": 2e-06,
                "litellm_provider": "openai",
                "mode": "chat",
            }
        }
    )
    assert litellm.cost_per_token("gpt-my-own", prompt_tokens=1, completion_tokens=1)[0] > 0


def test_model_response_defaults():
    from litellm import Message, ModelResponse, Usage

    assert ModelResponse().object == "chat.completion"
    assert Message(content="hi").role == "assistant"
    assert Usage(completion_tokens=None).completion_tokens == 0


def test_types_utils_imports():
    from litellm.types.utils import (
        CallTypes,
        ChatCompletionDeltaToolCall,  # noqa: F401
        StandardLoggingPayload,  # noqa: F401
    )

    assert CallTypes.completion.value == "completion"


def test_types_router_imports():
    from litellm.types.router import Deployment, LiteLLM_Params  # noqa: F401


def test_custom_logger_import():
    from litellm.integrations.custom_logger import CustomLogger

    assert hasattr(CustomLogger, "log_success_event")


def test_caching_module():
    from litellm.caching.caching import Cache

    litellm.cache = Cache()
    try:
        a = litellm.completion(model="gpt-4o", messages=M, mock_response="one", caching=True)
        assert a.choices[0].message.content == "one"
    finally:
        litellm.cache = None


def test_exceptions_are_openai_exceptions():
    import openai

    assert issubclass(litellm.RateLimitError, openai.RateLimitError)
    assert issubclass(litellm.AuthenticationError, openai.AuthenticationError)
    e = litellm.RateLimitError(message="x", llm_provider="openai", model="gpt-4o")
    assert e.status_code == 429
    assert "RateLimitError" in str(e)


def test_exceptions_module_path():
    from litellm.exceptions import BadRequestError, ContextWindowExceededError  # noqa: F401


def test_budget_manager():
    from litellm import BudgetManager

    bm = BudgetManager(project_name="t")
    bm.create_budget(total_budget=10, user="u")
    r = litellm.completion(model="gpt-4o", messages=M, mock_response="x")
    bm.update_cost(completion_obj=r, user="u")
    assert bm.get_current_cost("u") > 0


def test_completion_with_retries():
    r = litellm.completion_with_retries(model="gpt-4o", messages=M, mock_response="ok")
    assert r.choices[0].message.content == "ok"


def test_batch_completion():
    rs = litellm.batch_completion(model="gpt-4o", messages=[M, M], mock_response="ok")
    assert len(rs) == 2


def test_text_completion():
    r = litellm.text_completion(model="gpt-3.5-turbo", prompt="hi", mock_response="yo")
    assert r.choices[0].text == "yo"


def test_stream_chunk_builder():
    chunks = list(litellm.completion(model="gpt-4o", messages=M, mock_response="a b", stream=True))
    built = litellm.stream_chunk_builder(chunks, messages=M)
    assert built.choices[0].message.content == "a b"


def test_vertex_prefix_mock():
    r = litellm.completion(model="vertex_ai/gemini-2.5-flash", messages=M, mock_response="v")
    assert r.choices[0].message.content == "v"


def test_together_prefix_mock():
    r = litellm.completion(model="together_ai/meta-llama/Llama-3-8b", messages=M, mock_response="t")
    assert r.choices[0].message.content == "t"


def test_replicate_prefix_mock():
    r = litellm.completion(model="replicate/meta/llama-3", messages=M, mock_response="r")
    assert r.choices[0].message.content == "r"


def test_router_basic_mock():
    router = Router(
        model_list=[
            {"model_name": "g", "litellm_params": {"model": "gpt-4o", "mock_response": "hi"}}
        ]
    )
    assert router.completion(model="g", messages=M).choices[0].message.content == "hi"


def test_router_model_list_dicts():
    router = Router(model_list=[{"model_name": "g", "litellm_params": {"model": "gpt-4o"}}])
    assert router.model_list[0]["model_name"] == "g"
    assert router.get_model_names() == ["g"]


def test_router_mock_exception_falls_back():
    router = Router(
        model_list=[
            {
                "model_name": "bad",
                "litellm_params": {"model": "gpt-4o", "mock_response": Exception("boom")},
            },
            {"model_name": "good", "litellm_params": {"model": "gpt-4o", "mock_response": "ok"}},
        ],
        fallbacks=[{"bad": ["good"]}],
        num_retries=0,
    )
    assert router.completion(model="bad", messages=M).choices[0].message.content == "ok"


def test_router_strategies_accepted():
    for s in (
        "simple-shuffle",
        "least-busy",
        "latency-based-routing",
        "usage-based-routing",
        "usage-based-routing-v2",
        "cost-based-routing",
    ):
        Router(
            model_list=[
                {"model_name": "g", "litellm_params": {"model": "gpt-4o", "mock_response": "x"}}
            ],
            routing_strategy=s,
        ).completion(model="g", messages=M)


def test_router_get_model_ids():
    router = Router(
        model_list=[
            {"model_name": "g", "litellm_params": {"model": "gpt-4o"}, "model_info": {"id": "abc"}}
        ]
    )
    assert router.get_model_ids() == ["abc"]


def test_router_mock_testing_fallbacks():
    router = Router(
        model_list=[
            {"model_name": "a", "litellm_params": {"model": "gpt-4o", "mock_response": "from a"}},
            {"model_name": "b", "litellm_params": {"model": "gpt-4o", "mock_response": "from b"}},
        ],
        fallbacks=[{"a": ["b"]}],
    )
    r = router.completion(model="a", messages=M, mock_testing_fallbacks=True)
    assert r.choices[0].message.content == "from b"


def test_router_wildcard():
    router = Router(
        model_list=[{"model_name": "*", "litellm_params": {"model": "*", "mock_response": "w"}}]
    )
    assert router.completion(model="gpt-4o", messages=M).choices[0].message.content == "w"
