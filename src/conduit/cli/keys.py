"""`conduit keys create/list/revoke`: the gateway's virtual keys.

The secret is printed once, at creation; only its hash is stored. The key store is the
gateway's `database` (from `--config`, or `--database`, or the default file in the
user data folder).

Example:
    >>> from click.testing import CliRunner
    >>> sorted(keys.commands)
    ['create', 'list', 'revoke']
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from conduit.cli.params import MONEY, RATE, WINDOW

if TYPE_CHECKING:
    from conduit.storage.keys import KeyStore

__all__ = ["keys"]

_T = TypeVar("_T")


def _database(ctx: click.Context) -> str:
    from conduit.server.config import default_config, load_config

    database: str | None = ctx.obj.get("database")
    if database:
        return database
    path = ctx.obj.get("config")
    return (load_config(path) if path else default_config()).database


def _with_store(ctx: click.Context, work: Callable[[KeyStore], Awaitable[_T]]) -> _T:
    from conduit.errors import ConduitError
    from conduit.storage.keys import open_key_store

    async def run() -> _T:
        store = open_key_store(_database(ctx))
        try:
            return await work(store)
        finally:
            await store.aclose()

    try:
        return asyncio.run(run())
    except ConduitError as exc:
        click.echo(f"conduit: error: {exc}", err=True)
        sys.exit(1)


@click.group()
@click.option("--config", type=click.Path(dir_okay=False), default=None, help="Gateway config.")
@click.option("--database", default=None, help="SQLite file or postgresql:// URL of the keys.")
@click.pass_context
def keys(ctx: click.Context, config: str | None, database: str | None) -> None:
    """Create, list and revoke the gateway's virtual keys."""
    ctx.obj = {"config": config, "database": database}


@keys.command()
@click.option("--name", default=None, help="A label for the key.")
@click.option("--model", "models", multiple=True, help="A model group it may call (repeat).")
@click.option("--max-budget", type=MONEY, default=None, help="USD it may spend per window.")
@click.option(
    "--budget-window", type=WINDOW, default=None, help="The budget's window: 30d, 1h, ..."
)
@click.option("--rpm", type=RATE, default=None, help="Requests per minute.")
@click.option("--tpm", type=RATE, default=None, help="Tokens per minute.")
@click.option("--user", default=None, help="The user its requests are recorded for.")
@click.option("--tag", "tags", multiple=True, help="A tag recorded with its requests (repeat).")
@click.option("--expires", type=WINDOW, default=None, help="It stops working after: 30d, 12h, ...")
@click.option(
    "--max-parallel-requests", type=RATE, default=None, help="Requests in flight at once."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def create(
    ctx: click.Context,
    name: str | None,
    models: tuple[str, ...],
    max_budget: float | None,
    budget_window: str | None,
    rpm: int | None,
    tpm: int | None,
    user: str | None,
    tags: tuple[str, ...],
    expires: str | None,
    max_parallel_requests: int | None,
    as_json: bool,
) -> None:
    """Create a key and print its secret (shown only this once)."""
    import time

    from conduit.cli.params import Window
    from conduit.storage.keys import new_key

    expires_at = None if expires is None else time.time() + Window.seconds(expires)

    async def work(store: KeyStore) -> tuple[Any, str]:
        key, secret = new_key(
            name=name,
            models=models,
            max_budget=max_budget,
            budget_window=budget_window,
            rpm=rpm,
            tpm=tpm,
            user=user,
            tags=tags,
            expires_at=expires_at,
            max_parallel_requests=max_parallel_requests,
        )
        await store.add(key, secret)
        return key, secret

    key, secret = _with_store(ctx, work)
    if as_json:
        click.echo(json.dumps({**key.public(), "key": secret}))
        return
    click.echo(secret)
    click.echo(f"created {key.id}; the key above is shown only now, keep it safe", err=True)


def _when(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


@keys.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked keys.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_keys(ctx: click.Context, include_revoked: bool, as_json: bool) -> None:
    """List keys (never their secrets)."""
    found = _with_store(ctx, lambda store: store.list(include_revoked=include_revoked))
    if as_json:
        click.echo(json.dumps([k.public() for k in found]))
        return
    if not found:
        click.echo("no keys; create one with `conduit keys create`", err=True)
        return
    for k in found:
        limits = ", ".join(
            part
            for part in (
                f"models={','.join(k.models)}" if k.models else "",
                f"budget=${k.max_budget}/{k.budget_window or 'ever'}" if k.max_budget else "",
                f"rpm={k.rpm}" if k.rpm else "",
                f"tpm={k.tpm}" if k.tpm else "",
            )
            if part
        )
        revoked = f" revoked {_when(k.revoked_at)}" if k.revoked_at else ""
        click.echo(
            f"{k.id}  {k.prefix}…  {k.name or '-'}  {_when(k.created_at)}{revoked}  {limits}"
        )


@keys.command()
@click.argument("key_id")
@click.pass_context
def revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke the key KEY_ID (its requests get 401 from then on)."""
    if not _with_store(ctx, lambda store: store.revoke(key_id)):
        click.echo(f"conduit: error: no active key {key_id!r} (see `conduit keys list`)", err=True)
        sys.exit(1)
    click.echo(f"revoked {key_id}", err=True)
