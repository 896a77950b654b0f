"""The framework's odometers: `SessionOdometer`, `ConversationOdometer` and the
`OdometerRegistry` that routes each `TokenEvent` to them and to the usage ledger.

The registry is the framework face's view of usage (`Model._odometer_registry`): the
session's totals in memory, one odometer per registered conversation, and
`persistent_odometer`, a `PersistentOdometer` over the one usage ledger (what `conduit
usage` reads; `$CONDUIT_LEDGER` may point it at PostgreSQL). Nothing is kept twice:
answers to `Model.query` are written to the ledger by the `RecordUsage` interceptor and
only *counted* here (`count`); an event you make yourself goes through
`emit_token_event`, which counts it and writes it through the same recorder type into
the same ledger. Memory is bounded: each odometer keeps its latest events (10,000 by
default) and the registry its latest 1,000 conversations.

Example:
    >>> registry = OdometerRegistry(ledger=":memory:")
    >>> chat = registry.register_conversation_odometer("c1")
    >>> _ = registry.emit_token_event(
    ...     TokenEvent(provider="openai", model="gpt-4o", input_tokens=7, conversation_id="c1"))
    >>> registry.session_odometer.total().input_tokens, chat.total().events
    (7, 1)
    >>> registry.close()
"""

from __future__ import annotations

from collections import OrderedDict

from conduit.core.checks import check_count
from conduit.core.sync import run_sync
from conduit.odometer.ledger import LedgerInput, check_ledger
from conduit.odometer.odometer import DEFAULT_MAX_EVENTS, Odometer, PersistentOdometer
from conduit.storage.events import TokenEvent

__all__ = ["ConversationOdometer", "OdometerRegistry", "SessionOdometer"]


class SessionOdometer(Odometer):
    """This process's usage, in memory (the latest `max_events` events kept; `total()`
    exact).

    Example:
        >>> SessionOdometer().max_events
        10000
    """

    def __repr__(self) -> str:
        return f"SessionOdometer(events={len(self.events)})"


class ConversationOdometer(Odometer):
    """One conversation's usage: stamps its id on the events it records and passes
    each one up to `parent` (the session), when it has one.

    Example:
        >>> session = SessionOdometer()
        >>> chat = ConversationOdometer("c7", parent=session)
        >>> event = chat.record(TokenEvent(provider="p", model="m", output_tokens=2))
        >>> event.conversation_id, session.total().output_tokens
        ('c7', 2)
    """

    def __init__(
        self,
        conversation_id: str,
        *,
        parent: Odometer | None = None,
        tag: str | None = None,
        max_events: int = DEFAULT_MAX_EVENTS,
    ) -> None:
        super().__init__(
            tag=tag, conversation_id=conversation_id, parent=parent, max_events=max_events
        )

    def __repr__(self) -> str:
        return f"ConversationOdometer({self.conversation_id!r}, events={len(self.events)})"


class OdometerRegistry:
    """Routes token events to the session odometer, the conversation odometers and the
    usage ledger.

    - `session_odometer`: every event of this process (in memory, bounded).
    - `conversation_odometers`: `{conversation_id: ConversationOdometer}` for the
      conversations registered with `register_conversation_odometer` (the latest
      `max_conversations` kept).
    - `persistent_odometer`: a `PersistentOdometer` over `ledger` (by default the one
      usage ledger), opened on first use; None when `ledger=False`.

    `emit_token_event(event)` counts an event and writes it to the ledger;
    `count(event)` only counts one that is already there (what `Model` does for each
    answer, which `RecordUsage` recorded). `aemit_token_event` is the async twin; use
    one of the two per registry (a PostgreSQL ledger stays with its event loop).

    Example:
        >>> registry = OdometerRegistry(ledger=False)
        >>> _ = registry.emit_token_event(TokenEvent(provider="p", model="m", input_tokens=1))
        >>> registry.session_odometer.total().events, registry.persistent_odometer is None
        (1, True)
    """

    def __init__(self, *, ledger: LedgerInput = None, max_conversations: int = 1000) -> None:
        self._ledger = check_ledger(ledger)
        self.max_conversations = check_count(max_conversations, "max_conversations")
        self.session_odometer = SessionOdometer()
        self.conversation_odometers: OrderedDict[str, ConversationOdometer] = OrderedDict()
        self._persistent: PersistentOdometer | None = None

    @property
    def persistent_odometer(self) -> PersistentOdometer | None:
        """The ledger's odometer (opened on first use), or None when `ledger=False`."""
        if self._persistent is None and self._ledger is not False:
            store = None if self._ledger is None or self._ledger is True else self._ledger
            self._persistent = PersistentOdometer(store)
        return self._persistent

    def register_conversation_odometer(self, conversation_id: str) -> ConversationOdometer:
        """The odometer of `conversation_id` (made on first call): events that carry this
        conversation id are counted there too.

        Example:
            >>> registry = OdometerRegistry(ledger=False)
            >>> registry.register_conversation_odometer("c1") is (
            ...     registry.register_conversation_odometer("c1"))
            True
        """
        found = self.conversation_odometers.get(conversation_id)
        if found is None:
            found = ConversationOdometer(conversation_id, parent=None)
            self.conversation_odometers[conversation_id] = found
            while len(self.conversation_odometers) > self.max_conversations:
                self.conversation_odometers.popitem(last=False)
        else:
            self.conversation_odometers.move_to_end(conversation_id)
        return found

    def count(self, event: TokenEvent) -> TokenEvent:
        """Count an event already in the ledger: in the session, and in its
        conversation's odometer when that conversation is registered."""
        self.session_odometer.record(event)
        if event.conversation_id is not None:
            conversation = self.conversation_odometers.get(event.conversation_id)
            if conversation is not None:
                conversation.record(event)
        return event

    def emit_token_event(self, event: TokenEvent) -> TokenEvent:
        """Count `event` and write it to the ledger (through the sync bridge).

        Example:
            >>> registry = OdometerRegistry(ledger=":memory:")
            >>> _ = registry.emit_token_event(TokenEvent(provider="p", model="m"))
            >>> run_sync(registry.persistent_odometer.store.count())
            1
            >>> registry.close()
        """
        return run_sync(self.aemit_token_event(event))

    async def aemit_token_event(self, event: TokenEvent) -> TokenEvent:
        """`emit_token_event` from async code."""
        persistent = self.persistent_odometer
        if persistent is not None:
            await persistent.recorder.record(event)
        return self.count(event)

    async def aclose(self) -> None:
        """Close the ledger the registry opened (written up to the last event)."""
        persistent, self._persistent = self._persistent, None
        if persistent is not None:
            await persistent.aclose()

    def close(self) -> None:
        """`aclose` from synchronous code."""
        run_sync(self.aclose())

    def __repr__(self) -> str:
        return (
            f"OdometerRegistry(events={self.session_odometer.total().events}, "
            f"conversations={len(self.conversation_odometers)})"
        )
