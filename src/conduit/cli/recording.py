"""Every model call a command makes is recorded in the one usage ledger, which
`conduit usage` reads.

`conduit ask`, `chat`, `batch` and `rag ask` open the ledger
(`conduit.storage.ledger.open_ledger()`: `$CONDUIT_LEDGER`, else `usage.sqlite3` in the
data folder) and put the `RecordUsage` interceptor around their model, tagged `cli` and
the command's name. `--no-log` on each of them, or `CONDUIT_NO_LOG=1` in the
environment, records nothing.

`--timeout SECONDS` (on the same commands) puts the one `Timeout` inside it, so a call
that runs out of time is recorded as failed.

Example:
    >>> from conduit.providers.fake import MockModel
    >>> command_model(MockModel(), None, command="ask").model_info.ref  # nothing to add
    'fake/mock'
    >>> logging_off(False, {"CONDUIT_NO_LOG": "1"}), logging_off(False, {})
    (True, False)
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from conduit.cli.params import SECONDS

if TYPE_CHECKING:
    from conduit.core.protocols import ChatModel
    from conduit.storage.events import EventStore
    from conduit.storage.recorder import UsageRecorder

__all__ = [
    "NO_LOG_ENV",
    "TAG",
    "build_model",
    "command_model",
    "logging_off",
    "no_log_option",
    "timeout_option",
    "usage_ledger",
]

NO_LOG_ENV = "CONDUIT_NO_LOG"
TAG = "cli"
"""The tag every call from the command line is recorded with (`conduit usage --tag cli`)."""

_TRUE = {"1", "true", "yes", "on"}


def build_model(ref: str) -> ChatModel:
    """The model for `ref`, checked against the catalog first, so a mistyped name
    (`openai/gpt-40`) is "unknown model — did you mean ...?", not a missing key.

    Example:
        >>> build_model("fake/echo").model_info.ref
        'fake/echo'
        >>> build_model("openai/gpt-40")  # with no OPENAI_API_KEY set  # doctest: +SKIP
        Traceback (most recent call last):
        ...
        conduit.errors.NotFoundError: ...Did you mean 'openai/gpt-4o'...
    """
    from conduit import api
    from conduit.cli.settings import resolve_alias
    from conduit.errors import AuthenticationError

    ref = resolve_alias(ref)
    try:
        return api.model(ref)
    except AuthenticationError as exc:
        missing = exc
    api.validate_model(ref)  # a name the catalog does not know says so first
    raise missing


no_log_option = click.option(
    "--no-log",
    is_flag=True,
    help=(
        f"log nothing: no usage in the ledger, no exchange in `conduit logs` (also ${NO_LOG_ENV}=1)"
    ),
)


timeout_option = click.option(
    "--timeout",
    type=SECONDS,
    default=None,
    metavar="SECONDS",
    help="most seconds each call to the model may take",
)


def logging_off(no_log: bool, environ: Mapping[str, str] | None = None) -> bool:
    """True when `--no-log` was given or `$CONDUIT_NO_LOG` is set to 1/true/yes/on.

    Example:
        >>> logging_off(True, {}), logging_off(False, {"CONDUIT_NO_LOG": "0"})
        (True, False)
    """
    env = os.environ if environ is None else environ
    return no_log or env.get(NO_LOG_ENV, "").strip().lower() in _TRUE


@contextmanager
def usage_ledger(no_log: bool) -> Iterator[EventStore | None]:
    """The one usage ledger, open for the command and closed after it (None with
    `--no-log` or `$CONDUIT_NO_LOG`).

    Example:
        >>> with usage_ledger(no_log=True) as store:
        ...     store is None
        True
    """
    if logging_off(no_log):
        yield None
        return
    from conduit.core.sync import run_sync
    from conduit.storage.ledger import open_ledger

    store = open_ledger()
    try:
        yield store
    finally:
        run_sync(store.aclose())


def command_model(
    model: ChatModel,
    ledger: EventStore | UsageRecorder | None,
    *,
    command: str,
    timeout: float | None = None,
    **labels: Any,
) -> ChatModel:
    """`model` as a command calls it: `RecordUsage` around it when there is a `ledger`
    (tag `cli`, tags `[command]`, and `labels` such as `conversation_id`), and the
    `Timeout` of `timeout` seconds inside; `model` itself when neither applies.

    Example:
        >>> from conduit.providers.fake import MockModel
        >>> from conduit.storage.events_sqlite import SQLiteEventStore
        >>> store = SQLiteEventStore(":memory:")
        >>> command_model(MockModel(), store, command="ask", timeout=30).interceptors
        (RecordUsage(tag='cli', tags=('ask',)), TimeLimit(total=30.0, read=600.0))
    """
    from conduit.core.policy import Timeout
    from conduit.interceptors import RecordUsage, with_interceptors

    chain: list[object] = []
    if ledger is not None:
        chain.append(RecordUsage(ledger, tag=TAG, tags=[command], **labels))
    limit = Timeout.of(timeout)
    if limit is not None:
        chain.append(limit)
    return with_interceptors(model, chain) if chain else model
