"""`conduit models`: the model catalog on the command line.

`conduit models list` prints the catalog: every model Conduit knows, its limits and its
prices in USD per million tokens (`-` where no price is recorded). `conduit models
update` asks the providers which models they serve (OpenAI, Anthropic, Gemini and the
OpenAI-compatible vendors whose key is set, and Ollama if it is running) and writes them
to a user catalog that is merged over the packaged one. Known models keep their curated
prices.

Example:
    >>> build_sources({"OPENAI_API_KEY": "sk-test"}, provider="openai")[0][0].url
    'https://api.openai.com/v1/models'
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from conduit.errors import APIConnectionError, ValidationError

if TYPE_CHECKING:
    from conduit.catalog.refresh import ListSource
    from conduit.catalog.registry import CatalogEntry
    from conduit.transport import Transport

__all__ = [
    "CAPABILITIES",
    "OFFLINE_FAKES",
    "build_sources",
    "entry_dict",
    "format_table",
    "make_transport",
    "models_command",
    "run_list",
    "run_update",
]

# The capability flags `models list --capability` filters on (fields of `Capabilities`).
CAPABILITIES = (
    "streaming",
    "tools",
    "vision",
    "audio",
    "json_mode",
    "json_schema",
    "image_output",
    "audio_output",
)


@click.group("models", no_args_is_help=True)
def models_command() -> None:
    """List the model catalog, refresh it from the providers, add local GGUF files."""


@models_command.command("list")
@click.option("-p", "--provider", help="only this provider's models")
@click.option("--kind", type=click.Choice(["chat", "embedding"]), help="only this kind")
@click.option(
    "-c",
    "--capability",
    "capabilities",
    multiple=True,
    type=click.Choice(CAPABILITIES),
    help="only models with this capability (repeatable: all of them)",
)
@click.option("--json", "json_", is_flag=True, help="print JSON instead of a table")
def _list_command(
    provider: str | None, kind: str | None, capabilities: tuple[str, ...], json_: bool
) -> int:
    """Print the catalog (prices: USD per million tokens)."""
    return run_list(
        argparse.Namespace(
            provider=provider, kind=kind, capabilities=list(capabilities), json=json_
        )
    )


@models_command.command("update")
@click.option("-p", "--provider", help="only this provider")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="the catalog file to write (default: your user catalog)",
)
def _update_command(provider: str | None, output: Path | None) -> int:
    """Add the models the providers list to your catalog file."""
    return run_update(argparse.Namespace(provider=provider, output=output))


@models_command.command("add")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--alias", required=True, help="the name to use: -m local/ALIAS")
@click.option(
    "--chat-format",
    help="'chatml' or a Jinja template, for a GGUF file without a chat template of its own",
)
def _add_command(path: Path, alias: str, chat_format: str | None) -> int:
    """Register a local GGUF model file under a name (its chat template is read from
    the file)."""
    from conduit.providers.local.files import register_gguf

    target = register_gguf(path, alias, chat_format=chat_format)
    name = alias.strip().lower()
    print(f"local/{name} → {target}")
    print(f'try: conduit ask -m local/{name} "What is 2+2?"')
    return 0


@models_command.command("default")
@click.argument("name", required=False)
@click.option("--clear", is_flag=True, help="go back to the built-in default")
def _default_command(name: str | None, clear: bool) -> int:
    """Show the default model, or make NAME the default (used with no -m and no
    $CONDUIT_MODEL)."""
    import os

    from conduit.cli.settings import default_model, set_default_model

    if name and clear:
        raise ValidationError("give a model or --clear, not both")
    if name or clear:
        set_default_model(None if clear else name)
    print(default_model(os.environ))
    return 0


def entry_dict(entry: CatalogEntry) -> dict[str, Any]:
    """An entry as plain JSON-ready data.

    Example:
        >>> from conduit.catalog import find_model
        >>> entry_dict(find_model("openai/gpt-4o"))["capabilities"][:2]
        ['streaming', 'tools']
    """
    from dataclasses import fields

    data: dict[str, Any] = {"ref": entry.ref}
    for f in fields(entry):
        value = getattr(entry, f.name)
        if f.name == "capabilities":
            value = [c.name for c in fields(value) if getattr(value, c.name)]
        elif f.name == "aliases":
            value = list(value)
        elif f.name == "checked" and value is not None:
            value = value.isoformat()
        data[f.name] = value
    return data


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def format_table(entries: list[CatalogEntry]) -> str:
    """The catalog as an aligned text table (prices: USD per 1M tokens).

    Example:
        >>> from conduit.catalog import models
        >>> table = format_table(models("local", kind="chat")).splitlines()
        >>> table[0].split()[:3], table[1].split()[:3]
        (['MODEL', 'KIND', 'CONTEXT'], ['local/smollm2-135m-instruct', '(local/default)', 'chat'])
    """
    header = ["MODEL", "KIND", "CONTEXT", "MAX OUT", "INPUT", "CACHED", "OUTPUT", "STATUS"]
    rows = [[*header, "CHECKED"]]
    for e in entries:
        aliases = [a for a in e.aliases if "/" not in a and a.isidentifier()]
        rows.append(
            [
                e.ref + "".join(f" ({e.provider}/{a})" for a in aliases[:1]),
                e.kind,
                _number(e.default_context_window or e.context_window),
                _number(e.max_output_tokens),
                _number(e.input_price),
                _number(e.cached_input_price),
                _number(e.output_price),
                e.status or "",
                e.checked.isoformat() if e.checked else "",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) + 1)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def run_list(args: argparse.Namespace) -> int:
    """Print the catalog (a table, or JSON with `--json`)."""
    from conduit.catalog import models

    entries = models(args.provider, args.kind)
    wanted = getattr(args, "capabilities", None) or []
    entries = [e for e in entries if all(getattr(e.capabilities, c) for c in wanted)]
    if args.provider and not entries and not wanted:
        from conduit.providers.registry import get_provider

        get_provider(args.provider.lower())  # an unknown provider is an error with hints
    if args.json:
        print(json.dumps([entry_dict(e) for e in entries], indent=2))
    elif entries:
        print(format_table(entries))
        print("\nprices: USD per million tokens; - means not recorded")
    elif not _shows_fakes(args):
        print("the catalog lists no such models")
    if not args.json and (args.provider or "local").lower() == "local":
        from conduit.providers.local.files import registered_ggufs

        added = registered_ggufs()
        if added:
            print("\nyour local models (conduit models add):")
            for name, entry in sorted(added.items()):
                print(f"  local/{name}  {entry['path']}")
    if not args.json and _shows_fakes(args):
        print("\noffline fakes, no key (for tests and examples):")
        for ref, what in OFFLINE_FAKES:
            print(f"  {ref:<11} {what}")
    return 0


OFFLINE_FAKES = (
    ("fake/echo", "chat: answers with your last message"),
    ("fake/hash", "embedding: vectors from a hash of the text"),
    ("fake/image", "image: a solid-colour PNG"),
    ("fake/speech", "speech: a short WAV tone"),
)
"""Models that are not in the catalog but always work, offline."""


def _shows_fakes(args: argparse.Namespace) -> bool:
    provider = (args.provider or "").lower()
    return provider in {"", "fake"} and not getattr(args, "capabilities", None)


def make_transport() -> Transport | None:
    """The transport `update` sends through; None means aiohttp. Tests replace this."""
    return None


def build_sources(
    environ: Mapping[str, str], provider: str | None = None
) -> tuple[list[ListSource], list[str]]:
    """The providers `update` can list now, and a note for each one skipped.

    Only providers whose key is set are listed (Ollama needs none). With `provider`,
    that provider or an error saying what is missing.
    """
    from conduit.catalog import catalog_providers
    from conduit.catalog.refresh import ListSource
    from conduit.errors import AuthenticationError
    from conduit.providers.registry import get_provider

    apis = {name: d.list_api for name, d in catalog_providers().items() if d.list_api}
    if provider is not None:
        provider = provider.lower()
        get_provider(provider)
        if provider not in apis:
            raise ValidationError(
                f"{provider} has no model list Conduit can read; "
                f"`conduit models update` can list: {', '.join(sorted(apis))}"
            )
        apis = {provider: apis[provider]}
    sources: list[ListSource] = []
    notes: list[str] = []
    for name, api in sorted(apis.items()):
        spec = get_provider(name)
        key = (environ.get(spec.key_env) or "").strip() if spec.key_env else ""
        if not key and api != "ollama":
            if provider is not None:
                raise AuthenticationError(
                    f"listing {name}'s models needs a key: set {spec.key_env}", provider=name
                )
            notes.append(f"{name}: skipped (set {spec.key_env} to list its models)")
            continue
        base = (environ.get(spec.base_url_env) or "").strip() if spec.base_url_env else ""
        if api == "ollama" and base:
            from conduit.providers.ollama.connection import ollama_base_url

            base = ollama_base_url(base)
        sources.append(ListSource(name, api, base or spec.base_url or "", key or None))
    return sources, notes


def run_update(args: argparse.Namespace) -> int:
    """Refresh the catalog from the providers' model lists and write the user file."""
    import os

    from conduit.catalog import user_catalog_path
    from conduit.catalog.refresh import refresh_catalog
    from conduit.core.sync import run_sync

    sources, notes = build_sources(os.environ, args.provider)
    for note in notes:
        print(note)
    output = args.output or user_catalog_path()
    results = run_sync(refresh_catalog(sources, output, transport=make_transport()))
    failed = False
    for result, source in zip(results, sources, strict=True):
        if result.error is None:
            line = f"{result.provider}: {result.listed} listed, {len(result.added)} new"
            print(f"{line}, {len(result.updated)} updated")
            for name in result.added:
                print(f"  + {result.provider}/{name}")
        elif (
            source.api == "ollama"
            and isinstance(result.error, APIConnectionError)
            and args.provider is None
        ):
            print(f"ollama: not running at {source.base_url}; skipped")
        else:
            failed = True
            print(f"conduit: error: {result.provider}: {result.error}", file=sys.stderr)
    if any(r.ok for r in results):
        print(f"wrote {output}")
    elif not failed:
        print(
            "conduit: nothing to update: set a provider's key (OPENAI_API_KEY, "
            "ANTHROPIC_API_KEY, GEMINI_API_KEY, ...) or start Ollama",
            file=sys.stderr,
        )
        return 1
    return 1 if failed else 0
