"""`conduit plugins`: the providers Conduit knows, built in or added by installed
`conduit.providers` plugins, and the plugins that failed to load (by name, with why).

Example:
    >>> from click.testing import CliRunner
    >>> result = CliRunner().invoke(plugins_command, ["--json"])
    >>> result.exit_code
    0
"""

from __future__ import annotations

import json
from typing import Any

import click

__all__ = ["plugin_rows", "plugins_command"]


def plugin_rows() -> dict[str, Any]:
    """The report `conduit plugins` prints: providers (with their source and key
    variable) and failed plugins."""
    from conduit.providers.registry import get_provider, plugin_status, provider_names

    status = plugin_status()
    source = {name: s.distribution or s.name for s in status for name in s.providers}
    providers = []
    for name in provider_names():
        spec = get_provider(name)
        providers.append(
            {
                "prefix": name,
                "source": source.get(name, "built-in"),
                "key_env": spec.key_env,
                "models": [m.get("name") for m in spec.models],
                "description": spec.description,
            }
        )
    failed = [
        {"plugin": s.name, "entry_point": s.value, "distribution": s.distribution, "error": s.error}
        for s in status
        if s.error
    ]
    return {"providers": providers, "failed": failed}


@click.command("plugins")
@click.option("--json", "json_", is_flag=True, help="print JSON instead of a table")
def plugins_command(json_: bool) -> None:
    """List providers (built-in and from plugins) and plugins that failed to load."""
    report = plugin_rows()
    if json_:
        click.echo(json.dumps(report, indent=2))
        return
    rows = [(p["prefix"], p["source"], p["key_env"] or "-") for p in report["providers"]]
    widths = [max(len(r[i]) for r in [("PREFIX", "SOURCE", "KEY"), *rows]) for i in range(3)]
    for row in [("PREFIX", "SOURCE", "KEY"), *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    for failure in report["failed"]:
        click.echo(
            f"plugin {failure['plugin']!r} ({failure['entry_point']}) failed to load: "
            f"{failure['error']}",
            err=True,
        )
