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
import difflib
import functools
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conduit.catalog.entries import (
    KINDS,
    CatalogEntry,
    ProviderDefaults,
    parse_entries,
    parse_providers,
    read_catalog_file,
)
from conduit.catalog.public import GENERATED_FILE, LISTED, load_generated
from conduit.catalog.refs import ModelRef, parse_model_ref
from conduit.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from conduit.core.protocols import Capabilities, ModelInfo
    from conduit.schema import Response, Usage

__all__ = [
    "CatalogEntry",
    "ProviderDefaults",
    "add_catalog_source",
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
    "response_cost",
    "user_catalog_path",
    "validate_model",
]


@dataclass(frozen=True, slots=True)
class _Catalog:
    entries: tuple[CatalogEntry, ...]
    providers: Mapping[str, ProviderDefaults]
    index: Mapping[tuple[str, str], tuple[int, ...]]
    """`(provider, lower-case name or alias)` -> positions (in `entries`, then in
    `packed_facts`), chat first. Positions, not entries: a tuple of ints (like the key, a
    tuple of strings) is untracked by the garbage collector once it has seen it, so the
    ~3,300 keys cost the collector nothing; tuples of entries would stay tracked and be
    walked by every full collection of the application."""
    packed_facts: tuple[tuple[Any, ...], ...] = ()
    """Generated entries of providers Conduit does not call by model name (found by
    `find_model`, priced by `cost_of`, listed only by `models(all_providers=True)`), as
    tuples of plain values (`_pack`): ~2,400 of them, rarely asked for, so they are kept
    in a form the collector untracks and made `CatalogEntry`s when first asked for."""
    unpacked: dict[int, CatalogEntry] = dataclasses.field(default_factory=dict)
    """The facts made entries so far, by position (one object per fact, as before)."""

    def entry(self, at: int) -> CatalogEntry:
        """The entry at position `at` of the index."""
        if at < len(self.entries):
            return self.entries[at]
        found = self.unpacked.get(at)
        if found is None:
            # setdefault: two threads asking at once still get the one same object.
            made = _unpack(self.packed_facts[at - len(self.entries)])
            found = self.unpacked.setdefault(at, made)
        return found

    @property
    def facts(self) -> tuple[CatalogEntry, ...]:
        start = len(self.entries)
        return tuple(self.entry(at) for at in range(start, start + len(self.packed_facts)))


_FIELDS = tuple(f.name for f in dataclasses.fields(CatalogEntry))
_CAPABILITIES_AT = _FIELDS.index("capabilities")


def _pack(entry: CatalogEntry) -> tuple[Any, ...]:
    """An entry's values as a tuple of strings, numbers, dates and tuples of those (its
    capabilities as a tuple of flags): nothing the garbage collector keeps tracking."""
    values = [getattr(entry, name) for name in _FIELDS]
    values[_CAPABILITIES_AT] = _flags(entry.capabilities)
    return tuple(values)


@functools.cache
def _flags(capabilities: Capabilities) -> tuple[bool, ...]:
    # Once per distinct set (entries share them): `dataclasses.astuple` deep-copies and
    # took half of the catalog's load time when it ran for every entry.
    return tuple(getattr(capabilities, f.name) for f in dataclasses.fields(capabilities))


@functools.cache
def _capabilities(flags: tuple[bool, ...]) -> Capabilities:
    from conduit.core.protocols import Capabilities

    return Capabilities(*flags)


def _unpack(row: tuple[Any, ...]) -> CatalogEntry:
    values = list(row)
    values[_CAPABILITIES_AT] = _capabilities(row[_CAPABILITIES_AT])
    return CatalogEntry(*values)


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


def models(
    provider: str | None = None, kind: str | None = None, *, all_providers: bool = False
) -> list[CatalogEntry]:
    """Catalog entries, sorted by provider and name; optionally one provider's or one
    kind's. `all_providers=True` adds the models of providers Conduit does not call by
    model name (their limits and prices, from public data; see `conduit.catalog.public`).

    Example:
        >>> [e.name for e in models("local")]
        ['all-minilm-l6-v2', 'smollm2-135m-instruct']
        >>> all(e.kind == "embedding" for e in models(kind="embedding"))
        True
        >>> len(models(all_providers=True)) > len(models()) > 500
        True
    """
    if kind is not None and kind not in KINDS:
        raise ValidationError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    wanted = provider.lower() if provider else None
    catalog = _catalog()
    found = catalog.entries
    if all_providers and catalog.facts:
        found = tuple(sorted((*found, *catalog.facts), key=lambda e: (e.provider, e.name, e.kind)))
    return [
        e
        for e in found
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
    if kind is not None and kind not in KINDS:
        raise ValidationError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    catalog = _catalog()
    positions = catalog.index.get((parsed.provider, parsed.name.lower()), ())
    found = [catalog.entry(at) for at in positions]
    exact = [e for e in found if parsed.name in (e.name, *e.aliases)] + found
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
    return _default_info(parsed)


def validate_model(ref: str) -> ModelInfo:
    """Check `"provider/name"` against the catalog before sending anything.

    Raises `ValidationError` for a malformed reference and `NotFoundError` (with close
    names) for a model the vendor has retired, and for a name the catalog does not know
    when the catalog is authoritative for that provider (OpenAI, Anthropic, Gemini; not
    Ollama, local files or OpenAI-compatible servers, where any name may exist). Returns
    the model's `ModelInfo`. Whether the provider exists at all is the resolver's
    question: `conduit.validate_model` asks both.

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


def response_cost(response: Response, ref: str | None = None) -> float | None:
    """What an answer cost in USD: its own `cost` when the model priced it, else the
    catalog's prices for `ref` (or the answer's own `provider/model`) times its usage;
    None when no price is known. Every ledger, budget and face reads cost through this.

    Example:
        >>> from conduit.schema import Response, Usage
        >>> response_cost(Response(cost=0.25))
        0.25
        >>> answer = Response(provider="openai", model="gpt-4o-mini",
        ...                   usage=Usage(input_tokens=1000, output_tokens=100))
        >>> round(response_cost(answer), 6)
        0.00021
        >>> response_cost(Response(usage=Usage(input_tokens=5))) is None
        True
    """
    if response.cost is not None:
        return response.cost
    if ref is None:
        if not (response.provider and response.model):
            return None
        ref = f"{response.provider}/{response.model}"
    try:
        return cost_of(ref, response.usage)
    except ValidationError:  # not a `provider/name` reference: no price
        return None


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


def _generated_text() -> str:
    return resources.files("conduit.catalog").joinpath(GENERATED_FILE).read_text(encoding="utf-8")


def _under(
    generated: Iterable[CatalogEntry], curated: Iterable[CatalogEntry]
) -> dict[tuple[str, str, str], CatalogEntry]:
    """Generated entries less those whose name (or alias) a curated entry of the same
    provider and kind already claims: the curated entry wins, aliases included."""
    claimed = {(e.provider, e.kind, name.lower()) for e in curated for name in (e.name, *e.aliases)}
    return {
        (e.provider, e.kind, e.name): e
        for e in generated
        if (e.provider, e.kind, e.name.lower()) not in claimed
    }


@functools.cache
def _catalog() -> _Catalog:
    packaged = resources.files("conduit.catalog").joinpath("models.toml")
    curated_raw = tomllib.loads(packaged.read_text(encoding="utf-8"))
    user = user_catalog_path()
    generated, generated_providers, _ = load_generated(_generated_text, user)
    curated = parse_entries(curated_raw, "the packaged models.toml")
    data = list(_plugin_catalogs())
    if user.is_file():
        data.append((read_catalog_file(user), str(user)))
    # Generated data first, then the curated file over it, then plugins and the user.
    providers: dict[str, ProviderDefaults] = dict(generated_providers)
    providers.update(parse_providers(curated_raw, "the packaged models.toml"))
    entries = _under(generated, curated)
    facts_only = {id(e) for e in entries.values() if e.provider not in LISTED}
    for entry in curated:
        entries[(entry.provider, entry.kind, entry.name)] = entry
    for raw, where in data:
        providers.update(parse_providers(raw, where))
        for entry in parse_entries(raw, where):
            key = (entry.provider, entry.kind, entry.name)
            if _wins(entry, entries.get(key)):
                entries[key] = entry
    ordered = sorted(entries.values(), key=lambda e: (e.provider, e.name, e.kind))
    listed = tuple(e for e in ordered if id(e) not in facts_only)
    facts = tuple(e for e in ordered if id(e) in facts_only)
    # Listed entries first: for a name both list, the index finds the listed one.
    index = _index((*listed, *facts))
    return _Catalog(listed, providers, index, tuple(_pack(e) for e in facts))


_sources: list[Callable[[], list[tuple[dict[str, Any], str]]]] = []


def add_catalog_source(source: Callable[[], list[tuple[dict[str, Any], str]]]) -> None:
    """Merge more catalog data into the catalog: `source()` returns `(data, where)`
    pairs in the shape of `models.toml`, read each time the catalog loads. The provider
    registry adds the entries plugins declare this way (the catalog never imports it).

    Example:
        >>> add_catalog_source(lambda: [])
        >>> find_model("openai/gpt-4o") is not None
        True
    """
    if source not in _sources:
        _sources.append(source)
    reload_catalog()


def _plugin_catalogs() -> list[tuple[dict[str, Any], str]]:
    """The catalog data added by `add_catalog_source` (provider plugins' entries)."""
    return [found for source in _sources for found in source()]


def _wins(new: CatalogEntry, old: CatalogEntry | None) -> bool:
    """A user entry replaces the packaged one unless the packaged one was checked later
    (a newer Conduit's curated data beats an older `models update`)."""
    if old is None or new.checked is None or old.checked is None:
        return True
    return new.checked >= old.checked


def _index(entries: Sequence[CatalogEntry]) -> dict[tuple[str, str], tuple[int, ...]]:
    """`(provider, lower-case name or alias)` -> positions in `entries`, chat first."""
    by_name: dict[tuple[str, str], list[int]] = {}
    for at, entry in enumerate(entries):  # names first, so a name beats another's alias
        by_name.setdefault((entry.provider, entry.name.lower()), []).append(at)
    for at, entry in enumerate(entries):
        for alias in entry.aliases:
            found = by_name.setdefault((entry.provider, alias.lower()), [])
            if all(entries[i].kind != entry.kind for i in found):
                found.append(at)
    return {
        key: tuple(sorted(found, key=lambda i: KINDS.index(entries[i].kind)))
        for key, found in by_name.items()
    }
