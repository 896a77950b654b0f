"""The one place a string becomes a model: `model()`, `embedder()`, and the model cache.

A reference is `"provider/name"` (`"openai/gpt-4o-mini"`, `"local/path/to/file.gguf"`),
or a bare catalog name or alias (`"gpt-4o-mini"`, `"claude-sonnet-4-5"`), which resolves
to the one provider whose catalog lists it. A cloud platform that resells a vendor's
model (Bedrock, Vertex, Azure) yields to the vendor; a name two vendors list is an error
naming both, and an unknown one an error with close matches. The provider is never
guessed from how a name is spelled.

Every face resolves through here: the core functions, the framework's `Model`, the
LiteLLM face, the router, agents, batch runs, RAG and the gateway. Connection settings
(`api_key=`, `base_url=`, `timeout=`, `max_retries=`, `headers=`, `transport=`, ...) are
checked here, before anything is sent: `timeout` is a `Timeout` or seconds, `max_retries`
a `RetryPolicy` or a count.

`model()` builds a new model each time (it is yours to close). Functions that take a
model *string* (`conduit.chat("openai/gpt-4o", ...)`, `completion(model=...)`) go
through `cached_model()`, which reuses one model per reference and connection settings,
so its connection pool is reused too.

Example:
    >>> resolve_ref("gpt-4o-mini"), resolve_ref("claude-sonnet-4-5")
    ('openai/gpt-4o-mini', 'anthropic/claude-sonnet-4-5')
    >>> model("fake/echo").model_info.ref
    'fake/echo'
"""

from __future__ import annotations

import difflib
import inspect
import os
from collections import OrderedDict
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from conduit.catalog import catalog_providers, models, parse_model_ref
from conduit.core.policy import RetryPolicy, Timeout
from conduit.core.protocols import BaseChatModel, ChatModel, Embedder, ModelInfo, as_base_model
from conduit.errors import NotFoundError, ValidationError
from conduit.providers.registry import get_provider, load_class, provider_names

if TYPE_CHECKING:
    from conduit.catalog import CatalogEntry

__all__ = [
    "Kind",
    "build_model",
    "cached_embedder",
    "cached_model",
    "embedder",
    "model",
    "model_info",
    "resolve_ref",
    "validate_model",
]

Kind = Literal["chat", "embed", "image", "speech"]
"""What a model does: chat, embeddings, image generation or text to speech."""

_CATALOG_KIND = {"chat": "chat", "embed": "embedding"}
_KIND_WORDS = {
    "chat": "chat",
    "embed": "embedding",
    "image": "image generation",
    "speech": "text-to-speech",
}
_M = TypeVar("_M", bound=ChatModel)
_CACHE_SIZE = 64
_cache: OrderedDict[tuple[Hashable, ...], Any] = OrderedDict()


def resolve_ref(ref: str, kind: Kind = "chat") -> str:
    """The `"provider/name"` a reference names: as given when it has a known provider
    prefix; for a bare name, the provider whose catalog lists it (name or alias).

    Example:
        >>> resolve_ref("openai/my-finetune")
        'openai/my-finetune'
        >>> resolve_ref("gemini-2.5-flash")          # Vertex resells it; Gemini wins
        'gemini/gemini-2.5-flash'
        >>> resolve_ref("gpt-4o-mni")
        Traceback (most recent call last):
        ...
        conduit.errors.NotFoundError: unknown model 'gpt-4o-mni'. Did you mean ...
    """
    if not isinstance(ref, str) or not ref.strip():
        raise ValidationError(
            f"a model is a string like 'openai/gpt-4o-mini' or a model object, not {ref!r}"
        )
    text = ref.strip()
    if "/" in text:
        parsed = parse_model_ref(text)
        get_provider(parsed.provider)  # an unknown provider fails here, with close names
        return str(parsed)
    return _bare(text, kind)


def _bare(name: str, kind: Kind) -> str:
    catalog_kind = _CATALOG_KIND.get(kind, "chat")
    entries = [e for e in models(kind=catalog_kind) if name in (e.name, *e.aliases)]
    if not entries:
        lowered = name.lower()
        entries = [
            e
            for e in models(kind=catalog_kind)
            if lowered in (e.name.lower(), *(a.lower() for a in e.aliases))
        ]
    providers = sorted({e.provider for e in entries})
    if len(providers) > 1:
        platforms = catalog_providers()
        vendors = [p for p in providers if not (p in platforms and platforms[p].platform)]
        if len(vendors) == 1:
            providers = vendors
    if len(providers) == 1:
        provider = providers[0]
        listed = next(e for e in entries if e.provider == provider)
        return f"{provider}/{name if name in (listed.name, *listed.aliases) else listed.name}"
    if providers:
        refs = ", ".join(repr(f"{p}/{name}") for p in providers)
        raise ValidationError(f"model {name!r} is offered by several providers; say which: {refs}")
    close = _close_names(name, catalog_kind)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    raise NotFoundError(
        f"unknown model {name!r}.{hint} Give it with its provider ('openai/{name}', "
        f"'ollama/{name}', ...); `conduit models list` shows the catalog"
    )


def model_info(ref: str) -> ModelInfo:
    """Facts about a model (limits, capabilities, prices) by any reference the resolver
    takes: the catalog's, or the provider's defaults for a name it does not list.

    Example:
        >>> model_info("gpt-4o").context_window
        128000
    """
    from conduit.catalog import model_info as from_catalog

    return from_catalog(resolve_ref(ref))


def validate_model(ref: str) -> ModelInfo:
    """Check a model reference before sending anything: the provider exists, a bare name
    is in the catalog, and the catalog does not know the model as retired or (for
    providers whose catalog is complete: OpenAI, Anthropic, Gemini) as nonexistent.
    Returns the model's `ModelInfo`; raises `ValidationError` or `NotFoundError` with
    close names.

    Example:
        >>> validate_model("gpt-4o").ref
        'openai/gpt-4o'
        >>> validate_model("nobody/x")
        Traceback (most recent call last):
        ...
        conduit.errors.NotFoundError: unknown provider 'nobody'...
    """
    from conduit.catalog import validate_model as check_catalog

    return check_catalog(resolve_ref(ref))


def _close_names(name: str, catalog_kind: str) -> list[str]:
    platforms = catalog_providers()
    by_name: dict[str, CatalogEntry] = {}
    # Vendors first, so a name both a vendor and a reseller list suggests the vendor's.
    for entry in sorted(
        models(kind=catalog_kind),
        key=lambda e: e.provider in platforms and platforms[e.provider].platform,
    ):
        for alias in (entry.name, *entry.aliases):
            by_name.setdefault(alias.lower(), entry)
    close = difflib.get_close_matches(name.lower(), list(by_name), n=3, cutoff=0.6)
    return list(dict.fromkeys(by_name[c].ref for c in close))


def _checked(connection: dict[str, Any]) -> dict[str, Any]:
    """Connection settings with the shared ones checked (a `ValidationError` naming the
    argument, before anything is built or sent)."""
    if "timeout" in connection:
        connection["timeout"] = Timeout.of(connection["timeout"])
        if connection["timeout"] is None:
            del connection["timeout"]
    if "max_retries" in connection:
        value = connection["max_retries"]
        if value is None:
            del connection["max_retries"]
        else:
            policy = RetryPolicy.of(value)
            connection["max_retries"] = (
                value if isinstance(value, RetryPolicy) else policy.max_retries
            )
    return connection


def build_model(ref: str, kind: Kind, **connection: Any) -> Any:
    """A new model of `kind` for the reference `ref`, built by its provider's class with
    the (checked) connection settings. The one place a string becomes a model.

    Example:
        >>> build_model("fake/echo", "chat").model_info.ref
        'fake/echo'
    """
    resolved = resolve_ref(ref, kind)
    parsed = parse_model_ref(resolved)
    spec = get_provider(parsed.provider)
    path = {"chat": spec.chat, "embed": spec.embed, "image": spec.image, "speech": spec.speech}[
        kind
    ]
    if path is None:
        able = [name for name in provider_names() if getattr(get_provider(name), kind) is not None]
        raise ValidationError(
            f"provider {spec.name!r} has no {_KIND_WORDS[kind]} models; providers that do: "
            f"{', '.join(able)}",
            provider=spec.name,
        )
    factory = load_class(path)
    config = _checked(dict(connection))
    try:
        if _takes_provider(factory):
            return factory(parsed.name, provider=spec, **config)
        return factory(parsed.name, **config)
    except TypeError as exc:
        if "unexpected keyword argument" not in str(exc):
            raise
        # A misspelled setting (`api_kye=`) is bad input like any other.
        raise ValidationError(f"{resolved}: {exc}") from None


def _takes_provider(factory: Any) -> bool:
    try:
        return "provider" in inspect.signature(factory).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without signatures
        return False


@overload
def model(ref: str, **connection: Any) -> BaseChatModel: ...


@overload
def model(ref: _M, **connection: Any) -> _M: ...


def model(ref: str | ChatModel, **connection: Any) -> ChatModel:
    """A chat model for `ref` (`"provider/name"` or a bare catalog name); `connection`
    goes to the provider's class (`api_key=`, `base_url=`, `timeout=`, `max_retries=`,
    `headers=`, `transport=`, ...). A `ChatModel` is returned as it is. A model built
    from a string is a `BaseChatModel`, so it has the sync twins (`chat_sync`,
    `stream_sync`) too.

    Keys come from the provider's usual environment variable (`OPENAI_API_KEY`, ...);
    a missing key is an `AuthenticationError` naming it, raised here, before any request.

    Example:
        >>> m = model("gpt-4o-mini", api_key="sk-test", timeout=30)
        >>> m.model_info.ref
        'openai/gpt-4o-mini'
    """
    if not isinstance(ref, str):
        return _as_model(ref, connection)
    return as_base_model(build_model(ref, "chat", **connection))


def embedder(ref: str | Embedder, **connection: Any) -> Embedder:
    """An embedder for `ref`, like `model()`.

    Example:
        >>> embedder("fake/hash").model_info.provider
        'fake'
    """
    if not isinstance(ref, str):
        return _as_embedder(ref, connection)
    built: Embedder = build_model(ref, "embed", **connection)
    return built


def _as_model(target: Any, connection: dict[str, Any]) -> ChatModel:
    if connection:
        raise ValidationError(
            f"connection settings ({', '.join(connection)}) apply to a model string, not to "
            f"a model object ({type(target).__name__}) that is already built"
        )
    if not all(hasattr(target, name) for name in ("chat", "stream", "model_info")):
        raise ValidationError(
            f"expected a model string or a ChatModel, not {type(target).__name__}"
        )
    found: ChatModel = target
    return found


def _as_embedder(target: Any, connection: dict[str, Any]) -> Embedder:
    if connection:
        raise ValidationError(
            f"connection settings ({', '.join(connection)}) apply to a model string, not to "
            f"an embedder object ({type(target).__name__}) that is already built"
        )
    if not all(hasattr(target, name) for name in ("embed", "model_info")):
        raise ValidationError(
            f"expected a model string or an Embedder, not {type(target).__name__}"
        )
    found: Embedder = target
    return found


def _cache_key(kind: str, ref: str, connection: dict[str, Any]) -> tuple[Hashable, ...] | None:
    """The cache key for a model string and its settings; None when a setting is an
    object we cannot compare (a transport, a session): then the model is not cached.
    The provider's key and base-URL variables are part of it, so changing them counts."""
    items: list[tuple[str, Hashable]] = []
    for name, value in sorted(connection.items()):
        if isinstance(value, dict):
            value = tuple(sorted(value.items()))
        comparable = isinstance(value, str | int | float | bool | tuple | Timeout | RetryPolicy)
        if not comparable and value is not None:
            return None
        items.append((name, value))
    spec = get_provider(parse_model_ref(ref).provider)
    env = (
        os.environ.get(spec.key_env) if spec.key_env else None,
        os.environ.get(spec.base_url_env) if spec.base_url_env else None,
    )
    return (kind, ref, *env, *items)


def _cached(target: str, kind: Kind, connection: dict[str, Any]) -> Any:
    ref = resolve_ref(target, kind)
    key = _cache_key(kind, ref, connection)
    if key is None:
        return build_model(ref, kind, **connection)
    found = _cache.get(key)
    if found is not None:
        _cache.move_to_end(key)
        return found
    built = build_model(ref, kind, **connection)
    _cache[key] = built
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return built


def cached_model(target: str | ChatModel, **connection: Any) -> ChatModel:
    """The chat model for a string, reused across calls with the same reference and
    settings (its connection pool too); a `ChatModel` as it is. What every function
    that takes a model string calls.

    Example:
        >>> cached_model("fake/echo") is cached_model("fake/echo")
        True
    """
    if not isinstance(target, str):
        return _as_model(target, connection)
    return as_base_model(_cached(target, "chat", connection))


def cached_embedder(target: str | Embedder, **connection: Any) -> Embedder:
    """`cached_model` for embedders.

    Example:
        >>> cached_embedder("fake/hash") is cached_embedder("fake/hash")
        True
    """
    if not isinstance(target, str):
        return _as_embedder(target, connection)
    found: Embedder = _cached(target, "embed", connection)
    return found
