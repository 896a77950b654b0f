"""Config parsing, error mapping, the key guard's cache and the usage recorder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import conduit.server
from conduit import errors
from conduit.compat.exceptions import BudgetExceededError
from conduit.errors import ConduitError, MissingDependencyError, ValidationError
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
    assert router.routing_strategy == "round-robin"
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
        (BudgetExceededError(2.0, 1.0), 429, "insufficient_quota"),
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
    await guard.admit(OPEN_KEY)  # no limits: nothing to count
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


async def test_budgets_count_events_not_written_yet() -> None:
    from conduit.server.usage import PendingAwareLedger

    store = SQLiteEventStore(":memory:")
    recorder = UsageRecorder(store, flush_seconds=60)  # nothing is written by itself
    ledger = PendingAwareLedger(recorder)
    event = TokenEvent(provider="p", model="m", key_id="k", user="u", tags=("t",), cost=0.5)
    await recorder.record(event)
    await recorder.record(TokenEvent(provider="p", model="m", key_id="other"))  # no cost
    assert recorder.pending == 2
    for scope, name in (("key", "k"), ("user", "u"), ("tag", "t"), ("global", "*")):
        assert await ledger.spent(scope, name, 0.0) == 0.5  # type: ignore[arg-type]
    assert await ledger.spent("key", "nobody", 0.0) == 0.0
    assert await ledger.spent("key", "k", event.epoch + 1) == 0.0  # before the window
    await recorder.flush()
    assert await ledger.spent("key", "k", 0.0) == 0.5  # written now: counted once
    from conduit.compat.budgeting import SpendRecord

    await ledger.record(SpendRecord(at=event.epoch, cost_usd=0.25, key="k"))
    assert await ledger.spent("key", "k", 0.0) == 0.75
    await recorder.aclose()
    await store.aclose()
