"""Both backends (SQLite and a PostgreSQL server the tests start) for one suite."""

from tests.support.stores import backend, store_url

__all__ = ["backend", "store_url"]
