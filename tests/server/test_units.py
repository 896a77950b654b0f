"""Config parsing, error mapping, the key guard's cache and the usage recorder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import conduit.server
from conduit import errors
from conduit.errors import (
    BudgetExceededError,
    ConduitError,
    MissingDependencyError,
    ValidationError,
)
from conduit.server.config import default_config, load_config, parse_config, resolve_env
from conduit.server.errors import GatewayError, error_for
from conduit.server.keys import OPEN_KEY, KeyGuard
from conduit.server.usage import UsageRecorder
from conduit.storage.events import TokenEvent
from conduit.storage.events_sqlite import SQLiteEventStore
from conduit.storage.keys import new_key
from conduit.storage.keys_sqlite import SQLiteKeyStore

CHAT = {"model_name": "chat", "litellm_params": {"model": "fake/echo"}}


def test_config_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GW_MASTER", "sk-master")
    monkeypatch.setenv("UP_KEY", "sk-up")
    path = tmp_path / "gateway.yaml"
    path.write_text(
        "model_list:\n"
        "  - model_name: chat\n"
        "    litellm_params: {model: openai/gpt-4o-mini, api_key: os.environ/UP_KEY}\n"
        "router_settings: {routing_strategy: round-robin, redis_url: redis://127.0.0.1:1}\n"
        "server: {master_key: os.environ/GW_MASTER, port: 8080, database: ':memory:'}\n"
    )
    config = load_config(path)
    assert config.model_list[0]["litellm_params"]["api_key"] == "sk-up"
    assert (config.master_key, config.port, config.redis_url) == (
        "sk-master",
        8080,
        "redis://127.0.0.1:1",
    )
    assert "sk-master" not in repr(config)
    assert "sk-up" not in repr(config)
    router = config.build_router()
    assert router.strategy == "round-robin"
    (deployment,) = router.deployments("chat")
    assert deployment.connection["api_key"] == "sk-up"
    assert resolve_env(["os.environ/UP_KEY", 3]) == ["sk-up", 3]
    assert default_config().model_names() == ["local", "local-embed"]
    assert load_config(None).model_names() == ["local", "local-embed"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be a mapping"),
        ({}, "non-empty model_list"),
        ({"model_list": [{"litellm_params": {}}]}, "needs a model_name"),
        ({"model_list": [{"model_name": "x"}]}, "needs litellm_params"),
        ({"model_list": [CHAT], "server": {"colour": 1}}, "unknown server setting 'colour'"),
        ({"model_list": [CHAT], "server": {"master_key": "os.environ/NOPE_X"}}, "NOPE_X"),
    ],
)
def test_bad_configs(data: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_config(data)


def test_bad_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "g.yaml"
    path.write_text("model_list: [\n")
    with pytest.raises(ValidationError, match="not valid YAML"):
        load_config(path)
    path.write_text("")
    with pytest.raises(ValidationError, match="model_list"):
        load_config(path)
    import builtins

    real = builtins.__import__

    def no_yaml(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "yaml":
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_yaml)
    with pytest.raises(MissingDependencyError, match=r"conduit\[server\]"):
        load_config(path)


@pytest.mark.parametrize(
    ("exc", "status", "kind"),
    [
        (GatewayError("x", status=403, type="permission_error"), 403, "permission_error"),
        (BudgetExceededError("spent", scope="key", name="k"), 429, "insufficient_quota"),
        (errors.ContextWindowExceededError("long", status_code=400), 400, "invalid_request_error"),
        (errors.ContentFilterError("no", status_code=400), 400, "invalid_request_error"),
        (ValidationError("bad"), 400, "invalid_request_error"),
        (errors.RateLimitError("slow", status_code=429), 429, "rate_limit_error"),
        (errors.TimeoutError("late"), 504, "timeout"),
        (errors.APIConnectionError("down"), 502, "api_error"),
        (errors.AuthenticationError("key", status_code=401), 502, "api_error"),
        (errors.PermissionDeniedError("no", status_code=403), 502, "api_error"),
        (errors.NotFoundError("gone", status_code=404), 404, "invalid_request_error"),
        (errors.ProviderError("teapot", status_code=418), 502, "api_error"),
        (errors.ServerError("boom", status_code=500), 502, "api_error"),
        (ConduitError("odd"), 500, "server_error"),
        (RuntimeError("secret detail"), 500, "server_error"),
    ],
)
def test_error_mapping(exc: BaseException, status: int, kind: str) -> None:
    got, body = error_for(exc)
    assert (got, body["error"]["type"]) == (status, kind)
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert "secret detail" not in body["error"]["message"]


async def test_key_guard_cache_and_open_mode(tmp_path: Path) -> None:
    store = SQLiteKeyStore(tmp_path / "k.sqlite3")
    key, secret = new_key(models=["chat"])
    await store.add(key, secret)
    now = [1000.0]
    guard = KeyGuard(store, cache_seconds=5, clock=lambda: now[0])
    assert (await guard.authenticate(f"Bearer {secret}")).id == key.id
    await store.revoke(key.id)
    # Cached for a few seconds, then the revocation shows; forget() drops it at once.
    assert (await guard.authenticate(f"Bearer {secret}")).id == key.id
    guard.forget(key.id)
    with pytest.raises(GatewayError, match="revoked"):
        await guard.authenticate(f"Bearer {secret}")
    with pytest.raises(GatewayError, match="may not call") as caught:
        guard.check_model(key, "embed")
    assert caught.value.status == 403
    open_guard = KeyGuard(store, require_key=False)
    assert await open_guard.authenticate(None) is OPEN_KEY
    assert await open_guard.authenticate("Bearer sk-cnd-unknown") is OPEN_KEY
    with pytest.raises(GatewayError, match="Bearer"):
        await guard.authenticate("Bearer ")
    assert await guard.admit(OPEN_KEY) is None  # no limits: nothing to count
    await store.aclose()


class FlakyStore(SQLiteEventStore):
    fail = 1

    async def record_many(self, events: Any) -> None:
        if self.fail:
            self.fail -= 1
            raise OSError("disk full")
        await super().record_many(events)


async def test_recorder_keeps_events_when_a_write_fails() -> None:
    store = FlakyStore(":memory:")
    recorder = UsageRecorder(store, flush_seconds=0.01, max_batch=2)
    for n in range(3):
        await recorder.record(TokenEvent(provider="p", model="m", input_tokens=n))
    with pytest.raises(OSError, match="disk full"):
        await recorder.flush()
    assert recorder.pending == 3
    await recorder.aclose()
    assert await store.count() == 3
    await recorder.record(TokenEvent(provider="p", model="m"))  # after close: written now
    assert await store.count() == 4
    await store.aclose()


def test_lazy_package() -> None:
    assert conduit.server.Gateway.__name__ == "Gateway"
    assert "from_server" in dir(conduit.server)
    with pytest.raises(AttributeError):
        _ = conduit.server.nothing  # type: ignore[attr-defined]


# -- the config as core routing ---------------------------------------------------------


def _router(*entries: dict[str, Any], **settings: Any) -> Any:
    return parse_config(
        {
            "model_list": list(entries),
            "router_settings": settings,
            "server": {"database": ":memory:"},
        }
    ).build_router()


def test_litellm_params_become_core_deployments() -> None:
    router = _router(
        {
            "model_name": "chat",
            "litellm_params": {
                "model": "gpt-4o-mini",
                "custom_llm_provider": "openai",
                "api_key": "sk-x",
                "api_base": "http://127.0.0.1:9/v1",
                "timeout": 12,
                "headers": {"X-Team": "a"},
                "organization": "org-1",  # a provider setting, passed on as it is
                "rpm": 60,
                "tpm": 1000,
                "weight": 2,
                "order": 1,
                "stream_timeout": 5,  # LiteLLM's own: no effect here
            },
            "model_info": {"id": "east", "input_cost_per_token": 0.000002},
        },
        {
            "model_name": "chat",
            "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "sk-y", "num_retries": 3},
            "model_info": {"input_cost_per_token": 0.000001, "output_cost_per_token": 0.000004},
        },
        {"model_name": "echo", "litellm_params": {"model": "fake/echo", "api_key": "ignored"}},
        {"model_name": "canned", "litellm_params": {"model": "openai/x", "mock_response": "Hi!"}},
    )
    east, west = router.deployments("chat")
    assert (east.id, east.ref, east.rpm, east.tpm, east.weight, east.order) == (
        "east",
        "openai/gpt-4o-mini",
        60.0,
        1000.0,
        2.0,
        1,
    )
    assert east.connection["base_url"] == "http://127.0.0.1:9/v1"
    assert east.connection["timeout"].total == 12.0
    assert east.connection["max_retries"] == 0  # the router retries, not the model
    assert east.connection["headers"] == {"X-Team": "a"}
    assert east.connection["organization"] == "org-1"
    assert "stream_timeout" not in east.connection
    # Per token in the file, per million in Conduit; a side not given costs 0.
    assert (east.prices.input, east.prices.output) == (2.0, 0.0)  # type: ignore[union-attr]
    assert (west.prices.input, west.prices.output) == (1.0, 4.0)  # type: ignore[union-attr]
    assert west.connection["max_retries"] == 3
    (echo,) = router.deployments("echo")
    assert echo.connection == {}  # in-process providers take no connection settings
    (canned,) = router.deployments("canned")
    assert canned.chat_model.chat_sync("anything").text == "Hi!"


def test_router_settings_become_core_router_arguments() -> None:
    chat = {"model_name": "chat", "litellm_params": {"model": "fake/echo"}}
    other = {"model_name": "other", "litellm_params": {"model": "fake/echo"}}
    router = _router(
        chat,
        other,
        routing_strategy="usage-based-routing-v2",
        num_retries=4,
        retry_after=0.5,
        fallbacks=[{"chat": "other"}],
        context_window_fallbacks=[{"chat": ["other"]}],
        allowed_fails=1,
        cooldown_time=9,
        enable_pre_call_checks=True,  # LiteLLM's: accepted, no effect
    )
    assert router.strategy == "usage-based"
    assert (router.retry.max_retries, router.retry.initial_delay) == (4, 0.5)
    assert router.fallbacks == {"chat": ["other"]}
    assert router.context_window_fallbacks == {"chat": ["other"]}
    assert (router.allowed_fails, router.cooldown_seconds) == (1, 9.0)
    defaults = _router(chat, other, default_fallbacks=["other"], disable_cooldowns=True)
    assert defaults.fallbacks == {"chat": ["other"], "other": []}
    assert defaults.cooldown_seconds == 0.0
    for name in ("latency-based-routing", "least-busy", "cost-based-routing", "round-robin"):
        assert _router(chat, routing_strategy=name).strategy in {
            "lowest-latency",
            "least-busy",
            "cost-based",
            "round-robin",
        }


BAD_NUMBERS = [float("nan"), float("inf"), -1, True, "ten"]


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
@pytest.mark.parametrize(
    ("where", "name"),
    [
        ("litellm_params", "rpm"),
        ("litellm_params", "tpm"),
        ("litellm_params", "weight"),
        ("litellm_params", "timeout"),
        ("litellm_params", "max_retries"),
        ("litellm_params", "input_cost_per_token"),
        ("model_info", "output_cost_per_token"),
        ("router_settings", "num_retries"),
        ("router_settings", "cooldown_time"),
        ("router_settings", "allowed_fails"),
        ("router_settings", "retry_after"),
        ("server", "key_cache_seconds"),
        ("server", "max_request_bytes"),
    ],
)
def test_bad_numbers_are_refused_naming_the_field(where: str, name: str, value: Any) -> None:
    entry: dict[str, Any] = {
        "model_name": "chat",
        "litellm_params": {"model": "openai/gpt-4o-mini"},
    }
    data: dict[str, Any] = {"model_list": [entry], "server": {"database": ":memory:"}}
    if where in ("litellm_params", "model_info"):
        entry.setdefault(where, {})[name] = value
    else:
        data.setdefault(where, {})[name] = value
    with pytest.raises(ValidationError, match=name):
        parse_config(data)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"routing_strategy": "fastest"}, "routing_strategy must be one of"),
        ({"fallbacks": [{"chat": ["nowhere"]}]}, "'nowhere', which is not a model_name"),
        ({"fallbacks": "chat"}, "fallbacks looks like"),
        ({"disable_cooldowns": "yes"}, "disable_cooldowns"),
    ],
)
def test_bad_router_settings(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _router(CHAT, **settings)


def test_unknown_models_are_refused_when_the_config_loads() -> None:
    with pytest.raises(ValidationError, match=r"model_list\[0\].litellm_params.model"):
        _router({"model_name": "x", "litellm_params": {"model": "nosuchprovider/thing"}})


def test_where_usage_is_recorded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CONDUIT_DATA_DIR", str(tmp_path))
    # No database in the file: keys in the data folder, usage in the one ledger.
    plain = parse_config({"model_list": [CHAT]})
    assert plain.database == str(tmp_path / "gateway.sqlite3")
    assert plain.ledger_url() is None
    # A database in the file: keys, spend and usage live there (replicas share it).
    shared = parse_config({"model_list": [CHAT], "server": {"database": "postgresql://db/g"}})
    assert shared.ledger_url() == "postgresql://db/g"
    assert default_config().ledger_url() is None
