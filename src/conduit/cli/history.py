"""`conduit history`: the saved conversations.

`list` shows the newest conversations, `show ID` prints one, `search TEXT` finds
titles and messages, `delete ID` forgets one, `copy ID` branches one off, `prune
--days N` deletes those not updated for N days. The store is `history.sqlite3` in the
user data folder unless `--store` names another (a `postgresql://` URL included).

Example:
    >>> parser = argparse.ArgumentParser(prog="conduit")
    >>> add_parser(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["history", "search", "paris"]).text
    'paris'
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conduit.memory import MessageStore

__all__ = ["add_parser", "run_history"]


def add_parser(commands: Any) -> None:
    """Register `history` (list, show, search, delete, copy, prune) on the subcommands."""
    parser = commands.add_parser(
        "history",
        help="list, show, search and delete saved conversations",
        description=__doc__.split("\n\nExample:")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--store", help="history store URL or file (default: user data folder)")
    actions = parser.add_subparsers(dest="history_command", metavar="ACTION")
    listing = actions.add_parser("list", help="the newest conversations")
    listing.add_argument("-n", "--limit", type=int, default=20)
    show = actions.add_parser("show", help="print a conversation")
    show.add_argument("id")
    search = actions.add_parser("search", help="find titles and messages")
    search.add_argument("text")
    delete = actions.add_parser("delete", help="forget a conversation")
    delete.add_argument("id")
    copy = actions.add_parser("copy", help="branch a conversation off")
    copy.add_argument("id")
    copy.add_argument("--title")
    prune = actions.add_parser("prune", help="delete conversations not updated for DAYS days")
    prune.add_argument("--days", type=float, required=True)
    parser.set_defaults(run=run_history)
    parser.set_defaults(print_help=parser.print_help)


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
    action = _ACTIONS.get(args.history_command or "")
    if action is None:
        args.print_help(sys.stderr)
        return 2
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
