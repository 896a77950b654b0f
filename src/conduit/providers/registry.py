"""The provider registry: provider name → how to build its chat model and embedder.

Providers are data (`ProviderSpec`); their classes are imported on first use, so
registering costs nothing at import. Plugins add providers through the
`conduit.providers` entry-point group (each entry point loads a `ProviderSpec` or a
list of them), and the built-ins go through the same `register_provider`.
"""

from __future__ import annotations

import difflib
import importlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from conduit.errors import NotFoundError, ValidationError

__all__ = ["ProviderSpec", "get_provider", "load_class", "provider_names", "register_provider"]

log = logging.getLogger("conduit.providers")

ENTRY_POINT_GROUP = "conduit.providers"


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """How to reach one vendor: classes (as `"module:Class"`), base URL, key variable.

    Example:
        >>> spec = ProviderSpec("acme", chat="conduit.providers.openai:OpenAIChatModel",
        ...                     base_url="https://api.acme.test/v1", key_env="ACME_API_KEY")
        >>> spec.key_env
        'ACME_API_KEY'
    """

    name: str
    chat: str | None = None
    embed: str | None = None
    base_url: str | None = None
    key_env: str | None = None
    key_required: bool = True
    base_url_env: str | None = None
    description: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)


_registry: dict[str, ProviderSpec] = {}
_plugins_loaded = False


def register_provider(spec: ProviderSpec, *, replace: bool = False) -> None:
    """Add a provider; an existing name is an error unless `replace=True`."""
    if not isinstance(spec, ProviderSpec):
        raise ValidationError(
            f"register_provider() takes a ProviderSpec, not {type(spec).__name__}"
        )
    if spec.name in _registry and not replace:
        raise ValidationError(f"provider {spec.name!r} is already registered; pass replace=True")
    _registry[spec.name] = spec


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = ep.load()
            specs = (
                loaded() if callable(loaded) and not isinstance(loaded, ProviderSpec) else loaded
            )
            for spec in specs if isinstance(specs, list | tuple) else [specs]:
                # A plugin never replaces a provider that is already registered: plugins load
                # lazily, so replacing would make `get_provider()` depend on call order.
                register_provider(spec)
        except Exception:
            log.exception("provider plugin %r failed to load; skipped", ep.name)


def provider_names() -> list[str]:
    """Names of all registered providers (built-ins and plugins), sorted."""
    _load_plugins()
    return sorted(_registry)


def get_provider(name: str) -> ProviderSpec:
    """The spec for `name`; `NotFoundError` lists close names when it is unknown."""
    spec = _registry.get(name)
    if spec is None:
        _load_plugins()
        spec = _registry.get(name)
    if spec is None:
        close = difflib.get_close_matches(name, list(_registry), n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise NotFoundError(
            f"unknown provider {name!r}.{hint} Known providers: {', '.join(sorted(_registry))}"
        )
    return spec


def load_class(path: str) -> Any:
    """Import `"module:Attr"`; a missing optional dependency says which extra to install."""
    module_name, colon, attr = path.partition(":")
    if not colon or not module_name or not attr:
        raise ValidationError(f"a class path looks like 'package.module:Name', not {path!r}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise NotFoundError(
            f"{path} needs the missing module {exc.name!r}; install the extra that provides it, "
            f'e.g. pip install "conduit[all]"'
        ) from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise NotFoundError(f"module {module_name!r} has no attribute {attr!r} ({path})") from None


register_provider(
    ProviderSpec(
        "openai",
        chat="conduit.providers.openai:OpenAIChatModel",
        embed="conduit.providers.openai:OpenAIEmbedder",
        base_url="https://api.openai.com/v1",
        key_env="OPENAI_API_KEY",
        base_url_env="OPENAI_BASE_URL",
        description="OpenAI's API; pass base_url= for any OpenAI-compatible server",
        options={"max_tokens_field": "max_completion_tokens"},
    )
)
register_provider(
    ProviderSpec(
        "openai-compatible",
        chat="conduit.providers.openai:OpenAIChatModel",
        embed="conduit.providers.openai:OpenAIEmbedder",
        key_env="OPENAI_COMPATIBLE_API_KEY",
        key_required=False,
        description="any OpenAI-compatible server (vLLM, llama.cpp, LM Studio); needs base_url=",
        options={"max_tokens_field": "max_tokens"},
    )
)
register_provider(
    ProviderSpec(
        "anthropic",
        chat="conduit.providers.anthropic:AnthropicChatModel",
        base_url="https://api.anthropic.com/v1",
        key_env="ANTHROPIC_API_KEY",
        base_url_env="ANTHROPIC_BASE_URL",
        description="Anthropic's Messages API (Claude)",
    )
)
register_provider(
    ProviderSpec(
        "gemini",
        chat="conduit.providers.gemini:GeminiChatModel",
        embed="conduit.providers.gemini:GeminiEmbedder",
        base_url="https://generativelanguage.googleapis.com/v1beta",
        key_env="GEMINI_API_KEY",
        base_url_env="GEMINI_BASE_URL",
        description="Google's Gemini API (generateContent, embedContent)",
    )
)
register_provider(
    ProviderSpec(
        "ollama",
        chat="conduit.providers.ollama:OllamaChatModel",
        embed="conduit.providers.ollama:OllamaEmbedder",
        base_url="http://127.0.0.1:11434",
        key_env="OLLAMA_API_KEY",
        key_required=False,
        base_url_env="OLLAMA_HOST",
        description="Ollama's native API (/api/chat, /api/embed)",
    )
)
register_provider(
    ProviderSpec(
        "local",
        chat="conduit.providers.local:LocalChatModel",
        embed="conduit.providers.local:LocalEmbedder",
        key_required=False,
        description="in-process models, offline: local/default (SmolLM2-135M-Instruct), "
        "local/path/to/model.gguf, local/all-minilm-l6-v2 (embeddings)",
    )
)
register_provider(
    ProviderSpec(
        "fake",
        chat="conduit.providers.fake:fake_chat_model",
        embed="conduit.providers.fake:HashEmbedder",
        key_required=False,
        description="offline fakes for tests and demos: fake/echo, fake/hash",
    )
)

import conduit.providers.compatible  # noqa: E402,F401  (presets register themselves)
