"""completion()/acompletion(), settings, callbacks, budgets, helpers and exceptions."""

from __future__ import annotations

import json
import logging
import pickle
from typing import Any

import pytest

import conduit.compat as litellm
from conduit import errors
from conduit.compat import config
from conduit.compat.budgeting import Budgets, parse_window, process_spend
from conduit.compat.chat import resolve_model, to_options
from conduit.compat.exceptions import translate
from conduit.core.sync import run_sync
from conduit.providers.registry import get_provider
from tests.compat.conftest import CompatServer

HI = [{"role": "user", "content": "Hi"}]


def test_response_is_a_dict_with_attributes() -> None:
    r = litellm.completion(model="fake/echo", messages=HI)
    assert json.loads(json.dumps(r))["choices"][0]["message"]["content"] == "Hi"
    assert json.loads(r.json())["object"] == "chat.completion"
    r.model = "changed"
    assert r["model"] == "changed"
    del r.model
    with pytest.raises(AttributeError):
        _ = r.model
    with pytest.raises(AttributeError):
        del r.nothing
    assert pickle.loads(pickle.dumps(r)) == r
    assert r.dict() == r.model_dump()
    assert "ModelResponse(" in repr(r)


async def test_async_and_sync_agree(server: CompatServer) -> None:
    kw = {"api_base": server.base_url, "api_key": "sk-1", "num_retries": 0}
    a = await litellm.acompletion(model="openai/gpt-4o-mini", messages=HI, **kw)
    assert a.choices[0].message.content == "Hello from the test server."
    assert a._hidden_params["response_cost"] > 0
    assert litellm.completion_cost(completion_response=a) == a._hidden_params["response_cost"]
    assert litellm.completion_cost(a, model="openai/gpt-4o") > 0


def test_precedence_call_over_settings_over_environment(
    server: CompatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.error_base("500"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    with pytest.raises(litellm.InternalServerError):
        litellm.completion(model="openai/gpt-4o-mini", messages=HI, num_retries=0)
    litellm.api_base = server.base_url  # settings beat the environment
    litellm.num_retries = 0
    assert litellm.completion(model="openai/gpt-4o-mini", messages=HI).choices[0].message.content
    with pytest.raises(litellm.RateLimitError):  # the call beats the settings
        litellm.completion(
            model="openai/gpt-4o-mini", messages=HI, api_base=server.error_base("429")
        )


def test_keys_by_precedence() -> None:
    litellm.anthropic_key = "sk-ant"
    s = config.snapshot()
    assert s.key_for("anthropic", None) == "sk-ant"
    assert s.key_for("openai", None) is None
    litellm.api_key = "sk-all"
    assert config.snapshot().key_for("anthropic", None) == "sk-all"
    assert config.snapshot().key_for("anthropic", "sk-call") == "sk-call"
    assert "api_key" in dir(litellm)
    with pytest.raises(AttributeError):
        _ = litellm.no_such_setting
    litellm.something_else = 1  # not a setting: a plain module attribute
    assert litellm.something_else == 1
    del litellm.something_else


def test_request_timeout_and_headers_reach_the_model(server: CompatServer) -> None:
    litellm.request_timeout = 60  # hang guards: the local server answers at once
    r = litellm.completion(
        model="openai/gpt-4o-mini",
        messages=HI,
        api_base=server.base_url,
        api_key="sk-1",
        extra_headers={"x-test": "1"},
        timeout=30,
    )
    assert r.usage.total_tokens > 0


def test_bare_names_and_custom_provider() -> None:
    assert resolve_model("gpt-4o-mini") == "openai/gpt-4o-mini"
    assert resolve_model("openai/x", "openai") == "openai/x"
    # the one resolver decides; its errors are the core's ...
    with pytest.raises(errors.NotFoundError, match="unknown model"):
        resolve_model("definitely-not-a-model")
    with pytest.raises(errors.ValidationError):
        resolve_model("")
    # ... and a call's edge says them as LiteLLM does (with Conduit's close matches)
    with pytest.raises(litellm.BadRequestError, match="LLM Provider NOT provided") as caught:
        litellm.completion(model="gpt-4o-mni", messages=HI)
    assert "gpt-4o-mini" in str(caught.value)
    assert caught.value.status_code == 400
    assert isinstance(caught.value.__cause__, errors.NotFoundError)
    with pytest.raises(litellm.BadRequestError, match="LLM Provider NOT provided"):
        litellm.completion(model="no-such-provider/x", messages=HI)
    bare = litellm.completion(model="gpt-4o-mini", messages=HI, mock_response="ok")
    assert bare._hidden_params["model_ref"] == "openai/gpt-4o-mini"


def test_options_mapping() -> None:
    spec = get_provider("openai")
    opts = to_options(
        spec,
        {
            "temperature": 0.5,
            "max_completion_tokens": 9,
            "stop": "END",
            "tools": [{"type": "function", "function": {"name": "f"}}],
            "tool_choice": {"type": "function", "function": {"name": "f"}},
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "p", "schema": {"type": "object"}, "strict": True},
            },
        },
        {"logit_bias": {"1": 2}, "litellm_call_id": "x"},
        drop_params=True,
    )
    assert opts.max_tokens == 9
    assert opts.tool_choice == "f"
    assert opts.stop == ["END"]
    assert opts.response_format is not None
    assert opts.response_format.name == "p"
    assert opts.extra == {"logit_bias": {"1": 2}}  # OpenAI speaks it: kept
    dropped = to_options(get_provider("anthropic"), {}, {"logit_bias": {}}, drop_params=True)
    assert dropped.extra == {}
    text = to_options(spec, {"response_format": {"type": "text"}}, {}, drop_params=False)
    assert text.response_format is None

    from pydantic import BaseModel

    class Person(BaseModel):
        name: str

    fmt = to_options(spec, {"response_format": Person}, {}, drop_params=False).response_format
    assert fmt is not None
    assert fmt.name == "Person"
    with pytest.raises(errors.ValidationError):
        to_options(spec, {"response_format": 3}, {}, drop_params=False)
    with pytest.raises(errors.ValidationError):
        to_options(spec, {"tool_choice": 3}, {}, drop_params=False)
    with pytest.raises(errors.ValidationError):
        to_options(spec, {"tools": [3]}, {}, drop_params=False)


def test_openai_shaped_history_with_tool_calls(server: CompatServer) -> None:
    history = [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather?"},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://x.test/a.png", "detail": "low"},
                },
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "w", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "w", "arguments": {"city": "Rome"}},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "22C"},
        {"role": "tool", "tool_call_id": "c2", "content": "25C", "name": "w"},
    ]
    r = litellm.completion(
        model="openai/gpt-4o", messages=history, api_base=server.base_url, api_key="k"
    )
    assert r.choices[0].finish_reason == "stop"
    with pytest.raises(litellm.BadRequestError):
        litellm.completion(model="fake/echo", messages=None)
    audio = [
        {
            "role": "user",
            "content": [{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}],
        }
    ]
    assert litellm.completion(model="fake/echo", messages=audio).object == "chat.completion"


def test_fallbacks_try_the_next_model(server: CompatServer) -> None:
    r = litellm.completion(
        model="openai/gpt-4o-mini",
        messages=HI,
        api_base=server.error_base("503"),
        api_key="k",
        num_retries=0,
        fallbacks=["fake/echo", {"model": "openai/gpt-4o", "api_base": server.base_url}],
    )
    assert r.choices[0].message.content == "Hi"
    r = litellm.completion(
        model="openai/gpt-4o-mini",
        messages=HI,
        api_base=server.error_base("503"),
        api_key="k",
        num_retries=0,
        fallbacks=[{"model": "openai/gpt-4o", "api_base": server.base_url}],
    )
    assert r.choices[0].message.content == "Hello from the test server."
    with pytest.raises(litellm.ServiceUnavailableError):
        litellm.completion(
            model="openai/a",
            messages=HI,
            api_base=server.error_base("503"),
            api_key="k",
            num_retries=0,
            fallbacks=[{"model": "openai/b", "api_base": server.error_base("503")}],
        )


def test_mock_response_and_stream_usage() -> None:
    r = litellm.completion(model="openai/gpt-4o-mini", messages=HI, mock_response="Mocked")
    assert r.choices[0].message.content == "Mocked"
    assert litellm.completion_cost(r) > 0
    chunks = list(
        litellm.completion(
            model="fake/echo", messages=HI, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[-1].usage.total_tokens > 0
    assert litellm.stream_chunk_builder([]) is None


async def test_stream_closes_early_and_reports_errors_mid_stream() -> None:
    from conduit.compat.chat import CustomStreamWrapper
    from conduit.compat.responses import ChunkMaker
    from conduit.schema import TextDelta

    ended: list[Any] = []

    async def events() -> Any:
        yield TextDelta(text="a")
        raise errors.ServerError("cut", status_code=500)

    async def on_end(response: Any, error: Any) -> None:
        ended.append(error)

    stream = CustomStreamWrapper(events(), None, ChunkMaker("m"), on_end, "m")
    assert (await stream.__anext__()).choices[0].delta.content == "a"
    with pytest.raises(litellm.InternalServerError):
        await stream.__anext__()
    assert type(ended[0]).__name__ == "InternalServerError"
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()
    s = await litellm.acompletion(model="fake/echo", messages="one two three", stream=True)
    await s.aclose()
    sync = litellm.completion(model="fake/echo", messages="one two", stream=True)
    next(iter(sync))
    sync.close()


# ------------------------------------------------------------------ callbacks


class Recorder(litellm.CustomLogger):
    def __init__(self) -> None:
        self.events: list[str] = []

    def log_pre_api_call(self, model: str, messages: Any, kwargs: dict[str, Any]) -> None:
        self.events.append("pre")

    def log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self.events.append("success")

    def log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self.events.append("failure")

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self.events.append("async_success")

    async def async_log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self.events.append("async_failure")


async def test_callbacks_get_model_messages_response_cost_and_times(server: CompatServer) -> None:
    seen: list[dict[str, Any]] = []
    failures: list[Any] = []

    async def on_success(kwargs: dict[str, Any], response: Any, start: Any, end: Any) -> None:
        seen.append({**kwargs, "response": response, "took": end - start})

    recorder = Recorder()
    litellm.success_callback = [on_success]
    litellm.failure_callback = [
        lambda kwargs, exc, start, end: failures.append(kwargs["exception"])
    ]
    litellm.callbacks = [recorder]
    kw = {"api_base": server.base_url, "api_key": "k", "num_retries": 0}
    await litellm.acompletion(model="openai/gpt-4o-mini", messages=HI, metadata={"run": 1}, **kw)
    call = seen[0]
    assert call["model"] == "openai/gpt-4o-mini"
    assert call["messages"] == HI
    assert call["response_cost"] > 0
    assert call["metadata"] == {"run": 1}
    assert call["took"].total_seconds() >= 0
    assert call["response"].object == "chat.completion"
    litellm.completion(model="openai/gpt-4o-mini", messages=HI, **kw)
    with pytest.raises(litellm.RateLimitError):
        await litellm.acompletion(
            model="openai/x",
            messages=HI,
            api_base=server.error_base("429"),
            api_key="k",
            num_retries=0,
        )
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(
            model="openai/x",
            messages=HI,
            api_base=server.error_base("429"),
            api_key="k",
            num_retries=0,
        )
    assert recorder.events == [
        "pre",
        "async_success",
        "pre",
        "success",
        "pre",
        "async_failure",
        "pre",
        "failure",
    ]
    assert [type(e).__name__ for e in failures] == ["RateLimitError", "RateLimitError"]
    stream = await litellm.acompletion(model="fake/echo", messages=HI, stream=True)
    _ = [c async for c in stream]
    assert seen[-1]["response"].choices[0].message.content == "Hi"


def test_a_raising_callback_is_logged_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("callback bug")

    litellm.success_callback = [broken, "langfuse", "langfuse"]
    litellm.failure_callback = [broken]
    with caplog.at_level(logging.WARNING, logger="conduit.compat"):
        assert litellm.completion(model="fake/echo", messages=HI).choices[0].message.content == "Hi"
        with pytest.raises(litellm.NotFoundError):
            litellm.completion(model="fake/nope", messages=HI)
    assert "callback bug" in caplog.text
    assert caplog.text.count("langfuse") == 1


def test_embedding_callbacks_and_errors() -> None:
    got: list[str] = []
    litellm.success_callback = [lambda kw, r, s, e: got.append(kw["call_type"])]
    litellm.failure_callback = [lambda kw, r, s, e: got.append("failed")]
    assert litellm.embedding(model="fake/hash", input="x", dimensions=8).data[0].index == 0
    with pytest.raises(litellm.BadRequestError, match="LLM Provider NOT provided"):
        litellm.embedding(model="nope", input="x")
    assert got == ["aembedding", "failed"]


# ------------------------------------------------------------------ budgets
#
# Budgets reserve a call's worst case (its input and `max_tokens` at the model's prices)
# before it is sent and settle its real cost after. The test server answers "Hi" with 1
# prompt and 7 completion tokens, so with max_tokens=7 a call's worst case is its cost.

ONE_CALL = 0.15e-6 * 1 + 0.6e-6 * 7  # gpt-4o-mini: $0.15 / $0.60 per million tokens


def _server_call(server: CompatServer, **kw: Any) -> Any:
    return litellm.completion(
        model="openai/gpt-4o-mini",
        messages=HI,
        api_base=server.base_url,
        api_key="k",
        max_tokens=7,
        **kw,
    )


def test_budgets_stop_calls_after_the_limit(server: CompatServer) -> None:
    budgets = Budgets()
    budgets.set("user", "alice", ONE_CALL * 2.5, window="1h")
    budgets.set("tag", "batch", 1.0)
    litellm.budgets = budgets
    first = _server_call(server, user="alice", metadata={"tags": ["batch"]})
    assert first._hidden_params["response_cost"] == pytest.approx(ONE_CALL)
    _server_call(server, user="alice")
    before = server.hits.get("ok", 0)
    with pytest.raises(litellm.BudgetExceededError) as caught:
        _server_call(server, user="alice")  # 2 calls spent, a third does not fit
    assert server.hits.get("ok", 0) == before  # nothing was sent
    assert caught.value.entity_type == "user"
    assert caught.value.entity_id == "alice"
    assert caught.value.current_cost == pytest.approx(ONE_CALL * 2)
    assert caught.value.max_budget == pytest.approx(ONE_CALL * 2.5)
    assert isinstance(caught.value, errors.BudgetExceededError)  # the core's class too
    assert caught.value.scope == "user"
    assert run_sync(budgets.spent("user", "alice")) == pytest.approx(ONE_CALL * 2)
    assert run_sync(budgets.spent("tag", "batch")) == pytest.approx(ONE_CALL)
    assert _server_call(server, user="bob")
    budgets.remove("user", "alice")
    assert [b.name for b in budgets.applying(user="alice", key=None, tags=["batch"])] == ["batch"]
    with pytest.raises(errors.ValidationError):
        budgets.set("planet", "x", 1.0)  # type: ignore[arg-type]
    for bad in (-1.0, float("nan"), float("inf"), None):
        with pytest.raises(errors.ValidationError, match="max_budget"):
            budgets.set("user", "x", bad)  # type: ignore[arg-type]
    with pytest.raises(errors.ValidationError):
        run_sync(budgets.spent("user", "nobody"))


def test_a_failed_call_costs_nothing_and_mocks_are_priced(server: CompatServer) -> None:
    budgets = Budgets()
    mock_call = 0.15e-6 * 10 + 0.6e-6 * 7  # LiteLLM's mock usage: 10 prompt, <= max_tokens
    budgets.set("key", "team-a", mock_call * 1.5)
    litellm.budgets = budgets
    team = {"metadata": {"user_api_key": "team-a"}}
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(
            model="openai/gpt-4o-mini",
            messages=HI,
            api_base=server.error_base("429"),
            api_key="k",
            num_retries=0,
            max_tokens=7,
            **team,
        )
    assert run_sync(budgets.spent("key", "team-a")) == 0.0  # released
    # a mock is priced as the model it names, and paid for like a real call
    mocked = litellm.completion(
        model="openai/gpt-4o-mini", messages=HI, mock_response="x" * 28, max_tokens=7, **team
    )
    assert mocked._hidden_params["response_cost"] == pytest.approx(mock_call)
    assert run_sync(budgets.spent("key", "team-a")) == pytest.approx(mock_call)
    with pytest.raises(litellm.BudgetExceededError):
        litellm.completion(model="openai/gpt-4o-mini", messages=HI, mock_response="x", **team)
    assert pickle.loads(pickle.dumps(litellm.BudgetExceededError(1.0, 0.5))).max_budget == 0.5


def test_global_max_budget(server: CompatServer) -> None:
    litellm.max_budget = ONE_CALL * 2.5
    _server_call(server)
    _server_call(server)
    assert run_sync(process_spend.total()) == pytest.approx(ONE_CALL * 2)
    with pytest.raises(litellm.BudgetExceededError) as caught:
        _server_call(server)
    assert caught.value.max_budget == pytest.approx(ONE_CALL * 2.5)
    assert caught.value.status_code == 422  # LiteLLM's
    assert run_sync(process_spend.total()) == pytest.approx(ONE_CALL * 2)
    litellm.max_budget = float("nan")
    with pytest.raises(litellm.BadRequestError, match="max_budget"):
        _server_call(server)


def test_windows() -> None:
    assert parse_window("15m") == 900.0
    for bad in ("soon", 0, "-1d", float("inf")):
        with pytest.raises(errors.ValidationError):
            parse_window(bad)


# ------------------------------------------------------------------ helpers, exceptions


def test_catalog_helpers() -> None:
    assert litellm.cost_per_token("gpt-4o-mini", prompt_tokens=1_000_000)[0] == pytest.approx(0.15)
    assert litellm.completion_cost(model="gpt-4o-mini", prompt="hello", completion="world") > 0
    assert litellm.completion_cost(model="gpt-4o-mini", messages=HI, completion="x") > 0
    with pytest.raises(errors.ValidationError):
        litellm.completion_cost()
    # LiteLLM's map lists Ollama's models as free: 0.0, as LiteLLM answers
    assert litellm.completion_cost(model="ollama/llama3", prompt="x") == 0.0
    with pytest.raises(litellm.NotFoundError):  # a model the catalog has no prices for
        litellm.completion_cost(model="ollama/my-own-finetune:7b", prompt="x")
    with pytest.raises(litellm.BadRequestError, match="LLM Provider NOT provided"):
        litellm.cost_per_token("nope", prompt_tokens=1)  # as LiteLLM: it cannot place it
    with pytest.raises(litellm.ModelNotMappedError, match="isn't mapped"):
        litellm.get_model_info("nope")
    with pytest.raises(litellm.ModelNotMappedError):
        litellm.get_model_info("openai/not-a-real-model")
    assert litellm.get_model_info("gpt-4o-mini")["litellm_provider"] == "openai"
    assert litellm.get_model_info("text-embedding-3-small")["mode"] == "embedding"
    assert not litellm.supports_vision("nope")
    assert litellm.supports_response_schema("gpt-4o")
    assert litellm.token_counter(model="totally-unknown", text="hello world") > 0
    assert litellm.token_counter(text="hello world") > 0


def test_exceptions_are_conduit_errors_too() -> None:
    pairs = {
        litellm.AuthenticationError: errors.AuthenticationError,
        litellm.BadRequestError: errors.BadRequestError,
        litellm.NotFoundError: errors.NotFoundError,
        litellm.RateLimitError: errors.RateLimitError,
        litellm.ContextWindowExceededError: errors.ContextWindowExceededError,
        litellm.ContentPolicyViolationError: errors.ContentFilterError,
        litellm.APIConnectionError: errors.APIConnectionError,
        litellm.Timeout: errors.TimeoutError,
        litellm.ServiceUnavailableError: errors.ServerError,
        litellm.InternalServerError: errors.ServerError,
        litellm.PermissionDeniedError: errors.PermissionDeniedError,
    }
    for compat_cls, conduit_cls in pairs.items():
        exc = compat_cls("boom", llm_provider="openai", model="gpt")
        assert isinstance(exc, conduit_cls)
        assert exc.llm_provider == "openai"
        assert exc.model == "gpt"
        again = pickle.loads(pickle.dumps(exc))
        assert type(again) is compat_cls
        assert again.model == "gpt"
    assert issubclass(litellm.BudgetExceededError, errors.ConduitError)
    assert translate(ValueError("x")).__class__ is ValueError
    same = litellm.RateLimitError("x")
    assert translate(same) is same
    cases = {
        errors.TimeoutError("t"): "Timeout",
        errors.APIConnectionError("c"): "APIConnectionError",
        errors.ProviderError("p", status_code=409): "APIError",
        errors.BadRequestError("u", status_code=422): "UnprocessableEntityError",
        errors.ServerError("b", status_code=502): "BadGatewayError",
        errors.ServerError("s", status_code=500): "InternalServerError",
        errors.MissingDependencyError("m"): "MissingDependencyError",
        errors.ValidationError("v"): "BadRequestError",
        errors.ContentFilterError("f", status_code=400): "ContentPolicyViolationError",
        errors.PermissionDeniedError("d", status_code=403): "PermissionDeniedError",
    }
    for error, name in cases.items():
        assert type(translate(error)).__name__ == name
