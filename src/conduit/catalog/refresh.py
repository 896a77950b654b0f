"""Refresh the catalog from the providers' own model lists (`conduit models update`).

Each list endpoint is read through Conduit's transport, as its API reference describes:

- OpenAI-style `GET {base}/models` (OpenAI, and the OpenAI-compatible vendors: Groq,
  xAI, Mistral, DeepSeek): `{"object": "list", "data": [{"id": ...}, ...]}`, one page.
- Anthropic `GET /v1/models?limit=1000` with `x-api-key` and `anthropic-version`, paged
  with `after_id` while `has_more`; each model may carry `max_input_tokens`,
  `max_tokens`, `capabilities` and its `lifecycle`.
- Gemini `GET /v1beta/models?pageSize=1000`, paged with `pageToken`; `inputTokenLimit`,
  `outputTokenLimit` and `supportedGenerationMethods` per model.
- Ollama `GET /api/tags`: the models pulled into this Ollama.

Models new to the catalog are added with their provider's default capabilities (and
what the listing says); known ones keep their curated prices and capabilities, and only
gain facts the catalog lacked. The result goes to a user file merged over the packaged
catalog, never into the package.

Example:
    >>> listed = parse_openai_models({"object": "list", "data": [
    ...     {"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "system"},
    ...     {"id": "gpt-9", "object": "model", "created": 1790000000, "owned_by": "system"}]})
    >>> [m.name for m in listed]
    ['gpt-4o', 'gpt-9']
    >>> entries, added, updated = merge_listed(listed, models("openai"), today=None)
    >>> added, updated
    (['gpt-9'], [])
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from conduit.catalog.entries import (
    LIST_APIS,
    CatalogEntry,
    ProviderDefaults,
    parse_entries,
    parse_providers,
    read_catalog_file,
)
from conduit.catalog.listing import (
    ListedModel,
    parse_anthropic_models,
    parse_gemini_models,
    parse_ollama_tags,
    parse_openai_models,
)
from conduit.catalog.public import DATA_URL_ENV, refresh_public_catalog, user_generated_path
from conduit.catalog.registry import models, reload_catalog, user_catalog_path
from conduit.errors import ConduitError, ValidationError

if TYPE_CHECKING:
    from conduit.core.protocols import Capabilities
    from conduit.transport import Transport

__all__ = [
    "ANTHROPIC_VERSION",
    "ListSource",
    "ListedModel",
    "RefreshResult",
    "dumps_catalog",
    "list_models",
    "merge_listed",
    "parse_anthropic_models",
    "parse_gemini_models",
    "parse_ollama_tags",
    "parse_openai_models",
    "refresh_catalog",
]

log = logging.getLogger("conduit.catalog")

# Anthropic's API versions page: "2023-06-01" is the current version header value.
ANTHROPIC_VERSION = "2023-06-01"
_PAGE_SIZE = 1000  # the largest page both Anthropic (limit) and Gemini (pageSize) allow
_MAX_PAGES = 50  # a listing is a few pages at most; this stops a server that loops


@dataclass(frozen=True, slots=True)
class ListSource:
    """Where to list one provider's models: its list API, base URL and key.

    Example:
        >>> ListSource("openai", "openai", "https://api.openai.com/v1", "sk-x").url
        'https://api.openai.com/v1/models'
    """

    provider: str
    api: str
    base_url: str
    api_key: str | None = None

    @property
    def url(self) -> str:
        """The list endpoint."""
        base = self.base_url.rstrip("/")
        return f"{base}/api/tags" if self.api == "ollama" else f"{base}/models"

    def __repr__(self) -> str:  # never show the key
        return f"ListSource({self.provider!r}, {self.api!r}, {self.base_url!r})"


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """What refreshing one provider did: how many models it listed, which names were new
    to the catalog, which known ones gained facts, or the error that stopped it.

    Example:
        >>> RefreshResult("openai", listed=3, added=("gpt-9",)).ok
        True
    """

    provider: str
    listed: int = 0
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    error: ConduitError | None = None

    @property
    def ok(self) -> bool:
        """True when the listing was read."""
        return self.error is None


async def list_models(source: ListSource, transport: Transport) -> list[ListedModel]:
    """Read `source`'s whole model list (every page) through `transport`."""
    from conduit.transport import HTTPClient, RetryPolicy

    if source.api not in LIST_APIS:
        raise ValidationError(f"list_api must be one of {', '.join(LIST_APIS)}, not {source.api!r}")
    headers: dict[str, str] = {}
    key = source.api_key
    if source.api == "anthropic":
        headers["anthropic-version"] = ANTHROPIC_VERSION
        if key:
            headers["x-api-key"] = key
    elif source.api == "gemini":
        if key:
            headers["x-goog-api-key"] = key  # a header, never the URL (ai.google.dev/api)
    elif key:
        headers["authorization"] = f"Bearer {key}"
    client = HTTPClient(
        transport,
        provider=source.provider,
        headers=headers,
        # A local Ollama that refuses the connection is not running: no retry.
        retry=RetryPolicy(max_retries=0 if source.api == "ollama" else 1),
        secrets=[key],
    )
    if source.api in ("openai", "ollama"):
        payload = await client.get_json(source.url)
        if source.api == "ollama":
            return parse_ollama_tags(payload)
        return parse_openai_models(payload, source.provider)
    found: list[ListedModel] = []
    query: dict[str, str] = {}
    for _ in range(_MAX_PAGES):
        if source.api == "anthropic":
            payload = await client.get_json(
                f"{source.url}?{urlencode({'limit': _PAGE_SIZE, **query})}"
            )
            found += parse_anthropic_models(payload)
            last = payload.get("last_id")
            if not payload.get("has_more") or not isinstance(last, str):
                break
            query = {"after_id": last}
        else:
            payload = await client.get_json(
                f"{source.url}?{urlencode({'pageSize': _PAGE_SIZE, **query})}"
            )
            found += parse_gemini_models(payload)
            token = payload.get("nextPageToken")
            if not isinstance(token, str) or not token:
                break
            query = {"pageToken": token}
    return found


def merge_listed(
    listed: Iterable[ListedModel],
    known: Iterable[CatalogEntry],
    *,
    today: datetime.date | None,
    providers: Mapping[str, ProviderDefaults] | None = None,
    source: str | None = None,
) -> tuple[list[CatalogEntry], list[str], list[str]]:
    """Catalog entries for listed models: `(entries, added names, updated names)`.

    A listed model the catalog knows (by name or alias) keeps its curated prices and
    capabilities; it gains only the limits the catalog lacked, and the provider's own
    lifecycle status. It is returned only when something changed. A new one gets its
    provider's default capabilities, adjusted by what the listing reports.
    """
    from conduit.core.protocols import Capabilities

    known_entries = list(known)
    if providers is None:
        providers = _packaged_providers()
    by_name: dict[tuple[str, str], CatalogEntry] = {}
    for entry in known_entries:
        for name in (entry.name, *entry.aliases):
            by_name.setdefault((entry.provider, name.lower()), entry)
    out: dict[tuple[str, str], CatalogEntry] = {}
    added: list[str] = []
    updated: list[str] = []
    for item in listed:
        match = next(
            (
                by_name[(item.provider, n.lower())]
                for n in (item.name, *item.aliases)
                if (item.provider, n.lower()) in by_name
            ),
            None,
        )
        if match is not None:
            key = (match.provider, match.name)
            current = out.get(key, match)
            fill: dict[str, Any] = {
                f: getattr(item, f)
                for f in ("context_window", "max_output_tokens")
                if getattr(current, f) is None and getattr(item, f) is not None
            }
            if item.status is not None and item.status != current.status:
                fill["status"] = item.status
            if fill:
                out[key] = dataclasses.replace(current, **fill)
                updated.append(match.name)
            continue
        key = (item.provider, item.name)
        if key in out:
            continue
        defaults = providers.get(item.provider)
        base = defaults.capabilities if defaults else Capabilities()
        if item.kind == "embedding":
            base = Capabilities(streaming=False, tools=False, json_mode=False, json_schema=False)
        out[key] = CatalogEntry(
            provider=item.provider,
            name=item.name,
            kind=item.kind,
            capabilities=dataclasses.replace(base, **item.reported),
            aliases=item.aliases,
            context_window=item.context_window,
            max_output_tokens=item.max_output_tokens,
            status=item.status,
            checked=today,
            source=source,
        )
        added.append(item.name)
    return list(out.values()), added, list(dict.fromkeys(updated))


def _packaged_providers() -> dict[str, ProviderDefaults]:
    import tomllib
    from importlib import resources

    text = resources.files("conduit.catalog").joinpath("models.toml").read_text("utf-8")
    return parse_providers(tomllib.loads(text), "the packaged models.toml")


async def refresh_catalog(
    sources: Sequence[ListSource],
    output: Path | None = None,
    *,
    transport: Transport | None = None,
    today: datetime.date | None = None,
) -> list[RefreshResult]:
    """List each source's models, merge them with the catalog and write `output`
    (default: `user_catalog_path()`), keeping the entries it already holds. A source that
    fails is reported in its `RefreshResult` and the others still count.

    When `CONDUIT_CATALOG_DATA_URL` names a copy of the public model map (a URL or a
    path), the generated part of the catalog is refreshed from it too, into a copy beside
    `output` (`conduit.catalog.public.refresh_public_catalog`); a failure there is
    logged and the listing goes on."""
    path = output or user_catalog_path()
    today = today or datetime.date.today()
    raw = read_catalog_file(path) if path.is_file() else {}
    existing = parse_entries(raw, str(path))
    providers = {**_packaged_providers(), **parse_providers(raw, str(path))}
    known = [*models(), *existing]
    entries = {(e.provider, e.kind, e.name): e for e in existing}
    owned = transport is None
    if transport is None:
        from conduit.transport import AiohttpTransport, Timeout

        transport = AiohttpTransport(timeout=Timeout(connect=5.0, read=60.0))
    results = []
    public = os.environ.get(DATA_URL_ENV, "").strip()
    try:
        if public:
            try:
                await refresh_public_catalog(
                    public, user_generated_path(path), transport=transport, today=today
                )
            except ConduitError as exc:
                log.warning("could not refresh the public model data from %s: %s", public, exc)
        for source in sources:
            try:
                listed = await list_models(source, transport)
            except ConduitError as exc:
                results.append(RefreshResult(source.provider, error=exc))
                continue
            merged, added, updated = merge_listed(
                listed, known, today=today, providers=providers, source=source.url
            )
            for entry in merged:
                entries[(entry.provider, entry.kind, entry.name)] = entry
            known += merged
            results.append(
                RefreshResult(source.provider, len(listed), tuple(added), tuple(updated))
            )
    finally:
        if owned:
            await transport.aclose()
    if public:
        reload_catalog()
    if any(r.ok for r in results):
        text = dumps_catalog(entries.values(), raw.get("providers"), written=today)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)  # readers never see half a file
        reload_catalog()
    return results


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | datetime.date):
        return value.isoformat() if isinstance(value, datetime.date) else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    return "[" + ", ".join(_toml(v) for v in value) + "]"


def _capability_names(capabilities: Capabilities) -> list[str]:
    return [f.name for f in dataclasses.fields(capabilities) if getattr(capabilities, f.name)]


def dumps_catalog(
    entries: Iterable[CatalogEntry],
    providers: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    written: datetime.date | None = None,
) -> str:
    """Catalog entries (and raw `[providers.NAME]` tables) as TOML that `models()` reads.

    Example:
        >>> print(dumps_catalog(models("local", kind="chat")).splitlines()[5])
        provider = "local"
    """
    lines = [
        "# Conduit model catalog: merged over the packaged one (conduit/catalog/models.toml).",
        f"# Written by `conduit models update`{f' on {written}' if written else ''}. An entry",
        "# here replaces the packaged entry of the same name unless that one was checked later.",
    ]
    for name, table in sorted((providers or {}).items()):
        lines += ["", f"[providers.{name}]"]
        lines += [f"{key} = {_toml(value)}" for key, value in table.items()]
    order = (
        *("provider", "name", "aliases", "kind", "context_window", "default_context_window"),
        *("max_output_tokens", "capabilities", "input_price", "cached_input_price"),
        *("cache_write_price", "output_price", "status", "checked", "source"),
    )
    for entry in sorted(entries, key=lambda e: (e.provider, e.name, e.kind)):
        lines += ["", "[[models]]"]
        for key in order:
            value: Any = getattr(entry, key)
            if key == "capabilities":
                value = _capability_names(value)
            elif value is None or (key == "aliases" and not value):
                continue
            lines.append(f"{key} = {_toml(value)}")
    return "\n".join(lines) + "\n"
