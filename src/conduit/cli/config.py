"""`conduit config`: where Conduit keeps things and which keys it can see.

Shows the default model, the data and cache folders, the history and usage stores, the
user catalog, and for each provider the variable its key is read from and whether it is
set. Keys themselves are never printed: only "set" or "not set".

Example:
    >>> report = config_report({"OPENAI_API_KEY": "sk-secret", "CONDUIT_MODEL": "openai/gpt-4o"})
    >>> report["default_model"], report["providers"]["openai"]["key"]
    ('openai/gpt-4o', 'set')
    >>> "sk-secret" in str(report)
    False
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import click

__all__ = ["config_command", "config_report"]


def config_report(environ: Mapping[str, str]) -> dict[str, Any]:
    """What `conduit config` prints, as data (keys reported as set or not set only)."""
    from conduit.catalog import user_catalog_path
    from conduit.catalog.secrets import secrets_path, stored_names
    from conduit.cli.ask import MODEL_ENV
    from conduit.cli.settings import default_model, settings_path
    from conduit.providers.registry import get_provider, provider_names
    from conduit.storage.paths import data_dir, events_path, history_path

    stored = set(stored_names())
    providers: dict[str, dict[str, Any]] = {}
    for name in provider_names():
        spec = get_provider(name)
        entry: dict[str, Any] = {"key_variable": spec.key_env}
        if spec.key_env:
            found = "set" if environ.get(spec.key_env) else None
            entry["key"] = found or ("stored" if name in stored else "not set")
        else:
            entry["key"] = "not needed"
        if spec.base_url_env:
            entry["base_url_variable"] = spec.base_url_env
            entry["base_url"] = environ.get(spec.base_url_env) or spec.base_url
        else:
            entry["base_url"] = spec.base_url
        providers[name] = entry
    return {
        "default_model": default_model(environ),
        "default_model_variable": MODEL_ENV,
        "data_dir": str(data_dir()),
        "history_store": str(history_path()),
        "usage_store": str(events_path()),
        "user_catalog": str(user_catalog_path()),
        "stored_keys": str(secrets_path()),
        "settings": str(settings_path()),
        "providers": providers,
    }


@click.command("config")
@click.option("--json", "json_", is_flag=True, help="print JSON")
def config_command(json_: bool) -> int:
    """Show where keys and defaults live (keys are never printed)."""
    report = config_report(os.environ)
    if json_:
        click.echo(json.dumps(report, indent=2))
        return 0
    width = 16
    labels = ("default_model", "data_dir", "history_store", "usage_store", "user_catalog")
    for label in (*labels, "stored_keys", "settings"):
        click.echo(f"{label.replace('_', ' '):<{width}} {report[label]}")
    providers = report["providers"]
    names = max(len(name) for name in providers)
    keys = max(len(entry["key_variable"] or "-") for entry in providers.values())
    click.echo(f"\n{'provider':<{names}}  {'key variable':<{keys}}  key")
    for name, entry in providers.items():
        click.echo(f"{name:<{names}}  {entry['key_variable'] or '-':<{keys}}  {entry['key']}")
    return 0
