"""The gateway's configuration: a YAML file → `GatewayConfig` → a core
`conduit.routing.Router`.

The file follows LiteLLM's proxy config where the two overlap, so an existing
`config.yaml` mostly works:

```yaml
model_list:                     # model groups, each with one or more deployments
  - model_name: chat
    litellm_params: {model: openai/gpt-4o-mini, api_key: os.environ/OPENAI_API_KEY}
    model_info: {input_cost_per_token: 0.00000015, output_cost_per_token: 0.0000006}
router_settings: {routing_strategy: simple-shuffle, num_retries: 2}
server:
  database: /var/lib/conduit/gateway.sqlite3   # or postgresql://… (keys, spend, ledger)
  redis_url: redis://127.0.0.1:6379            # shared limits and cooldowns (optional)
  master_key: os.environ/CONDUIT_MASTER_KEY    # an admin key (optional)
  require_key: true
  max_request_bytes: 4194304
  header_timeout: 10          # seconds for a request's headers to arrive whole
  body_timeout: 30            # seconds for its body
  keepalive_timeout: 15       # seconds an idle connection stays open
  ui_session_seconds: 28800   # how long a login to the /ui dashboard lasts
  max_connections: 4096       # open at once (at most half the process's open files)
  max_parallel_requests: 100  # in flight per key on one gateway (a key may say fewer)
  fail_open: []               # limits not counted while their store is down: rpm, tpm, budget
  metrics_public: false       # GET /metrics needs the master key unless true
```

A string value `os.environ/NAME` is read from the environment when the file is loaded
(so keys stay out of the file). Without a file, `default_config()` serves the embedded
local model (`local`, `local-embed`): `conduit serve` works offline.

Translating LiteLLM's names into the core router's is this module's job (the gateway is
a face: it translates, the router routes):

- each `model_list` entry is a `Deployment` of the group `model_name`:
  `litellm_params.model` (with `custom_llm_provider` as its prefix when it has none),
  `api_key`, `api_base`/`base_url` → `base_url`, `timeout`, `max_retries`/`num_retries`
  (0 by default: the router retries, on another deployment when it can),
  `headers`/`extra_headers`, any other provider setting as it is; `rpm`, `tpm`,
  `weight`, `order`; `model_info.id` → `id`; `input_cost_per_token` /
  `output_cost_per_token` (and `cache_read_input_token_cost`,
  `cache_creation_input_token_cost`) from `litellm_params` or `model_info` → `prices`
  per million tokens (a side not given costs 0); `mock_response` → a `MockModel` that
  always answers it. In-process providers (`fake`, `local`) take no connection settings.
- `router_settings`: `routing_strategy` (LiteLLM's names and the core's: `STRATEGY_NAMES`),
  `num_retries` and `retry_after` → `retry`, `fallbacks`, `context_window_fallbacks`,
  `content_policy_fallbacks` (LiteLLM's `[{group: [groups]}]`), `default_fallbacks`,
  `allowed_fails`, `cooldown_time`, `disable_cooldowns`, `timeout` (each deployment's
  default). `redis_url` (or `redis_host`/`redis_port`/`redis_password`) moves to the
  server. LiteLLM's other router settings are accepted and do nothing.

Every number is checked (`conduit.core.checks`): a bool, NaN, infinity or a negative
value is a `ValidationError` naming the field (`model_list[0].litellm_params.rpm`).

Example:
    >>> config = parse_config({"model_list": [
    ...     {"model_name": "chat", "litellm_params": {"model": "fake/echo"}}]})
    >>> config.model_names(), config.require_key
    (['chat'], True)
    >>> router = config.build_router()
    >>> router.deployments("chat")[0].ref
    'fake/echo'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conduit.core.checks import check_count, check_rate, check_seconds
from conduit.errors import ConduitError, MissingDependencyError, ValidationError
from conduit.routing.litellm_config import (
    prices_of,
    redis_url_of,
    router_arguments,
)

if TYPE_CHECKING:
    from conduit.routing import Deployment, Router
    from conduit.storage.buckets import BucketStore
    from conduit.storage.router_state import RouterState

__all__ = [
    "DEFAULT_MODELS",
    "GatewayConfig",
    "default_config",
    "default_database",
    "deployment_of",
    "load_config",
    "parse_config",
    "resolve_env",
]

DEFAULT_MODELS: tuple[dict[str, Any], ...] = (
    {"model_name": "local", "litellm_params": {"model": "local/default"}},
    {"model_name": "local-embed", "litellm_params": {"model": "local/all-minilm-l6-v2"}},
)
_SERVER_KEYS = frozenset(
    {
        "database",
        "redis_url",
        "master_key",
        "require_key",
        "max_request_bytes",
        "key_cache_seconds",
        "ledger_flush_seconds",
        "shutdown_timeout",
        "host",
        "port",
        "header_timeout",
        "body_timeout",
        "keepalive_timeout",
        "ui_session_seconds",
        "max_connections",
        "max_parallel_requests",
        "fail_open",
        "metrics_public",
        "default_max_tokens",
    }
)
_FAIL_OPEN = ("rpm", "tpm", "budget")


# litellm_params the gateway translates itself; every other one is a connection
# setting of the deployment's model (organization, api_version, ...).
_TRANSLATED = frozenset(
    {
        "model",
        "custom_llm_provider",
        "api_key",
        "api_base",
        "base_url",
        "timeout",
        "max_retries",
        "num_retries",
        "headers",
        "extra_headers",
        "rpm",
        "tpm",
        "weight",
        "order",
        "mock_response",
        "input_cost_per_token",
        "output_cost_per_token",
        "cache_read_input_token_cost",
        "cache_creation_input_token_cost",
    }
)
# LiteLLM's bookkeeping in litellm_params: accepted, no effect here.
_IGNORED_PARAMS = frozenset(
    {"stream_timeout", "max_parallel_requests", "tags", "drop_params", "use_in_pass_through"}
)
_REDIS_SETTINGS = ("redis_url", "redis_host", "redis_port", "redis_password", "redis_db")


def resolve_env(value: Any) -> Any:
    """`os.environ/NAME` → the variable's value (an error when it is unset), recursively
    through dicts and lists; anything else as is.

    Example:
        >>> os.environ["DEMO_KEY"] = "sk-demo"
        >>> resolve_env({"api_key": "os.environ/DEMO_KEY", "n": 1})
        {'api_key': 'sk-demo', 'n': 1}
    """
    if isinstance(value, str) and value.startswith("os.environ/"):
        name = value.removeprefix("os.environ/")
        found = os.environ.get(name)
        if found is None:
            raise ValidationError(f"the gateway config reads ${name}, which is not set")
        return found
    if isinstance(value, Mapping):
        return {k: resolve_env(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_env(v) for v in value]
    return value


def default_database() -> str:
    """The keys' default home: `gateway.sqlite3` in Conduit's data folder.

    Example:
        >>> default_database().endswith("gateway.sqlite3")
        True
    """
    from conduit.storage.paths import data_dir

    return str(data_dir() / "gateway.sqlite3")


def _rate(params: Mapping[str, Any], name: str, where: str) -> float | None:
    value = params.get(name)
    return None if value is None else check_rate(value, f"{where}.{name}")


def deployment_of(
    entry: Mapping[str, Any], where: str = "model_list[0]", timeout: Any = None
) -> Deployment:
    """One `model_list` entry as a core `Deployment` (see the module's text for how
    each field maps); `timeout` is the default for deployments without their own.

    Example:
        >>> d = deployment_of({"model_name": "chat", "litellm_params": {
        ...     "model": "openai/gpt-4o-mini", "api_key": "sk-x", "api_base": "http://h/v1",
        ...     "rpm": 60, "input_cost_per_token": 0.000002}})
        >>> d.ref, d.rpm, sorted(d.connection), d.prices.input
        ('openai/gpt-4o-mini', 60.0, ['api_key', 'base_url', 'max_retries'], 2.0)
    """
    from conduit.api import resolve_ref
    from conduit.catalog import parse_model_ref
    from conduit.core.policy import Timeout
    from conduit.providers.registry import get_provider
    from conduit.routing import Deployment

    params: Mapping[str, Any] = entry["litellm_params"]
    info: Mapping[str, Any] = entry.get("model_info") or {}
    if not isinstance(info, Mapping):
        raise ValidationError(f"{where}.model_info must be a mapping, not {info!r}")
    model = params["model"]
    if not isinstance(model, str) or not model:
        raise ValidationError(f"{where}.litellm_params.model must be a model name, not {model!r}")
    prefix = params.get("custom_llm_provider")
    if prefix and "/" not in model:
        model = f"{prefix}/{model}"
    where_params = f"{where}.litellm_params"
    try:
        ref = resolve_ref(model)
    except ConduitError as exc:
        raise ValidationError(f"{where_params}.model: {exc.message}") from None
    spec = get_provider(parse_model_ref(ref).provider)
    connection: dict[str, Any] = {}
    if spec.key_env is not None or spec.base_url is not None:
        # Providers that reach a server take connection settings; in-process ones
        # (fake, local) take none.
        for name in ("api_key",):
            if params.get(name) is not None:
                connection[name] = str(params[name])
        base = params.get("api_base") or params.get("base_url")
        if base:
            connection["base_url"] = str(base)
        wait = params.get("timeout", timeout)
        if wait is not None:
            connection["timeout"] = Timeout.of(wait, name=f"{where_params}.timeout")
        retries = params.get("max_retries", params.get("num_retries", 0))
        connection["max_retries"] = check_count(retries, f"{where_params}.max_retries")
        headers = params.get("headers") or params.get("extra_headers")
        if headers:
            if not isinstance(headers, Mapping):
                raise ValidationError(f"{where_params}.headers must be a mapping of strings")
            connection["headers"] = {str(k): str(v) for k, v in headers.items()}
        for name, value in params.items():
            if name not in _TRANSLATED and name not in _IGNORED_PARAMS:
                connection[name] = value
    order = params.get("order")
    if order is not None and (isinstance(order, bool) or not isinstance(order, int)):
        raise ValidationError(f"{where_params}.order must be a whole number, not {order!r}")
    target: Any = ref
    mock = params.get("mock_response")
    if mock is not None:
        from conduit.providers.fake import MockModel

        target, connection = MockModel([str(mock)], repeat_last=True, name=ref), {}
    ident = info.get("id")
    return Deployment(
        target,
        id=None if ident is None else str(ident),
        connection=connection,
        rpm=_rate(params, "rpm", where_params),
        tpm=_rate(params, "tpm", where_params),
        weight=_rate(params, "weight", where_params),
        order=order,
        prices=prices_of(params, where_params) or prices_of(info, f"{where}.model_info"),
    )


@dataclass
class GatewayConfig:
    """Everything `conduit serve` needs (see the module docs for the file's shape).

    `database` holds the virtual keys and the spend of budgets (a SQLite file or a
    `postgresql://` URL). Usage goes to `ledger` when set, else to `database` when it
    was set (`database_set`, as `parse_config` does for a `server.database` in the
    file), else to the one ledger `conduit usage` reads (`open_ledger()`).

    Slow and many clients: `header_timeout`, `body_timeout` and `keepalive_timeout`
    (seconds), `max_connections` open at once, `max_parallel_requests` in flight per
    key (`conduit.server.connections`). Outages: `fail_open` names the limits (`rpm`,
    `tpm`, `budget`) not counted while their store is down; the others answer 503
    (`conduit.server.dependencies`). `metrics_public` lets `GET /metrics` answer
    without the master key. `ui_session_seconds`: how long a login to the dashboard
    (`/ui`, `conduit.server.ui`) lasts. `default_max_tokens` is the longest answer a request
    without `max_tokens` may get: sent upstream as its `max_tokens`, and the worst case
    its budget and tokens per minute reserve (None: the group's models' longest answer,
    else 4,096 tokens, and nothing is sent).

    Example:
        >>> GatewayConfig(model_list=[]).max_request_bytes
        4194304
    """

    model_list: list[dict[str, Any]]
    router_settings: dict[str, Any] = field(default_factory=dict)
    database: str = field(default_factory=default_database)
    redis_url: str | None = None
    master_key: str | None = None
    require_key: bool = True
    max_request_bytes: int = 4 * 1024 * 1024
    key_cache_seconds: float = 0.5
    ledger_flush_seconds: float = 0.0
    shutdown_timeout: float = 30.0
    host: str = "127.0.0.1"
    port: int = 4000
    ledger: str | None = None
    database_set: bool = False
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keepalive_timeout: float = 15.0
    ui_session_seconds: float = 8 * 3600.0
    max_connections: int = 4096
    max_parallel_requests: int = 100
    fail_open: tuple[str, ...] = ()
    metrics_public: bool = False
    default_max_tokens: int | None = None

    def __post_init__(self) -> None:
        check_count(self.max_request_bytes, "server.max_request_bytes")
        check_seconds(self.key_cache_seconds, "server.key_cache_seconds", allow_zero=True)
        check_seconds(self.ledger_flush_seconds, "server.ledger_flush_seconds", allow_zero=True)
        check_seconds(self.shutdown_timeout, "server.shutdown_timeout", allow_zero=True)
        for name in ("header_timeout", "body_timeout", "keepalive_timeout", "ui_session_seconds"):
            check_seconds(getattr(self, name), f"server.{name}")
        check_count(self.port, "server.port")
        for name in ("max_connections", "max_parallel_requests"):
            if check_count(getattr(self, name), f"server.{name}") < 1:
                raise ValidationError(f"server.{name} must be at least 1")
        ceiling = self.default_max_tokens
        if ceiling is not None and check_count(ceiling, "server.default_max_tokens") < 1:
            raise ValidationError("server.default_max_tokens must be at least 1")
        for name in ("require_key", "database_set", "metrics_public"):
            if not isinstance(getattr(self, name), bool):
                raise ValidationError(f"server.{name} must be true or false")
        fail_open = self.fail_open
        if isinstance(fail_open, str) or not all(n in _FAIL_OPEN for n in fail_open):
            raise ValidationError(
                f"server.fail_open must list limits among {', '.join(_FAIL_OPEN)}, "
                f"not {fail_open!r}"
            )
        self.fail_open = tuple(fail_open)
        if not isinstance(self.database, str) or not self.database:
            raise ValidationError(f"server.database must be a path or URL, not {self.database!r}")

    def model_names(self) -> list[str]:
        """The model groups, in file order."""
        return list(dict.fromkeys(str(m["model_name"]) for m in self.model_list))

    def ledger_url(self) -> str | None:
        """Where usage is recorded: `ledger`, else `database` when it was set, else None
        (the one ledger, `conduit.storage.ledger.open_ledger()`).

        Example:
            >>> GatewayConfig(model_list=[]).ledger_url() is None
            True
        """
        if self.ledger is not None:
            return self.ledger
        if self.database_set or self.database != default_database():
            return self.database
        return None

    def deployments(self) -> list[tuple[str, Deployment]]:
        """Every `model_list` entry as `(group, Deployment)`, in file order."""
        timeout = self.router_settings.get("timeout")
        return [
            (str(entry["model_name"]), deployment_of(entry, f"model_list[{i}]", timeout))
            for i, entry in enumerate(self.model_list)
        ]

    def build_router(
        self, state: RouterState | None = None, buckets: BucketStore | None = None
    ) -> Router:
        """A core `Router` over the model list (`state` and `buckets`: shared router
        state and rpm/tpm buckets, e.g. Redis; in this process by default)."""
        from conduit.routing import Router

        router = Router(
            None,
            state=state,
            buckets=buckets,
            **router_arguments(self.router_settings, self.model_names()),
        )
        for group, deployment in self.deployments():
            router.add_deployment(group, deployment)
        for name in ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks"):
            for group, targets in getattr(router, name).items():
                unknown = [t for t in [group, *targets] if t not in router.groups]
                if unknown:
                    raise ValidationError(
                        f"router_settings.{name} names {unknown[0]!r}, which is not a "
                        f"model_name in the model_list"
                    )
        return router

    def __repr__(self) -> str:  # the master key never shows
        return (
            f"GatewayConfig(models={self.model_names()!r}, database={self.database!r}, "
            f"redis={'yes' if self.redis_url else 'no'})"
        )


def parse_config(data: Mapping[str, Any]) -> GatewayConfig:
    """A `GatewayConfig` from a parsed YAML document (environment references resolved)."""
    if not isinstance(data, Mapping):
        raise ValidationError("the gateway config must be a mapping with a model_list")
    models = data.get("model_list")
    if not isinstance(models, list) or not models:
        raise ValidationError("the gateway config needs a non-empty model_list")
    for i, entry in enumerate(models):
        if not isinstance(entry, Mapping) or "model_name" not in entry:
            raise ValidationError(f"each model_list entry needs a model_name: {entry!r}")
        params = entry.get("litellm_params")
        if not isinstance(params, Mapping) or "model" not in params:
            raise ValidationError(
                f"model_list entry {entry['model_name']!r} needs litellm_params: {{model: ...}}"
            )
        if not isinstance(entry["model_name"], str) or not entry["model_name"]:
            raise ValidationError(f"model_list[{i}].model_name must be a non-empty string")
    server = dict(data.get("server") or data.get("general_settings") or {})
    unknown = sorted(set(server) - _SERVER_KEYS)
    if unknown:
        raise ValidationError(
            f"unknown server setting {unknown[0]!r}; known: {', '.join(sorted(_SERVER_KEYS))}"
        )
    server = resolve_env(server)
    router_settings = resolve_env(dict(data.get("router_settings") or {}))
    if not isinstance(router_settings, dict):
        raise ValidationError("router_settings must be a mapping")
    redis = redis_url_of(router_settings)
    if redis and "redis_url" not in server:
        server["redis_url"] = redis
    for name in _REDIS_SETTINGS:
        router_settings.pop(name, None)
    config = GatewayConfig(
        model_list=[resolve_env(dict(m)) for m in models],
        router_settings=router_settings,
        database_set="database" in server,
        **server,
    )
    config.build_router()  # every deployment and setting checked now, not on a request
    return config


def default_config() -> GatewayConfig:
    """The embedded local models (`local` chat, `local-embed` embeddings), offline."""
    return GatewayConfig(model_list=[dict(m) for m in DEFAULT_MODELS])


def load_config(path: str | os.PathLike[str] | None) -> GatewayConfig:
    """The config in the YAML file at `path` (None: `default_config()`)."""
    if path is None:
        return default_config()
    try:
        import yaml  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        raise MissingDependencyError(
            'reading a gateway config needs PyYAML: pip install "conduit[server]"'
        ) from None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot read the gateway config {str(path)!r}: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError(f"{str(path)!r} is not valid YAML: {exc}") from None
    return parse_config(data or {})
