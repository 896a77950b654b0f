"""Conversations the command line keeps in the one history store, so `conduit ask -c`
(or `--cid ID`) and `conduit chat --continue` go on where they stopped.

A conversation's setup: the system prompt is its first message, the model is the one
that wrote the last answer (stored with every answer), and its call options
(`temperature`, `max_tokens`, `top_p`, `seed`, `stop`, `-o` extras) are kept on the
conversation itself (`kept_options`, `MessageStore.set_options`). Flags given on the
call that goes on win over every one of them.

Example:
    >>> from conduit.schema import Response, TextBlock, system, user
    >>> from conduit.storage.history import StoredMessage, to_datetime
    >>> rows = [
    ...     StoredMessage("c1", 0, system("Be a pirate."), to_datetime(0)),
    ...     StoredMessage("c1", 1, user("Hi"), to_datetime(0)),
    ...     StoredMessage("c1", 2, Response(content=[TextBlock(text="Arr")]).to_message(),
    ...                   to_datetime(0), "echo", "fake"),
    ... ]
    >>> setup = Resumed.of("c1", rows)
    >>> setup.system, setup.model, [m.role for m in setup.messages]
    ('Be a pirate.', 'fake/echo', ['user', 'assistant'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conduit.errors import ValidationError

if TYPE_CHECKING:
    from conduit.memory import MessageStore
    from conduit.schema import Message
    from conduit.storage.history import StoredMessage

__all__ = ["KEPT_OPTIONS", "Resumed", "kept_options", "merge_options", "remember_options", "resume"]

KEPT_OPTIONS = ("temperature", "max_tokens", "top_p", "seed", "stop", "extra")
"""The call options a conversation keeps (a `--schema`'s `response_format` is one call's)."""


def merge_options(saved: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """`given` options over `saved` ones (a provider's own `extra` ones merged too).

    Example:
        >>> merge_options({"temperature": 0.3, "extra": {"a": 1}},
        ...               {"temperature": 0.9, "extra": {"b": 2}})
        {'temperature': 0.9, 'extra': {'a': 1, 'b': 2}}
    """
    options = {**saved, **given}
    if "extra" in saved and "extra" in given:
        options["extra"] = {**saved["extra"], **given["extra"]}
    return options


def kept_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options a conversation goes on with: those of `KEPT_OPTIONS` that are set.

    Example:
        >>> kept_options({"temperature": 0.3, "response_format": {}, "seed": None})
        {'temperature': 0.3}
    """
    return {k: options[k] for k in KEPT_OPTIONS if options.get(k) not in (None, {}, [])}


@dataclass(slots=True)
class Resumed:
    """A stored conversation, ready to go on: its id, system prompt, model (as
    `provider/name`, None when it has no answer yet), the other messages and the call
    options it goes on with ({} when none were kept)."""

    id: str
    system: str | None = None
    model: str | None = None
    messages: list[Message] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        conversation_id: str,
        rows: Sequence[StoredMessage],
        options: Mapping[str, Any] | None = None,
    ) -> Resumed:
        """The setup a conversation's stored messages (and kept `options`) hold."""
        found = cls(conversation_id, options=kept_options(options or {}))
        for row in rows:
            if row.message.role == "system":
                found.system = found.system or row.message.text
                continue
            found.messages.append(row.message)
            if row.message.role == "assistant" and row.model:
                found.model = f"{row.provider}/{row.model}" if row.provider else row.model
        return found


async def resume(store: MessageStore, conversation_id: str | None) -> Resumed:
    """The conversation `conversation_id`, else the newest one; `ValidationError` when
    there is none to continue."""
    if conversation_id is None:
        newest = await store.conversations(limit=1)
        if not newest:
            raise ValidationError(
                "no conversation to continue — ask something first, without -c/--continue"
            )
        conversation_id = newest[0].id
    header = await store.get(conversation_id)  # ConversationNotFoundError names the way out
    return Resumed.of(conversation_id, await store.load(conversation_id), header.options)


async def remember_options(
    store: MessageStore, conversation_id: str, before: Mapping[str, Any], now: Mapping[str, Any]
) -> None:
    """Keep `now`'s options on the conversation when they differ from those it had
    (`before`), so the next `-c` goes on with the last ones used.

    Example:
        >>> import asyncio
        >>> from conduit.memory import SQLiteMessageStore
        >>> async def main():
        ...     store = SQLiteMessageStore(":memory:")
        ...     chat = await store.create("t", options={"temperature": 0.3})
        ...     await remember_options(store, chat.id, {"temperature": 0.3}, {"seed": 1})
        ...     found = (await store.get(chat.id)).options
        ...     await store.aclose()
        ...     return found
        >>> asyncio.run(main())
        {'seed': 1}
    """
    if kept_options(now) != kept_options(before):
        await store.set_options(conversation_id, kept_options(now))
