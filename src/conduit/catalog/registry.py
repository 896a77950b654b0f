"""The model catalog: which models exist, their limits, capabilities and prices.

The facts live in data, `models.toml` next to this module, read once on first use
(never at `import conduit`). A user file, `$CONDUIT_CACHE_DIR/models.toml` (written by
`conduit models update`), is merged over it. A name the catalog does not list still
works: `model_info()` answers with the provider's default capabilities.

Example:
    >>> model_info("openai/gpt-4o-mini").context_window
    128000
    >>> model_info("openai/some-future-model").capabilities.tools
    True
    >>> from conduit.schema import Usage
    >>> round(cost_of("openai/gpt-4o-mini", Usage(input_tokens=1000, output_tokens=100)), 6)
    0.00021
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import functools
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conduit.catalog.refs import ModelRef, parse_model_ref
from conduit.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from conduit.core.protocols import Capabilities, ModelInfo
    from conduit.schema import Usage

__all__ = [
    "CatalogEntry",
    "ProviderDefaults",
    "catalog_providers",
    "cost_of",
    "describe_model",
    "find_model",
    "model_info",
    "models",
    "parse_entries",
    "parse_providers",
    "read_catalog_file",
    "reload_catalog",
    "user_catalog_path",
    "validate_model",
]

_KINDS = ("chat", "embedding")
_STATUSES = ("active", "legacy", "deprecated", "retired")
_LIST_APIS = ("openai", "anthropic", "gemini", "ollama")
_PRICES = ("input_price", "output_price", "cached_input_price", "cache_write_price")
_LIMITS = ("context_window", "default_context_window", "max_output_tokens")
_ENTRY_KEYS = frozenset(
    {
        "provider",
        "name",
        "aliases",
        "kind",
        "capabilities",
        "checked",
        "source",
        "status",
        *_PRICES,
        *_LIMITS,
    }
)
_REQUIRED = ("provider", "name", "kind", "capabilities")
_PROVIDER_KEYS = frozenset({"authoritative", "accept_prefixes", "capabilities", "list_api"})


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One model in the catalog. Prices are USD per million tokens; None: not known.

    Example:
        >>> entry = find_model("anthropic/claude-haiku-4-5")
        >>> entry.ref, entry.input_price, entry.output_price
        ('anthropic/claude-haiku-4-5', 1.0, 5.0)
    """

    provider: str
    name: str
    kind: str
    capabilities: Capabilities
    aliases: tuple[str, ...] = ()
    context_window: int | None = None
    default_context_window: int | None = None
    max_output_tokens: int | None = None
    input_price: float | None = None
    output_price: float | None = None
    cached_input_price: float | None = None
    cache_write_price: float | None = None
    status: str | None = None
    checked: datetime.date | None = None
    source: str | None = None

    @property
    def ref(self) -> str:
        """The `provider/name` string for this model."""
        return f"{self.provider}/{self.name}"

    def model_info(self, name: str | None = None) -> ModelInfo:
        """This entry as a `ModelInfo` (named `name`, e.g. the alias that was asked for).

        The context window is the one served by default where that is smaller than the
        model's own (a local model runs with llama.cpp's `n_ctx`).
        """
        from conduit.core.protocols import ModelInfo

        return ModelInfo(
            provider=self.provider,
            name=name or self.name,
            capabilities=self.capabilities,
            context_window=self.default_context_window or self.context_window,
            max_output_tokens=self.max_output_tokens,
        )

    def cost(self, usage: Usage) -> float | None:
        """USD for `usage`, or None when a price it needs is not in the catalog.

        Cached input tokens cost `cached_input_price`, tokens written to a prompt cache
        `cache_write_price`, the rest of the input `input_price` (cache counts are part
        of `Usage.input_tokens`). Without a cache price, those tokens cost the input
        price: an upper bound.

        Example:
            >>> from conduit.schema import Usage
            >>> find_model("openai/gpt-4.1").cost(Usage(input_tokens=2_000_000,
            ...                                          cache_read_tokens=1_000_000))
            2.5
        """
        cached = usage.cache_read_tokens
        written = usage.cache_creation_tokens
        fresh = max(usage.input_tokens - cached - written, 0)
        total = 0.0
        for tokens, price in (
            (fresh, self.input_price),
            (cached, _first(self.cached_input_price, self.input_price)),
            (written, _first(self.cache_write_price, self.input_price)),
            (usage.output_tokens, self.output_price),
        ):
            if tokens:
                if price is None:
                    return None
                total += tokens * price
        if self.input_price is None and self.output_price is None:
            return None
        return total / 1_000_000


def _first(*prices: float | None) -> float | None:
    return next((p for p in prices if p is not None), None)


@dataclass(frozen=True, slots=True)
class ProviderDefaults:
    """A provider's `[providers.NAME]` table: capabilities assumed for names the catalog
    does not list, whether the catalog is authoritative, and its model-list API.

    Example:
        >>> parse_providers({"providers": {"acme": {"list_api": "openai"}}}, "x")["acme"].list_api
        'openai'
    """

    capabilities: Capabilities
    authoritative: bool = False
    accept_prefixes: tuple[str, ...] = ()
    list_api: str | None = None


@dataclass(frozen=True, slots=True)
class _Catalog:
    entries: tuple[CatalogEntry, ...]
    providers: Mapping[str, ProviderDefaults]
    index: Mapping[tuple[str, str], tuple[CatalogEntry, ...]]


def user_catalog_path() -> Path:
    """The user catalog merged over the packaged one: `$CONDUIT_CACHE_DIR/models.toml`,
    else `$XDG_CACHE_HOME/conduit/models.toml`, else `~/.cache/conduit/models.toml`.

    Example:
        >>> user_catalog_path().name
        'models.toml'
    """
    explicit = os.environ.get("CONDUIT_CACHE_DIR")
    if explicit:
        return Path(explicit) / "models.toml"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "conduit" / "models.toml"


def reload_catalog() -> None:
    """Forget the loaded catalog; the next lookup reads the files again (after
    `conduit models update`, or after changing `$CONDUIT_CACHE_DIR`).

    Example:
        >>> reload_catalog()
        >>> find_model("openai/gpt-4o") is not None
        True
    """
    _catalog.cache_clear()


def catalog_providers() -> dict[str, ProviderDefaults]:
    """The catalog's `[providers.NAME]` tables (packaged, then the user file's).

    Example:
        >>> catalog_providers()["anthropic"].list_api
        'anthropic'
    """
    return dict(_catalog().providers)


def models(provider: str | None = None, kind: str | None = None) -> list[CatalogEntry]:
    """Catalog entries, sorted by provider and name; optionally one provider's or one kind's.

    Example:
        >>> [e.name for e in models("local")]
        ['all-minilm-l6-v2', 'smollm2-135m-instruct']
        >>> all(e.kind == "embedding" for e in models(kind="embedding"))
        True
    """
    if kind is not None and kind not in _KINDS:
        raise ValidationError(f"kind must be one of {', '.join(_KINDS)}, not {kind!r}")
    wanted = provider.lower() if provider else None
    return [
        e
        for e in _catalog().entries
        if (wanted is None or e.provider == wanted) and (kind is None or e.kind == kind)
    ]


def find_model(ref: str, *, kind: str | None = None) -> CatalogEntry | None:
    """The catalog entry for `"provider/name"` (a name or an alias), or None.

    Chat models are preferred when a name is both (`local/default`); pass `kind=` to
    choose. Names are matched exactly first, then ignoring case.

    Example:
        >>> find_model("openai/gpt-4o-2024-08-06").name
        'gpt-4o'
        >>> find_model("local/default", kind="embedding").name
        'all-minilm-l6-v2'
        >>> find_model("openai/no-such-model") is None
        True
    """
    return _lookup(parse_model_ref(ref), kind)


def describe_model(
    provider: str,
    name: str,
    *,
    kind: str = "chat",
    fallback: Capabilities | None = None,
    capabilities: Capabilities | None = None,
) -> ModelInfo:
    """What an adapter reports about its model: the catalog's facts when it lists the
    model (its capabilities are then checked before each request), else `fallback`
    (permissive: an unlisted model may do anything, the provider decides). Explicit
    `capabilities` win over both.

    Example:
        >>> describe_model("openai", "gpt-4o").context_window
        128000
        >>> describe_model("openai", "my-finetune").capabilities.vision
        True
    """
    from conduit.core.protocols import Capabilities, ModelInfo

    entry = _lookup(ModelRef(provider, name), kind)
    if entry is not None:
        info = entry.model_info(name)
    else:
        info = ModelInfo(
            provider=provider,
            name=name,
            capabilities=fallback or Capabilities(vision=True, audio=True),
        )
    if capabilities is not None:
        info = dataclasses.replace(info, capabilities=capabilities)
    return info


def _lookup(parsed: ModelRef, kind: str | None = None) -> CatalogEntry | None:
    if kind is not None and kind not in _KINDS:
        raise ValidationError(f"kind must be one of {', '.join(_KINDS)}, not {kind!r}")
    found = _catalog().index.get((parsed.provider, parsed.name.lower()), ())
    exact = [e for e in found if parsed.name in (e.name, *e.aliases)] + list(found)
    return next((e for e in exact if kind is None or e.kind == kind), None)


def model_info(ref: str) -> ModelInfo:
    """Facts about `"provider/name"`: from the catalog, or the provider's defaults for a
    name it does not list (never an error for a model of a known provider).

    Example:
        >>> info = model_info("anthropic/claude-sonnet-4-5")
        >>> info.context_window, info.max_output_tokens, info.capabilities.vision
        (200000, 64000, True)
        >>> model_info("ollama/my-finetune:7b").ref
        'ollama/my-finetune:7b'
    """
    parsed = parse_model_ref(ref)
    entry = _lookup(parsed)
    if entry is not None:
        return entry.model_info(parsed.name)
    _require_provider(parsed.provider)
    return _default_info(parsed)


def validate_model(ref: str) -> ModelInfo:
    """Check `"provider/name"` against the catalog before sending anything.

    Raises `ValidationError` for a malformed reference and `NotFoundError` (with close
    names) for an unknown provider, for a model the vendor has retired, and for a name
    the catalog does not know when the catalog is authoritative for that provider
    (OpenAI, Anthropic, Gemini; not Ollama, local files or OpenAI-compatible servers,
    where any name may exist). Returns the model's `ModelInfo`.

    Example:
        >>> validate_model("openai/gpt-4o").name
        'gpt-4o'
        >>> validate_model("ollama/anything:latest").provider
        'ollama'
        >>> try:
        ...     validate_model("openai/gpt-4o-mni")
        ... except NotFoundError as exc:
        ...     print("Did you mean 'openai/gpt-4o-mini'" in str(exc))
        True
    """
    parsed = parse_model_ref(ref)
    entry = _lookup(parsed)
    if entry is not None:
        if entry.status == "retired":
            raise NotFoundError(
                f"{parsed} has been retired by {entry.provider} (catalog checked "
                f"{entry.checked}); requests for it fail. Pick another model: "
                f"conduit models list --provider {entry.provider}",
                provider=entry.provider,
            )
        return entry.model_info(parsed.name)
    _require_provider(parsed.provider)
    defaults = _catalog().providers.get(parsed.provider)
    if (
        defaults is None
        or not defaults.authoritative
        or parsed.name.startswith(defaults.accept_prefixes)
    ):
        return _default_info(parsed)
    close = _suggestions(parsed)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    raise NotFoundError(
        f"unknown model {str(parsed)!r}.{hint} If it is new, `conduit models update` adds "
        f"the models your key can use; `conduit models list --provider {parsed.provider}` "
        "shows the catalog",
        provider=parsed.provider,
    )


def cost_of(ref: str, usage: Usage) -> float | None:
    """USD for `usage` of `"provider/name"`; None when the catalog has no price for it.

    Example:
        >>> from conduit.schema import Usage
        >>> usage = Usage(input_tokens=10_000, output_tokens=1_000, cache_read_tokens=8_000)
        >>> round(cost_of("anthropic/claude-haiku-4-5", usage), 6)
        0.0078
        >>> cost_of("ollama/llama3.2", usage) is None
        True
    """
    entry = _lookup(parse_model_ref(ref))
    return None if entry is None else entry.cost(usage)


def _require_provider(name: str) -> None:
    """An unknown provider is an error, with close names (the provider registry's)."""
    if name in _catalog().providers:
        return
    # Imported here: the registry is only needed for names the catalog does not cover.
    from conduit.providers.registry import get_provider

    get_provider(name)


def _default_info(parsed: ModelRef) -> ModelInfo:
    from conduit.core.protocols import Capabilities, ModelInfo

    defaults = _catalog().providers.get(parsed.provider)
    capabilities = defaults.capabilities if defaults else Capabilities()
    return ModelInfo(provider=parsed.provider, name=parsed.name, capabilities=capabilities)


def _suggestions(parsed: ModelRef) -> list[str]:
    names: dict[str, str] = {}
    for entry in models(parsed.provider):
        for name in (entry.name, *entry.aliases):
            names.setdefault(name.lower(), entry.ref)
    close = difflib.get_close_matches(parsed.name.lower(), list(names), n=3, cutoff=0.6)
    return list(dict.fromkeys(names[c] for c in close))


# --- loading -------------------------------------------------------------------------


@functools.cache
def _catalog() -> _Catalog:
    packaged = resources.files("conduit.catalog").joinpath("models.toml")
    data = [(tomllib.loads(packaged.read_text(encoding="utf-8")), "the packaged models.toml")]
    data.extend(_plugin_catalogs())
    user = user_catalog_path()
    if user.is_file():
        data.append((read_catalog_file(user), str(user)))
    providers: dict[str, ProviderDefaults] = {}
    entries: dict[tuple[str, str, str], CatalogEntry] = {}
    for raw, where in data:
        providers.update(parse_providers(raw, where))
        for entry in parse_entries(raw, where):
            key = (entry.provider, entry.kind, entry.name)
            if _wins(entry, entries.get(key)):
                entries[key] = entry
    ordered = tuple(sorted(entries.values(), key=lambda e: (e.provider, e.name, e.kind)))
    return _Catalog(ordered, providers, _index(ordered))


def _plugin_catalogs() -> list[tuple[dict[str, Any], str]]:
    """The catalog entries provider plugins declared (checked when they loaded)."""
    from conduit.providers.registry import declared_catalogs

    return declared_catalogs()


def _wins(new: CatalogEntry, old: CatalogEntry | None) -> bool:
    """A user entry replaces the packaged one unless the packaged one was checked later
    (a newer Conduit's curated data beats an older `models update`)."""
    if old is None or new.checked is None or old.checked is None:
        return True
    return new.checked >= old.checked


def _index(entries: Iterable[CatalogEntry]) -> dict[tuple[str, str], tuple[CatalogEntry, ...]]:
    by_name: dict[tuple[str, str], list[CatalogEntry]] = {}
    for entry in entries:  # names first, so a name beats another entry's alias
        by_name.setdefault((entry.provider, entry.name.lower()), []).append(entry)
    for entry in entries:
        for alias in entry.aliases:
            found = by_name.setdefault((entry.provider, alias.lower()), [])
            if all(e.kind != entry.kind for e in found):
                found.append(entry)
    return {
        key: tuple(sorted(found, key=lambda e: _KINDS.index(e.kind)))
        for key, found in by_name.items()
    }


def read_catalog_file(path: Path) -> dict[str, Any]:
    """Parse a catalog TOML file; a broken one is a `ValidationError` naming it."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValidationError(
            f"cannot read the model catalog {path}: {exc}; fix or delete the file"
        ) from None


def parse_providers(raw: Mapping[str, Any], where: str) -> dict[str, ProviderDefaults]:
    """The `[providers.NAME]` tables of a catalog file."""
    tables = raw.get("providers", {})
    if not isinstance(tables, dict):
        raise ValidationError(f"{where}: `providers` must be a table")
    found = {}
    for name, table in tables.items():
        at = f"{where}: [providers.{name}]"
        if not isinstance(table, dict):
            raise ValidationError(f"{at} must be a table")
        _no_unknown_keys(table, _PROVIDER_KEYS, at)
        list_api = table.get("list_api")
        if list_api is not None and list_api not in _LIST_APIS:
            raise ValidationError(f"{at}: list_api must be one of {', '.join(_LIST_APIS)}")
        found[name] = ProviderDefaults(
            capabilities=_capabilities(table.get("capabilities", []), at),
            authoritative=_bool(table.get("authoritative", False), "authoritative", at),
            accept_prefixes=_strings(table.get("accept_prefixes", []), "accept_prefixes", at),
            list_api=list_api,
        )
    return found


def parse_entries(raw: Mapping[str, Any], where: str) -> list[CatalogEntry]:
    """The `[[models]]` entries of a catalog file, checked field by field.

    Example:
        >>> parse_entries({"models": [{"provider": "acme", "name": "m1", "kind": "chat",
        ...                            "capabilities": ["tools"]}]}, "example")[0].ref
        'acme/m1'
    """
    unknown = set(raw) - {"providers", "models"}
    if unknown:
        raise ValidationError(f"{where}: unknown top-level keys {sorted(unknown)}")
    items = raw.get("models", [])
    if not isinstance(items, list):
        raise ValidationError(f"{where}: `models` must be an array of tables ([[models]])")
    return [_entry(item, f"{where}: models[{i}]") for i, item in enumerate(items)]


def _entry(item: Any, at: str) -> CatalogEntry:
    if not isinstance(item, dict):
        raise ValidationError(f"{at} must be a table")
    _no_unknown_keys(item, _ENTRY_KEYS, at)
    missing = [key for key in _REQUIRED if key not in item]
    if missing:
        raise ValidationError(f"{at} lacks {', '.join(missing)}")
    at = f"{at} ({item.get('provider')}/{item.get('name')})"
    provider, name = _string(item["provider"], "provider", at), _string(item["name"], "name", at)
    if provider != provider.lower() or "/" in provider or not provider or not name:
        raise ValidationError(f"{at}: provider must be a lower-case name, name non-empty")
    if item["kind"] not in _KINDS:
        raise ValidationError(f"{at}: kind must be one of {', '.join(_KINDS)}")
    status = item.get("status")
    if status is not None and status not in _STATUSES:
        raise ValidationError(f"{at}: status must be one of {', '.join(_STATUSES)}")
    checked = item.get("checked")
    if checked is not None and (
        not isinstance(checked, datetime.date) or isinstance(checked, datetime.datetime)
    ):
        raise ValidationError(f"{at}: checked must be a date like 2026-11-24")
    source = item.get("source")
    fields: dict[str, Any] = {
        key: _count(item[key], key, at) for key in _LIMITS if item.get(key) is not None
    }
    fields.update({key: _price(item[key], key, at) for key in _PRICES if item.get(key) is not None})
    return CatalogEntry(
        provider=provider,
        name=name,
        kind=item["kind"],
        capabilities=_capabilities(item["capabilities"], at),
        aliases=_strings(item.get("aliases", []), "aliases", at),
        status=status,
        checked=checked,
        source=None if source is None else _string(source, "source", at),
        **fields,
    )


def _no_unknown_keys(table: Mapping[str, Any], allowed: frozenset[str], at: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise ValidationError(
            f"{at}: unknown keys {sorted(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


def _capabilities(value: Any, at: str) -> Capabilities:
    from conduit.core.protocols import Capabilities

    names = set(_strings(value, "capabilities", at))
    known = {f.name for f in dataclasses.fields(Capabilities)}
    if names - known:
        raise ValidationError(
            f"{at}: unknown capabilities {sorted(names - known)}; known: {', '.join(sorted(known))}"
        )
    return Capabilities(**{name: name in names for name in known})


def _string(value: Any, key: str, at: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{at}: {key} must be a string")
    return value


def _strings(value: Any, key: str, at: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValidationError(f"{at}: {key} must be a list of strings")
    return tuple(value)


def _bool(value: Any, key: str, at: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{at}: {key} must be true or false")
    return value


def _count(value: Any, key: str, at: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError(f"{at}: {key} must be a positive whole number of tokens")
    return value


def _price(value: Any, key: str, at: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValidationError(f"{at}: {key} must be a non-negative number (USD per 1M tokens)")
    return float(value)
