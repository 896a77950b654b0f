"""Versioned schema migrations for the history and usage stores, and their errors.

Each store (a *component*: `"history"`, `"events"`) has an ordered list of migrations per
backend. The version a database is at lives in one table, `conduit_schema` (component,
version). Opening a store applies the missing migrations in one transaction, under a
lock, so two processes opening an old file at once migrate it once. A database whose
version is newer than this Conduit knows is refused with `SchemaVersionError`: writing
to a schema we do not understand could lose data silently.

Example:
    >>> check_version("events", found=3, latest=2)
    Traceback (most recent call last):
    ...
    conduit.errors.SchemaVersionError: the events tables are at schema version 3, ...
    >>> check_version("events", found=1, latest=2)
    [2]
"""

from __future__ import annotations

from dataclasses import dataclass

from conduit.errors import SchemaVersionError, StorageError

__all__ = [
    "Migration",
    "SCHEMA_TABLE",
    "SchemaVersionError",
    "StorageError",
    "check_version",
    "pending",
]

SCHEMA_TABLE = "conduit_schema"


@dataclass(frozen=True, slots=True)
class Migration:
    """One step: the statements that take a component from `version - 1` to `version`.

    Example:
        >>> Migration(1, ("CREATE TABLE t (x INTEGER)",)).version
        1
    """

    version: int
    statements: tuple[str, ...]


def check_version(component: str, *, found: int, latest: int) -> list[int]:
    """The versions still to apply to go from `found` to `latest`; raises
    `SchemaVersionError` when `found` is newer than `latest`."""
    if found > latest:
        raise SchemaVersionError(
            f"the {component} tables are at schema version {found}, newer than this "
            f"Conduit knows ({latest}); upgrade conduit to read them"
        )
    return list(range(found + 1, latest + 1))


def pending(component: str, migrations: tuple[Migration, ...], found: int) -> list[Migration]:
    """The migrations to apply to a database at version `found`, in order.

    Example:
        >>> steps = (Migration(1, ("A",)), Migration(2, ("B",)))
        >>> [m.version for m in pending("demo", steps, 1)]
        [2]
    """
    wanted = set(check_version(component, found=found, latest=migrations[-1].version))
    return [m for m in migrations if m.version in wanted]
