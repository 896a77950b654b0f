"""`conduit history`: the saved conversations.

`list` shows the newest conversations, `show ID` prints one, `search TEXT` finds
titles and messages, `delete ID` forgets one, `copy ID` branches one off, `prune
--days N` deletes those not updated for N days. The store is `history.sqlite3` in the
user data folder unless `--store` names another (a `postgresql://` URL included).

Example:
    >>> sorted(history_command.commands)
    ['copy', 'delete', 'list', 'prune', 'search', 'show']
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from conduit.memory import MessageStore

__all__ = ["history_command", "run_history"]


_STORE = click.option("--store", help="history store URL or file (default: user data folder)")


@click.group("history", no_args_is_help=True)
def history_command() -> None:
    """List, show, search and delete saved conversations."""


def _action(name: str, **params: Any) -> int:
    return run_history(argparse.Namespace(history_command=name, **params))


@history_command.command("list")
@click.option("-n", "--limit", type=int, default=20, help="how many (newest first)")
@_STORE
def _list_command(limit: int, store: str | None) -> int:
    """The newest conversations."""
    return _action("list", limit=limit, store=store)


@history_command.command("show")
@click.argument("id")
@_STORE
def _show_command(id: str, store: str | None) -> int:
    """Print a conversation."""
    return _action("show", id=id, store=store)


@history_command.command("search")
@click.argument("text")
@_STORE
def _search_command(text: str, store: str | None) -> int:
    """Find titles and messages."""
    return _action("search", text=text, store=store)


@history_command.command("delete")
@click.argument("id")
@_STORE
def _delete_command(id: str, store: str | None) -> int:
    """Forget a conversation."""
    return _action("delete", id=id, store=store)


@history_command.command("copy")
@click.argument("id")
@click.option("--title", help="the copy's title")
@_STORE
def _copy_command(id: str, title: str | None, store: str | None) -> int:
    """Branch a conversation off."""
    return _action("copy", id=id, title=title, store=store)


@history_command.command("prune")
@click.option("--days", type=float, required=True, help="not updated for DAYS days")
@_STORE
def _prune_command(days: float, store: str | None) -> int:
    """Delete conversations not updated for DAYS days."""
    return _action("prune", days=days, store=store)


async def _list(store: MessageStore, args: argparse.Namespace) -> None:
    for c in await store.conversations(limit=args.limit):
        when = c.updated_at.strftime("%Y-%m-%d %H:%M")
        print(f"{c.id}  {when}  {c.message_count:>4} msgs  {c.title or '(untitled)'}")


async def _show(store: MessageStore, args: argparse.Namespace) -> None:
    header = await store.get(args.id)
    print(f"# {header.title or '(untitled)'} ({header.id})")
    for m in await store.load(args.id):
        extra = f"  [{m.model}, {m.usage.total_tokens} tokens]" if m.model and m.usage else ""
        print(f"{m.message.role}: {m.message.text}{extra}")


async def _search(store: MessageStore, args: argparse.Namespace) -> None:
    hits = await store.search(args.text)
    for h in hits:
        where = "title" if h.position is None else f"#{h.position}"
        print(f"{h.conversation_id}  {where:>6}  {h.text[:100]}")
    if not hits:
        print("nothing found")


async def _delete(store: MessageStore, args: argparse.Namespace) -> None:
    print("deleted" if await store.delete(args.id) else f"no conversation {args.id!r}")


async def _copy(store: MessageStore, args: argparse.Namespace) -> None:
    print((await store.copy(args.id, args.title)).id)


async def _prune(store: MessageStore, args: argparse.Namespace) -> None:
    print(f"deleted {await store.prune(timedelta(days=args.days))} conversation(s)")


_ACTIONS: dict[str, Callable[[MessageStore, argparse.Namespace], Awaitable[None]]] = {
    "list": _list,
    "show": _show,
    "search": _search,
    "delete": _delete,
    "copy": _copy,
    "prune": _prune,
}


def run_history(args: argparse.Namespace) -> int:
    """Run one history action."""
    action = _ACTIONS[args.history_command]
    from conduit.core.sync import run_sync
    from conduit.memory import message_store

    async def go() -> None:
        store = message_store(args.store)
        try:
            await action(store, args)
        finally:
            await store.aclose()

    run_sync(go())
    return 0
