"""The framework face: Conduit's framework API as its users write it every day.

`Model` / `ModelAsync` (`query`, `query_async`), `SyncConduit` / `AsyncConduit` (prompt
+ model + parser), `Request`, `MessageStore`, and `load_env` for `.env` files. Each
only translates onto the core: a `Response` here is `conduit.schema.Response`, an error
is a `conduit.errors.ConduitError` (returned as a value by `query` and `run`), usage goes
to the one ledger through `RecordUsage` and is counted in `Model._odometer_registry`
(`conduit.odometer.OdometerRegistry`), the history is the core history store, batches run
on `conduit.batch`. The message types (`TextMessage`, `ImageMessage`, `AudioMessage`) live
in `conduit.media`, `Messages` in `conduit.memory`, `Parser` in `conduit.structured`.

Example:
    >>> from conduit.framework import Model
    >>> Model("fake/echo", ledger=False).query("hello").content
    'hello'
"""

from conduit.framework.conduits import AsyncConduit, SyncConduit
from conduit.framework.env import load_env
from conduit.framework.model import Model, ModelAsync, session_odometer
from conduit.framework.request import Request
from conduit.framework.store import MessageStore

__all__ = [
    "AsyncConduit",
    "MessageStore",
    "Model",
    "ModelAsync",
    "Request",
    "SyncConduit",
    "load_env",
    "session_odometer",
]
