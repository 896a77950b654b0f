"""The gateway's configuration: a YAML file → `GatewayConfig` → a compat `Router`.

The file follows LiteLLM's proxy config where the two overlap, so an existing
`config.yaml` mostly works:

```yaml
model_list:                     # model groups, each with one or more deployments
  - model_name: chat
    litellm_params: {model: openai/gpt-4o-mini, api_key: os.environ/OPENAI_API_KEY}
    model_info: {input_cost_per_token: 0.00000015, output_cost_per_token: 0.0000006}
router_settings: {routing_strategy: simple-shuffle, num_retries: 2}
server:
  database: /var/lib/conduit/gateway.sqlite3   # or postgresql://… (keys and usage)
  redis_url: redis://127.0.0.1:6379            # shared limits and cooldowns (optional)
  master_key: os.environ/CONDUIT_MASTER_KEY    # an admin key (optional)
  require_key: true
  max_request_bytes: 4194304
```

A string value `os.environ/NAME` is read from the environment when the file is loaded
(so keys stay out of the file). Without a file, `default_config()` serves the embedded
local model (`local`, `local-embed`): `conduit serve` works offline.

Example:
    >>> config = parse_config({"model_list": [
    ...     {"model_name": "chat", "litellm_params": {"model": "fake/echo"}}]})
    >>> config.model_names(), config.require_key
    (['chat'], True)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conduit.errors import MissingDependencyError, ValidationError

if TYPE_CHECKING:
    from conduit.compat.router import Router

__all__ = [
    "DEFAULT_MODELS",
    "GatewayConfig",
    "default_config",
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
    }
)


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


def _default_database() -> str:
    from conduit.storage.paths import data_dir

    return str(data_dir() / "gateway.sqlite3")


@dataclass
class GatewayConfig:
    """Everything `conduit serve` needs (see the module docs for the file's shape).

    Example:
        >>> GatewayConfig(model_list=[]).max_request_bytes
        4194304
    """

    model_list: list[dict[str, Any]]
    router_settings: dict[str, Any] = field(default_factory=dict)
    database: str = field(default_factory=_default_database)
    redis_url: str | None = None
    master_key: str | None = None
    require_key: bool = True
    max_request_bytes: int = 4 * 1024 * 1024
    key_cache_seconds: float = 5.0
    ledger_flush_seconds: float = 0.05
    shutdown_timeout: float = 30.0
    host: str = "127.0.0.1"
    port: int = 4000

    def model_names(self) -> list[str]:
        """The model groups, in file order."""
        return list(dict.fromkeys(str(m["model_name"]) for m in self.model_list))

    def build_router(self, state: Any = None) -> Router:
        """A `Router` over the model list (`state`: shared router state, e.g. Redis)."""
        from conduit.compat.router import Router

        settings = dict(self.router_settings)
        settings.pop("redis_url", None)
        return Router(self.model_list, state=state, **settings)

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
    for entry in models:
        if not isinstance(entry, Mapping) or "model_name" not in entry:
            raise ValidationError(f"each model_list entry needs a model_name: {entry!r}")
        params = entry.get("litellm_params")
        if not isinstance(params, Mapping) or "model" not in params:
            raise ValidationError(
                f"model_list entry {entry['model_name']!r} needs litellm_params: {{model: ...}}"
            )
    server = dict(data.get("server") or data.get("general_settings") or {})
    unknown = sorted(set(server) - _SERVER_KEYS)
    if unknown:
        raise ValidationError(
            f"unknown server setting {unknown[0]!r}; known: {', '.join(sorted(_SERVER_KEYS))}"
        )
    server = resolve_env(server)
    router_settings = dict(data.get("router_settings") or {})
    if "redis_url" in router_settings and "redis_url" not in server:
        server["redis_url"] = router_settings["redis_url"]
    return GatewayConfig(
        model_list=[resolve_env(dict(m)) for m in models],
        router_settings=resolve_env(router_settings),
        **server,
    )


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
