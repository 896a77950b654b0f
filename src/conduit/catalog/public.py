"""The catalog's breadth: thousands of models converted from well-kept public data.

Conduit's curated catalog (`models.toml`) lists the models we checked by hand. Under it
sits a generated file, `models_generated.json`, converted from LiteLLM's MIT-licensed
model map (`model_prices_and_context_window.json`: provider, context window, output
limit, capabilities and per-token prices of several thousand models) by
`scripts/build_catalog.py`, which calls `convert_model_map` here. Only models of
providers Conduit can call are kept, under Conduit's provider names (`vertex_ai` is
`vertex`, `together_ai` is `together`, ...); image, audio, rerank and other modes are
left out. The file records its source and the date it was made.

The file is compact JSON (one row per model) and is read on first catalog use only;
curated entries win over generated ones of the same name (or alias). `conduit models
update` refreshes it into the user cache directory when `CONDUIT_CATALOG_DATA_URL`
names a newer copy of the map (`refresh_public_catalog`).

Example:
    >>> data = convert_model_map({"gpt-x": {"litellm_provider": "openai", "mode": "chat",
    ...     "max_input_tokens": 8192, "input_cost_per_token": 1e-06,
    ...     "output_cost_per_token": 2e-06, "supports_function_calling": True}},
    ...     source="example", generated=datetime.date(2026, 1, 2))
    >>> [e.ref for e in generated_entries(data, "example")], data["generated"]
    (['openai/gpt-x'], '2026-01-02')
    >>> generated_entries(data, "example")[0].input_price
    1.0
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conduit.catalog.entries import CatalogEntry, ProviderDefaults, parse_providers
from conduit.errors import ValidationError

if TYPE_CHECKING:
    from conduit.core.protocols import Capabilities
    from conduit.transport import Transport

__all__ = [
    "COLUMNS",
    "DATA_URL_ENV",
    "GENERATED_FILE",
    "LISTED",
    "PROVIDERS",
    "VENDORS",
    "conduit_provider",
    "convert_model_map",
    "generated_entries",
    "load_generated",
    "refresh_public_catalog",
    "user_generated_path",
]

GENERATED_FILE = "models_generated.json"
"""The generated data file's name, in the package and in the user cache directory."""
DATA_URL_ENV = "CONDUIT_CATALOG_DATA_URL"
"""The variable naming a newer copy of the public model map (a URL or a file path) for
`conduit models update`."""

PROVIDERS: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "vertex_ai": "vertex",
    "vertex_ai-language-models": "vertex",
    "vertex_ai-anthropic_models": "vertex-anthropic",
    "bedrock": "bedrock",
    "bedrock_converse": "bedrock",
    "azure": "azure",
    "groq": "groq",
    "xai": "xai",
    "mistral": "mistral",
    "deepseek": "deepseek",
    "together_ai": "together",
    "openrouter": "openrouter",
    "perplexity": "perplexity",
    "ollama": "ollama",
}
"""LiteLLM's `litellm_provider` values -> Conduit's providers. Other providers keep
LiteLLM's name (less a `-...-models` suffix): their models are facts (limits, prices)
that Conduit cannot call, and their bare names resolve to them only when no provider
Conduit calls lists the name."""

LISTED = frozenset(PROVIDERS.values()) - {"azure"}
"""The providers whose generated models `conduit.catalog.models()` lists (and bare names
resolve to): those Conduit calls by model name. The rest are facts only (found by
`find_model`, priced by `cost_of`): providers Conduit cannot call, and Azure, whose
names in Conduit are your deployments' names, not the vendor's model names."""

# Providers that make the models they serve (a bare name two of these list is
# ambiguous); every other provider of the map is a reseller or aggregator
# (`platform = true`), which yields a bare name to the vendor that makes the model.
VENDORS = frozenset(
    {
        *("openai", "anthropic", "gemini", "mistral", "xai", "deepseek", "cohere", "ai21"),
        *("voyage", "jina_ai", "moonshot", "minimax", "zai", "dashscope", "perplexity"),
        *("meta_llama", "amazon_nova", "codestral", "local", "fake"),
    }
)
_ALIASES = {"cohere_chat": "cohere", "codestral": "mistral", "text-completion-codestral": "mistral"}
_PROVIDER_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")

# The prefixes LiteLLM writes before a model's name in its map, per Conduit provider.
_KEY_PREFIXES: dict[str, tuple[str, ...]] = {
    "vertex": ("vertex_ai/",),
    "vertex-anthropic": ("vertex_ai/",),
    "together": ("together_ai/",),
    "bedrock": ("bedrock/converse/", "bedrock/"),
}
# Providers whose names never hold a slash: a slashed key is a regional price variant.
_FLAT_NAMES = frozenset({"openai", "anthropic", "gemini", "bedrock", "azure", "vertex"})
_MODES = {"chat": "chat", "embedding": "embedding"}
# Capability columns: (Conduit's name, LiteLLM's flag).
_FLAGS = (
    ("tools", "supports_function_calling"),
    ("vision", "supports_vision"),
    ("audio", "supports_audio_input"),
    ("json_schema", "supports_response_schema"),
    ("audio_output", "supports_audio_output"),
)
COLUMNS = (
    "provider",
    "name",
    "kind",
    "context_window",
    "max_output_tokens",
    "capabilities",
    "input_price",
    "output_price",
    "cached_input_price",
    "cache_write_price",
    "status",
    "source",
)
"""The fields of each row of the generated file, in order."""


def conduit_provider(litellm_provider: str) -> str | None:
    """Conduit's name for a provider of LiteLLM's map (`vertex_ai-language-models` is
    `vertex`, `cohere_chat` is `cohere`); None for a value that is no provider name.

    Example:
        >>> conduit_provider("together_ai"), conduit_provider("fireworks_ai-embedding-models")
        ('together', 'fireworks_ai')
    """
    found = PROVIDERS.get(litellm_provider)
    if found is not None:
        return found
    name = _ALIASES.get(litellm_provider, litellm_provider)
    base, dash, rest = name.partition("-")
    if dash and rest.endswith("models"):
        name = PROVIDERS.get(base, base)
    return name if _PROVIDER_NAME.match(name) else None


def _name(key: str, provider: str, litellm_provider: str) -> str | None:
    for prefix in (f"{litellm_provider}/", *_KEY_PREFIXES.get(provider, ()), f"{provider}/"):
        if key.startswith(prefix):
            key = key[len(prefix) :]
            break
    if not key or (provider in _FLAT_NAMES and "/" in key):
        return None
    return key


def _per_million(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return round(float(value) * 1_000_000, 10)


def _tokens(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return int(value)


# Providers whose API constrains any model's output to a JSON Schema itself (Ollama's
# `format` is a grammar), whatever the model map says about the model.
_SCHEMA_BY_API = frozenset({"ollama"})


def _capabilities(spec: Mapping[str, Any], kind: str, provider: str) -> str:
    if kind == "embedding":
        return ""
    names = {"streaming", "json_mode"}
    names.update(name for name, flag in _FLAGS if spec.get(flag) is True)
    if provider in _SCHEMA_BY_API:
        names.add("json_schema")
    return ",".join(sorted(names))


def convert_model_map(
    raw: Mapping[str, Any],
    *,
    source: str,
    generated: datetime.date | None = None,
) -> dict[str, Any]:
    """LiteLLM's model map (the parsed JSON) as Conduit's generated catalog data: rows of
    `COLUMNS` for the chat and embedding models of providers Conduit can call, prices in
    USD per million tokens, the first entry kept when a name repeats.

    Example:
        >>> data = convert_model_map({"azure/gpt-x": {"litellm_provider": "azure",
        ...     "mode": "chat", "supports_vision": True}}, source="s")
        >>> data["models"][0][:3], data["models"][0][5]
        (['azure', 'gpt-x', 'chat'], 'json_mode,streaming,vision')
    """
    if not isinstance(raw, Mapping):
        raise ValidationError("the public model map must be a JSON object of model -> facts")
    day = generated or datetime.date.today()
    platforms: dict[str, bool] = {}
    rows: dict[tuple[str, str, str], list[Any]] = {}
    for key, spec in raw.items():
        if not isinstance(spec, Mapping) or not isinstance(key, str):
            continue
        litellm_provider = spec.get("litellm_provider")
        kind = _MODES.get(spec.get("mode") or "")
        if not isinstance(litellm_provider, str) or kind is None:
            continue
        provider = conduit_provider(litellm_provider)
        if provider is None:
            continue
        if provider not in PROVIDERS.values():
            platforms[provider] = provider not in VENDORS
        name = _name(key, provider, str(litellm_provider))
        if name is None or (provider, kind, name.lower()) in rows:
            continue
        deprecated = spec.get("deprecation_date")
        status = None
        if isinstance(deprecated, str):
            try:
                status = "deprecated" if datetime.date.fromisoformat(deprecated) <= day else None
            except ValueError:
                status = None
        cached = _per_million(spec.get("cache_read_input_token_cost"))
        price_in = _per_million(spec.get("input_cost_per_token"))
        if cached is not None and price_in is not None and cached > price_in:
            cached = None
        where = spec.get("source")
        rows[(provider, kind, name.lower())] = [
            provider,
            name,
            kind,
            _tokens(spec.get("max_input_tokens")),
            _tokens(spec.get("max_output_tokens")) if kind == "chat" else None,
            _capabilities(spec, kind, provider),
            price_in,
            _per_million(spec.get("output_cost_per_token")),
            cached,
            _per_million(spec.get("cache_creation_input_token_cost")),
            status,
            where if isinstance(where, str) and where.startswith("https://") else None,
        ]
    ordered = sorted(rows.values(), key=lambda r: (r[0], r[1], r[2]))
    return {
        "source": source,
        "license": "MIT (the model map's own license); converted by scripts/build_catalog.py",
        "generated": day.isoformat(),
        "columns": list(COLUMNS),
        "providers": {name: {"platform": flag} for name, flag in sorted(platforms.items())},
        "models": ordered,
    }


_capability_sets: dict[str, Capabilities] = {}


def _capability_set(names: str) -> Capabilities:
    found = _capability_sets.get(names)
    if found is None:
        from conduit.core.protocols import Capabilities

        listed = set(names.split(",")) if names else set()
        fields = [f.name for f in dataclasses.fields(Capabilities)]
        found = _capability_sets[names] = Capabilities(**{f: f in listed for f in fields})
    return found


def generated_entries(data: Mapping[str, Any], where: str) -> list[CatalogEntry]:
    """The `CatalogEntry`s of generated data (as `convert_model_map` makes it), each
    dated with the data's `generated` day and sourced to the model's page or the map.

    Example:
        >>> generated_entries({"generated": "2026-01-02", "source": "s", "models": []}, "x")
        []
    """
    try:
        day = datetime.date.fromisoformat(str(data["generated"]))
        rows = data["models"]
        default_source = str(data.get("source") or "")
        out = []
        for row in rows:
            (provider, name, kind, window, longest, caps, p_in, p_out, p_cached, p_write) = row[:10]
            status, source = row[10], row[11]
            out.append(
                CatalogEntry(
                    provider=provider,
                    name=name,
                    kind=kind,
                    capabilities=_capability_set(caps),
                    context_window=window,
                    max_output_tokens=longest,
                    input_price=p_in,
                    output_price=p_out,
                    cached_input_price=p_cached,
                    cache_write_price=p_write,
                    status=status,
                    checked=day,
                    source=source or default_source,
                )
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(
            f"cannot read the generated model catalog {where}: {exc!r}; "
            "rebuild it with scripts/build_catalog.py or delete it"
        ) from None
    return out


def user_generated_path(user_catalog: Path) -> Path:
    """Where `conduit models update` keeps a refreshed copy: beside the user catalog.

    Example:
        >>> user_generated_path(Path("/c/models.toml")).as_posix()
        '/c/models_generated.json'
    """
    return user_catalog.with_name(GENERATED_FILE)


def load_generated(
    packaged: Callable[[], str], user_catalog: Path
) -> tuple[list[CatalogEntry], dict[str, ProviderDefaults], str]:
    """The generated entries and provider tables: the user's refreshed copy when there is
    one and it is newer than the packaged file, else the packaged file (`packaged()`).

    Example:
        >>> entries, providers, where = load_generated(lambda: '{"generated": "2026-01-01", '
        ...     '"source": "s", "models": [], "providers": {"acme": {"platform": true}}}',
        ...     Path("/nonexistent/models.toml"))
        >>> entries, providers["acme"].platform, where
        ([], True, 'the packaged models_generated.json')
    """
    data = json.loads(packaged())
    where = f"the packaged {GENERATED_FILE}"
    user = user_generated_path(user_catalog)
    if user.is_file():
        try:
            newer = json.loads(user.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValidationError(
                f"cannot read the model catalog {user}: {exc}; fix or delete the file"
            ) from None
        if str(newer.get("generated", "")) >= str(data.get("generated", "")):
            data, where = newer, str(user)
    providers = parse_providers({"providers": data.get("providers") or {}}, where)
    return generated_entries(data, where), providers, where


async def refresh_public_catalog(
    location: str,
    output: Path,
    *,
    transport: Transport | None = None,
    today: datetime.date | None = None,
) -> int:
    """Read the public model map at `location` (an `https://` URL through Conduit's
    transport, or a file path), convert it and write `output` (a user copy that the
    catalog prefers to the packaged file while it is newer). Returns the models kept.

    Example:
        >>> import asyncio, tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "map.json").write_text('{"gpt-x": {"litellm_provider": "openai",'
        ...                                      ' "mode": "chat"}}')
        >>> asyncio.run(refresh_public_catalog(str(folder / "map.json"),
        ...                                    folder / GENERATED_FILE))
        1
    """
    if location.startswith(("http://", "https://")):
        from conduit.transport import AiohttpTransport, HTTPClient, RetryPolicy, Timeout

        owned = transport is None
        used = transport or AiohttpTransport(timeout=Timeout(connect=5.0, read=60.0))
        try:
            client = HTTPClient(used, provider="catalog", retry=RetryPolicy(max_retries=1))
            raw = await client.get_json(location)
        finally:
            if owned:
                await used.aclose()
        source = location
    else:
        try:
            text = await asyncio.to_thread(Path(location).read_text, encoding="utf-8")
            raw = json.loads(text)
        except (OSError, ValueError) as exc:
            raise ValidationError(f"cannot read the public model map {location}: {exc}") from None
        source = Path(location).name
    data = convert_model_map(raw, source=source, generated=today)
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    text = json.dumps(data, separators=(",", ":"))
    await asyncio.to_thread(temporary.write_text, text, encoding="utf-8")
    os.replace(temporary, output)
    return len(data["models"])
