"""The usage odometer: tokens, cost and time of every answer, per session, conversation
and across runs, added up by provider, model, day, tag or conversation.

`OdometerRegistry` (with `SessionOdometer` and `ConversationOdometer`) is the framework
face's view: `Model._odometer_registry` counts every answer, and the ledger keeps it.

Example:
    >>> from conduit.schema import Response, Usage
    >>> session = Odometer(tag="docs")
    >>> _ = session.record_response(Response(model="gpt-4o", provider="openai",
    ...                                      usage=Usage(input_tokens=5, output_tokens=1)))
    >>> row = session.totals(by=["provider", "tag"])[0]
    >>> row.key, row.total_tokens
    (('openai', 'docs'), 6)
"""

from conduit.odometer.odometer import (
    Odometer,
    PersistentOdometer,
    UsageReport,
    event_from_response,
    stats,
    stats_sync,
)
from conduit.odometer.registry import ConversationOdometer, OdometerRegistry, SessionOdometer
from conduit.storage.events import EventFilter, EventStore, TokenEvent, UsageRow
from conduit.storage.events_postgres import PostgresEventStore
from conduit.storage.events_sqlite import SQLiteEventStore
from conduit.storage.migrations import SchemaVersionError, StorageError

__all__ = [
    "ConversationOdometer",
    "EventFilter",
    "EventStore",
    "Odometer",
    "OdometerRegistry",
    "PersistentOdometer",
    "PostgresEventStore",
    "SQLiteEventStore",
    "SchemaVersionError",
    "SessionOdometer",
    "StorageError",
    "TokenEvent",
    "UsageReport",
    "UsageRow",
    "event_from_response",
    "stats",
    "stats_sync",
]
