"""`conduit logs`: the prompts and answers the command line kept, newest last.

Every `conduit ask` and `conduit chat` exchange is kept in the one history store
(`history.sqlite3` in the data folder; `--no-log` or `$CONDUIT_NO_LOG=1` keeps nothing).
`-q WORDS` finds exchanges holding every word (SQLite full-text search), `-m MODEL`,
`--cid ID`, `--since`/`--until DATE` (UTC) filter them, `--json` prints them as JSON.
`conduit ask -c` goes on with the latest conversation, `--cid ID` with another.

Example:
    >>> from click.testing import CliRunner
    >>> "--query" in CliRunner().invoke(logs_command, ["--help"]).output
    True
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from conduit.errors import ValidationError

if TYPE_CHECKING:
    from conduit.storage.history import StoredMessage

__all__ = ["Exchange", "exchanges", "logs_command"]

_DATE = click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"])


@dataclass(frozen=True, slots=True)
class Exchange:
    """A prompt and the answer to it, as `conduit logs` shows them.

    Example:
        >>> Exchange("c1", 2, "2026-01-01T00:00:00+00:00", "fake/echo", "hi", "hi",
        ...          None, None).model
        'fake/echo'
    """

    conversation_id: str
    position: int
    time: str
    model: str | None
    prompt: str
    response: str
    usage: dict[str, int] | None
    cost: float | None

    def to_dict(self) -> dict[str, Any]:
        """The exchange as JSON-ready data."""
        return {
            "conversation_id": self.conversation_id,
            "position": self.position,
            "time": self.time,
            "model": self.model,
            "prompt": self.prompt,
            "response": self.response,
            "usage": self.usage,
            "cost": self.cost,
        }


def exchanges(found: list[StoredMessage], rows: dict[str, list[StoredMessage]]) -> list[Exchange]:
    """The exchanges the messages `found` belong to (each answer with the prompt before
    it), oldest first; `rows` holds each conversation's messages.

    Example:
        >>> exchanges([], {})
        []
    """
    seen: dict[tuple[str, int], tuple[datetime, Exchange]] = {}
    for message in found:
        conversation = rows[message.conversation_id]
        at = message.position + (1 if message.message.role == "user" else 0)
        answer = next((m for m in conversation if m.position == at), None)
        if answer is None or answer.message.role != "assistant":
            continue
        prompt = next((m for m in conversation if m.position == at - 1), None)
        model = (
            f"{answer.provider}/{answer.model}"
            if answer.provider and answer.model
            else answer.model
        )
        seen[(message.conversation_id, at)] = (
            answer.created_at,
            Exchange(
                message.conversation_id,
                at,
                answer.created_at.isoformat(timespec="seconds"),
                model,
                prompt.message.text if prompt is not None else "",
                answer.message.text,
                answer.usage.model_dump(include={"input_tokens", "output_tokens"})
                if answer.usage
                else None,
                answer.cost,
            ),
        )
    ordered = sorted(seen.values(), key=lambda pair: (pair[0], pair[1].position))
    return [exchange for _, exchange in ordered]


@click.command("logs")
@click.option("-q", "--query", help="only exchanges holding all these words (full-text search)")
@click.option("-m", "--model", help="only answers by this model (name or provider/name)")
@click.option("--cid", help="only this conversation")
@click.option("--since", type=_DATE, help="only from this date/time on (UTC)")
@click.option("--until", type=_DATE, help="only before this date/time (UTC)")
@click.option("-n", "--limit", type=click.IntRange(1), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print the exchanges as JSON")
@click.option("--store", help="history store file (default: the user data folder)")
def logs_command(
    query: str | None,
    model: str | None,
    cid: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    as_json: bool,
    store: str | None,
) -> int:
    """Show logged prompts and answers (newest last); search and filter them."""
    from conduit.core.sync import run_sync
    from conduit.memory import message_store

    history = message_store(store)
    find = getattr(history, "find", None)
    if find is None:
        run_sync(history.aclose())
        raise ValidationError(
            "conduit logs reads a SQLite history store — use `conduit history` for this one"
        )

    async def read() -> list[Exchange]:
        try:
            found: list[StoredMessage] = await find(
                query,
                model=model,
                conversation_id=cid,
                since=since.replace(tzinfo=UTC) if since else None,
                until=until.replace(tzinfo=UTC) if until else None,
                limit=limit * 2,
            )
            rows = {c: await history.load(c) for c in {m.conversation_id for m in found}}
        finally:
            await history.aclose()
        return exchanges(found, rows)[-limit:]

    shown = run_sync(read())
    if as_json:
        click.echo(json.dumps([e.to_dict() for e in shown], ensure_ascii=False, indent=2))
        return 0
    if not shown:
        click.echo(
            "nothing found" if (query or model or cid or since or until) else "nothing logged yet"
        )
    for exchange in shown:
        click.echo(
            f"## {exchange.time} · {exchange.model or 'unknown model'} · "
            f"conversation {exchange.conversation_id}"
        )
        click.echo(f"> {exchange.prompt}")
        click.echo(exchange.response)
        click.echo()
    return 0
