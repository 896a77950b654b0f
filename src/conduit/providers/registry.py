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

from conduit.catalog.registry import add_catalog_source, parse_entries, reload_catalog
from conduit.errors import NotFoundError, ValidationError

__all__ = [
    "PluginStatus",
    "ProviderSpec",
    "declared_catalogs",
    "get_provider",
    "load_class",
    "plugin_status",
    "provider_names",
    "register_provider",
]

log = logging.getLogger("conduit.providers")

ENTRY_POINT_GROUP = "conduit.providers"


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """How to reach one vendor: classes (as `"module:Class"`), base URL, key variable.

    `chat`, `embed`, `image` (image generation) and `speech` (text to speech) name the
    classes serving each kind of model; None: the vendor has none of that kind.

    Example:
        >>> spec = ProviderSpec("acme", chat="conduit.providers.openai:OpenAIChatModel",
        ...                     base_url="https://api.acme.test/v1", key_env="ACME_API_KEY")
        >>> spec.key_env
        'ACME_API_KEY'
    """

    name: str
    chat: str | None = None
    embed: str | None = None
    image: str | None = None
    speech: str | None = None
    base_url: str | None = None
    key_env: str | None = None
    key_required: bool = True
    base_url_env: str | None = None
    description: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    models: tuple[Mapping[str, Any], ...] = ()
    """Catalog entries a plugin declares (`name`, `context_window`, prices, ...)."""


@dataclass(frozen=True, slots=True)
class PluginStatus:
    """One `conduit.providers` entry point: where it comes from, the providers it added,
    or the error that kept it out."""

    name: str
    value: str
    distribution: str | None
    providers: tuple[str, ...] = ()
    error: str | None = None


_registry: dict[str, ProviderSpec] = {}
_plugins_loaded = False
_plugin_status: list[PluginStatus] = []


def register_provider(spec: ProviderSpec, *, replace: bool = False) -> None:
    """Add a provider; an existing name is an error unless `replace=True`. The spec's
    `models` join the catalog (context windows, prices for `cost_of`)."""
    if not isinstance(spec, ProviderSpec):
        raise ValidationError(
            f"register_provider() takes a ProviderSpec, not {type(spec).__name__}"
        )
    if spec.name in _registry and not replace:
        raise ValidationError(f"provider {spec.name!r} is already registered; pass replace=True")
    _registry[spec.name] = spec
    if spec.models:
        reload_catalog()  # read again, with this provider's catalog entries


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        where = getattr(dist, "name", None)
        added: list[str] = []
        try:
            loaded = ep.load()
            specs = (
                loaded() if callable(loaded) and not isinstance(loaded, ProviderSpec) else loaded
            )
            found = list(specs) if isinstance(specs, list | tuple) else [specs]
            for spec in found:
                if spec.models:  # a bad catalog entry fails this plugin, not the catalog
                    parse_entries(*_catalog_of(spec))
            for spec in found:
                # A plugin never replaces a provider that is already registered: plugins load
                # lazily, so replacing would make `get_provider()` depend on call order.
                register_provider(spec)
                added.append(spec.name)
        except Exception as exc:  # a broken plugin must not break the others
            log.exception("provider plugin %r failed to load; skipped", ep.name)
            error: str | None = f"{type(exc).__name__}: {exc}"
        else:
            error = None
        value = str(getattr(ep, "value", ""))
        _plugin_status.append(PluginStatus(ep.name, value, where, tuple(added), error))


_PLUGIN_CAPABILITIES = ("streaming", "tools", "json_mode", "json_schema")


def _catalog_of(spec: ProviderSpec) -> tuple[dict[str, Any], str]:
    models = [
        {"provider": spec.name, "kind": "chat", "capabilities": list(_PLUGIN_CAPABILITIES), **m}
        for m in spec.models
    ]
    return {"models": models}, f"the catalog entries of provider {spec.name!r}"


def declared_catalogs() -> list[tuple[dict[str, Any], str]]:
    """The catalog entries registered providers declare (`ProviderSpec.models`), as
    catalog data: each entry gets the provider's name, `kind = "chat"` and permissive
    capabilities unless it says otherwise.

    Example:
        >>> declared_catalogs() == [] or all(where for _, where in declared_catalogs())
        True
    """
    return [_catalog_of(spec) for spec in _registry.values() if spec.models]


def plugin_status(*, reload: bool = False) -> list[PluginStatus]:
    """What each installed `conduit.providers` entry point added, or why it failed.

    Example:
        >>> all(isinstance(p, PluginStatus) for p in plugin_status())
        True
    """
    global _plugins_loaded
    if reload:
        for status in _plugin_status:
            for name in status.providers:
                _registry.pop(name, None)
        _plugin_status.clear()
        _plugins_loaded = False
        reload_catalog()
    _load_plugins()
    return list(_plugin_status)


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
        image="conduit.providers.openai.images:OpenAIImageModel",
        speech="conduit.providers.openai.speech:OpenAISpeechModel",
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
        image="conduit.providers.openai.images:OpenAIImageModel",
        speech="conduit.providers.openai.speech:OpenAISpeechModel",
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
        image="conduit.providers.gemini.images:GeminiImageModel",
        speech="conduit.providers.gemini.speech:GeminiSpeechModel",
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
        image="conduit.media.fake:FakeImageModel",
        speech="conduit.media.fake:FakeSpeechModel",
        key_required=False,
        description="offline fakes for tests and demos: fake/echo, fake/hash",
    )
)

add_catalog_source(declared_catalogs)  # plugins' entries join the catalog

import conduit.providers.compatible  # noqa: E402  (presets register themselves)
import conduit.providers.platforms  # noqa: E402,F401  (cloud platforms, likewise)
