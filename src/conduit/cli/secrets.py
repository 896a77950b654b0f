"""`conduit secrets set|list|remove`: provider API keys kept in the config folder.

`set` reads the key from a hidden prompt (or from stdin when piped), never from the
command line (where it would land in the shell's history) and never echoes it. The
file is 0600. Every command and `conduit.model()` read a stored key when no key is given
and the provider's variable is not set. `list` shows provider names only.

Example:
    >>> from click.testing import CliRunner
    >>> CliRunner().invoke(secrets, ["list"]).output  # nothing stored yet
    'no stored keys — add one with: conduit secrets set PROVIDER\\n'
"""

from __future__ import annotations

import sys

import click

from conduit.errors import ValidationError

__all__ = ["secrets"]


@click.group("secrets")
def secrets() -> None:
    """Provider API keys stored in the config folder (names only are ever shown)."""


@secrets.command("set")
@click.argument("provider")
def _set(provider: str) -> None:
    """Store the API key for PROVIDER (typed at a hidden prompt, or piped on stdin)."""
    from conduit.catalog.secrets import secrets_path, store_key

    if sys.stdin is not None and not sys.stdin.isatty():
        key = sys.stdin.readline().strip()
    else:
        key = click.prompt(f"{provider} API key", hide_input=True, err=True)
    if not key.strip():
        raise ValidationError("no key was given — paste it at the prompt or pipe it in")
    store_key(provider, key)
    click.echo(f"stored the {provider.strip().lower()} key in {secrets_path()}", err=True)


@secrets.command("list")
def _list() -> None:
    """The providers that have a stored key (never the keys)."""
    from conduit.catalog.secrets import stored_names

    names = stored_names()
    if not names:
        click.echo("no stored keys — add one with: conduit secrets set PROVIDER")
    for name in names:
        click.echo(name)


@secrets.command("remove")
@click.argument("provider")
def _remove(provider: str) -> None:
    """Forget the stored key for PROVIDER."""
    from conduit.catalog.secrets import remove_key

    if not remove_key(provider):
        raise ValidationError(
            f"no stored key for {provider!r} — 'conduit secrets list' shows the stored ones"
        )
    click.echo(f"removed the {provider.strip().lower()} key", err=True)
