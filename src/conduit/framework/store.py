"""`MessageStore`: the framework's conversation history, a `Messages` list that keeps
itself in the core history store.

`history_file` names the store (`conduit.memory.message_store`: a SQLite file, or a
`postgresql://` URL); the messages are one conversation there (`conversation_id`,
`"messagestore"` by default). With `auto_save` (the default) every change is saved at
once: an addition at the end is appended in one transaction, any other change rewrites
the conversation. `log_file`, when given, gets a plain transcript line per message
saved. With `pruning`, only the last 20 messages (and the system message) are kept.

Example:
    >>> import tempfile
    >>> path = f"{tempfile.mkdtemp()}/history.sqlite3"
    >>> store = MessageStore(history_file=path)
    >>> _ = store.add_new("user", "Remember: the code word is heron.")
    >>> _ = store.add_new("assistant", "Noted.")
    >>> store.close()
    >>> again = MessageStore(history_file=path)
    >>> [m.text for m in again], again.get(1).role
    (['Remember: the code word is heron.', 'Noted.'], 'user')
    >>> again.close()
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from conduit.core.sync import run_sync
from conduit.memory import Messages, message_store
from conduit.memory import MessageStore as HistoryStore
from conduit.schema import Message, Response

__all__ = ["DEFAULT_CONVERSATION", "KEEP_LAST", "MessageStore"]

DEFAULT_CONVERSATION = "messagestore"
KEEP_LAST = 20
"""How many messages `prune()` keeps (the system message comes on top)."""


class MessageStore(Messages):
    """A conversation as a list (every `list` method, with turn order kept valid) that
    saves itself in the core history store.

    Example:
        >>> store = MessageStore()  # no history_file: in memory only
        >>> _ = store.add_new("system", "Be brief.")
        >>> _ = store.add_new("user", "Hi")
        >>> store.system_message.text, store.get(2).text, store.get(3)
        ('Be brief.', 'Hi', None)
    """

    def __init__(
        self,
        messages: Iterable[Message | dict[str, Any]] | None = None,
        console: Any = None,
        history_file: str | os.PathLike[str] = "",
        log_file: str | os.PathLike[str] = "",
        pruning: bool = False,
        auto_save: bool = True,
        *,
        conversation_id: str = DEFAULT_CONVERSATION,
    ) -> None:
        super().__init__(messages or ())
        self.console = console
        self.history_file = os.fspath(history_file)
        self.log_file = os.fspath(log_file)
        self.pruning = pruning
        self.auto_save = auto_save
        self.conversation_id = conversation_id
        self._store: HistoryStore | None = (
            message_store(self.history_file) if self.history_file else None
        )
        self._saved: list[Message] = []
        if self._store is not None:
            given = list(self._items)
            self.load()
            if given:
                self._items = given  # messages passed in win over the stored ones
                self._changed()

    # -- persistence -----------------------------------------------------------------

    @property
    def store(self) -> HistoryStore | None:
        """The core history store (None without a `history_file`)."""
        return self._store

    def load(self) -> None:
        """Replace the messages with those saved in the history store (none yet: empty)."""
        if self._store is None:
            return
        store, cid = self._store, self.conversation_id

        async def read() -> list[Message]:
            from conduit.memory import ConversationNotFoundError

            try:
                await store.get(cid)
            except ConversationNotFoundError:
                return []
            return await store.messages(cid)

        found = run_sync(read())
        self._items = found
        self._saved = list(found)

    def save(self) -> None:
        """Write the messages to the history store (and the new ones to `log_file`)."""
        items = list(self._items)
        if self._store is not None:
            store, cid, saved = self._store, self.conversation_id, self._saved

            async def write() -> None:
                from conduit.memory import ConversationNotFoundError

                try:
                    await store.get(cid)
                    exists = True
                except ConversationNotFoundError:
                    exists = False
                if exists and len(saved) <= len(items) and items[: len(saved)] == saved:
                    fresh = items[len(saved) :]  # only additions at the end: append them
                else:
                    if exists:
                        await store.delete(cid)
                    await store.create("MessageStore", id=cid)
                    fresh = items
                if fresh:
                    await store.append(cid, *fresh)

            run_sync(write())
        self._log(items)
        self._saved = items

    def _log(self, items: list[Message]) -> None:
        if not self.log_file:
            return
        saved = self._saved
        new = items[len(saved) :] if items[: len(saved)] == saved else items
        if not new:
            return
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with Path(self.log_file).open("a", encoding="utf-8") as file:
            if new is items and saved:
                file.write(f"[{stamp}] --- the conversation was rewritten\n")
            for message in new:
                file.write(f"[{stamp}] {message.role}: {message.text}\n")

    def close(self) -> None:
        """Release the history store's connection.

        Example:
            >>> MessageStore().close()
        """
        if self._store is not None:
            run_sync(self._store.aclose())
            self._store = None

    def _changed(self) -> None:
        if self.pruning and len(self._items) > KEEP_LAST + 1:
            self.prune()
            return
        if self.auto_save and (self._store is not None or self.log_file):
            self.save()

    # -- every change goes through these ---------------------------------------------

    def append(self, value: Message) -> None:
        """Add a message at the end (saved at once with `auto_save`)."""
        super().append(value)
        self._changed()

    def insert(self, index: int, value: Message) -> None:
        """Insert a message (saved at once with `auto_save`)."""
        super().insert(index, value)
        self._changed()

    def __setitem__(self, index: Any, value: Any) -> None:
        super().__setitem__(index, value)
        self._changed()

    def __delitem__(self, index: int | slice) -> None:
        super().__delitem__(index)
        self._changed()

    def extend(self, values: Iterable[Message]) -> None:
        """Add messages at the end (one save)."""
        items = list(self._items)
        for value in values:
            Messages.append(self, value)
        if self._items != items:
            self._changed()

    def clear(self) -> None:
        """Remove every message (saved at once with `auto_save`).

        Example:
            >>> store = MessageStore([Message(role="user", content="hi")])
            >>> store.clear()
            >>> len(store)
            0
        """
        self._items = []
        self._changed()

    def _system_changed(self) -> None:
        self._changed()

    # -- the framework's helpers -------------------------------------------------------

    def add_response(self, response: Response) -> None:
        """Add the exchange a `Response` holds: the last user message it answered (when
        it is not already the last message here) and the answer.

        Example:
            >>> from conduit.schema import user
            >>> store = MessageStore()
            >>> store.add_response(Response(content="4", request_messages=[user("2+2?")]))
            >>> [m.role for m in store]
            ['user', 'assistant']
        """
        from conduit.media.messages import TextMessage, as_framework_message

        before = list(self._items)
        prompt = next(
            (m for m in reversed(response.request_messages or []) if m.role == "user"), None
        )
        if prompt is not None and (not self._items or self._items[-1] != prompt):
            # (framework messages equal core ones with the same fields)
            Messages.append(self, prompt)
        parsed = response.parsed
        answer = (
            TextMessage(role="assistant", content=parsed)
            if parsed is not None
            else as_framework_message(response.to_message())
        )
        try:
            Messages.append(self, answer)
        except Exception:
            self._items = before
            raise
        self._changed()

    def query_failed(self) -> None:
        """Take back the last message when it is a user message (its query failed).

        Example:
            >>> store = MessageStore([Message(role="user", content="hi")])
            >>> store.query_failed()
            >>> len(store)
            0
        """
        if self._items and self._items[-1].role == "user":
            del self[-1]

    def get(self, index: int) -> Message | None:
        """The message at 1-based `index` (1 is the first), or None."""
        if 1 <= index <= len(self._items):
            return self._items[index - 1]
        return None

    def copy(self) -> MessageStore:
        """A copy that is not saved anywhere.

        Example:
            >>> MessageStore([Message(role="user", content="hi")]).copy().history_file
            ''
        """
        return MessageStore(list(self._items), console=self.console, pruning=self.pruning)

    def prune(self) -> None:
        """Keep only the last 20 messages (and the system message), never starting with
        a tool result cut off from its call.

        Example:
            >>> store = MessageStore([Message(role="user", content=str(n)) for n in range(30)])
            >>> store.prune()
            >>> len(store), store[0].text
            (20, '10')
        """
        head = [m for m in self._items[:1] if m.role == "system"]
        rest = self._items[len(head) :][-KEEP_LAST:]
        while rest and rest[0].role == "tool":
            rest = rest[1:]
        kept = [*head, *rest]
        if kept != self._items:
            self._items = kept
            if self.auto_save and (self._store is not None or self.log_file):
                self.save()

    def view_history(self) -> None:
        """Print the conversation, one numbered message each (the console, else
        standard output).

        Example:
            >>> MessageStore([Message(role="user", content="hi")]).view_history()
            1. user: hi
        """
        lines = [f"{n}. {m.role}: {m.text}" for n, m in enumerate(self._items, 1)]
        text = "\n".join(lines) if lines else "(no messages)"
        if self.console is not None and hasattr(self.console, "print"):
            self.console.print(text, markup=False)
        else:
            sys.stdout.write(text + "\n")

    def __repr__(self) -> str:
        where = f", history_file={self.history_file!r}" if self.history_file else ""
        return f"MessageStore({len(self._items)} messages{where})"
