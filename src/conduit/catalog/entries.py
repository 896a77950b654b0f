"""The catalog's data: `CatalogEntry` and `ProviderDefaults`, and reading them from a
`models.toml` with every value checked (an unknown key, a wrong type or a missing field
is an error naming its place in the file).

Example:
    >>> [e.ref for e in parse_entries({"models": [{"provider": "acme", "name": "m1",
    ...     "kind": "chat", "capabilities": ["tools"]}]}, "x")]
    ['acme/m1']
"""

from __future__ import annotations

import dataclasses
import datetime
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conduit.errors import ValidationError
from conduit.schema.responses import Prices

if TYPE_CHECKING:
    from conduit.core.protocols import Capabilities, ModelInfo
    from conduit.schema import Usage

__all__ = [
    "CatalogEntry",
    "KINDS",
    "LIST_APIS",
    "ProviderDefaults",
    "parse_entries",
    "parse_providers",
    "read_catalog_file",
]

KINDS = ("chat", "embedding")
"""The kinds of model the catalog lists."""
_STATUSES = ("active", "legacy", "deprecated", "retired")
LIST_APIS = ("openai", "anthropic", "gemini", "ollama")
"""The model-list APIs `conduit models update` knows."""
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
_PROVIDER_KEYS = frozenset(
    {"authoritative", "accept_prefixes", "capabilities", "list_api", "platform"}
)


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One model in the catalog. Prices are USD per million tokens; None: not known.

    Example:
        >>> from conduit.catalog import find_model
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
            prices=self.prices
            if self.input_price is not None or self.output_price is not None
            else None,
        )

    def cost(self, usage: Usage) -> float | None:
        """USD for `usage`, or None when a price it needs is not in the catalog.

        Cached input tokens cost `cached_input_price`, tokens written to a prompt cache
        `cache_write_price`, the rest of the input `input_price` (cache counts are part
        of `Usage.input_tokens`). Without a cache price, those tokens cost the input
        price: an upper bound.

        Example:
            >>> from conduit.catalog import find_model
            >>> from conduit.schema import Usage
            >>> find_model("openai/gpt-4.1").cost(Usage(input_tokens=2_000_000,
            ...                                          cache_read_tokens=1_000_000))
            2.5
        """
        return self.prices.cost(usage)

    @property
    def prices(self) -> Prices:
        """The entry's prices (USD per million tokens)."""
        return Prices(
            input=self.input_price,
            output=self.output_price,
            cached_input=self.cached_input_price,
            cache_write=self.cache_write_price,
        )


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
    platform: bool = False
    """A cloud platform that resells other vendors' models (Bedrock, Vertex, Azure): a
    bare model name listed both here and by its vendor resolves to the vendor."""
    list_api: str | None = None


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
        if list_api is not None and list_api not in LIST_APIS:
            raise ValidationError(f"{at}: list_api must be one of {', '.join(LIST_APIS)}")
        found[name] = ProviderDefaults(
            capabilities=_capabilities(table.get("capabilities", []), at),
            authoritative=_bool(table.get("authoritative", False), "authoritative", at),
            accept_prefixes=_strings(table.get("accept_prefixes", []), "accept_prefixes", at),
            list_api=list_api,
            platform=_bool(table.get("platform", False), "platform", at),
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
    if item["kind"] not in KINDS:
        raise ValidationError(f"{at}: kind must be one of {', '.join(KINDS)}")
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


# One (frozen) `Capabilities` per distinct set of names: a catalog has hundreds of
# entries but a few dozen sets, and each object would be one more for the collector.
_capability_sets: dict[frozenset[str], Capabilities] = {}


def _capabilities(value: Any, at: str) -> Capabilities:
    from conduit.core.protocols import Capabilities

    names = frozenset(_strings(value, "capabilities", at))
    found = _capability_sets.get(names)
    if found is not None:
        return found
    known = {f.name for f in dataclasses.fields(Capabilities)}
    if names - known:
        raise ValidationError(
            f"{at}: unknown capabilities {sorted(names - known)}; known: {', '.join(sorted(known))}"
        )
    found = _capability_sets[names] = Capabilities(**{name: name in names for name in known})
    return found


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
