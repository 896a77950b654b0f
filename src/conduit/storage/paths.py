"""Where Conduit keeps the user's own data (history, usage): not a cache, never pruned.
The user's config folder (settings, templates, stored keys) is `config_dir()`
(`$CONDUIT_CONFIG_DIR`, else `$XDG_CONFIG_HOME/conduit`, else `~/.config/conduit`).

`$CONDUIT_DATA_DIR`, else `$XDG_DATA_HOME/conduit`, else `~/.local/share/conduit`
(the XDG Base Directory specification's data home).

Example:
    >>> import os
    >>> os.environ["CONDUIT_DATA_DIR"] = "/tmp/conduit-data"
    >>> str(data_dir()), str(history_path()), str(events_path())
    ('/tmp/conduit-data', '/tmp/conduit-data/history.sqlite3', '/tmp/conduit-data/usage.sqlite3')
    >>> del os.environ["CONDUIT_DATA_DIR"]
"""

from __future__ import annotations

import os
from pathlib import Path

from conduit.catalog.secrets import config_dir

__all__ = ["config_dir", "data_dir", "events_path", "history_path"]


def data_dir() -> Path:
    """Conduit's data folder (created by the stores on first write, not here)."""
    explicit = os.environ.get("CONDUIT_DATA_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "conduit"


def history_path() -> Path:
    """The default conversation history file."""
    return data_dir() / "history.sqlite3"


def events_path() -> Path:
    """The default usage (odometer) file."""
    return data_dir() / "usage.sqlite3"
