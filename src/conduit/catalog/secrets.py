"""Provider API keys stored in the user's config folder (`conduit secrets set openai`).

`resolve_key` reads them after an explicit key and the environment variable, so a key
stored once works from the command line and from Python alike. The file is
`<config dir>/secrets.json`, written with mode 0600 (only the owner can read it); keys
are never logged, shown or put in errors — only provider names are listed.

The config folder is `$CONDUIT_CONFIG_DIR`, else `$XDG_CONFIG_HOME/conduit`, else
`~/.config/conduit` (the XDG Base Directory specification's config home).

Example:
    >>> import os, tempfile
    >>> before = os.environ.get("CONDUIT_CONFIG_DIR")
    >>> os.environ["CONDUIT_CONFIG_DIR"] = tempfile.mkdtemp()
    >>> store_key("acme", "sk-acme-123")
    >>> stored_names(), stored_key("acme")
    (['acme'], 'sk-acme-123')
    >>> oct(secrets_path().stat().st_mode & 0o777)
    '0o600'
    >>> remove_key("acme"), stored_names()
    (True, [])
    >>> if before is None: del os.environ["CONDUIT_CONFIG_DIR"]
    ... else: os.environ["CONDUIT_CONFIG_DIR"] = before
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from conduit.errors import ValidationError

__all__ = ["config_dir", "remove_key", "secrets_path", "store_key", "stored_key", "stored_names"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def config_dir() -> Path:
    """Conduit's config folder (created when something is saved into it, not here).

    Example:
        >>> before = os.environ.get("CONDUIT_CONFIG_DIR")
        >>> os.environ["CONDUIT_CONFIG_DIR"] = "/tmp/conduit-config"
        >>> str(config_dir())
        '/tmp/conduit-config'
        >>> if before is None: del os.environ["CONDUIT_CONFIG_DIR"]
        ... else: os.environ["CONDUIT_CONFIG_DIR"] = before
    """
    explicit = os.environ.get("CONDUIT_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "conduit"


def secrets_path() -> Path:
    """The stored keys' file.

    Example:
        >>> secrets_path().name
        'secrets.json'
    """
    return config_dir() / "secrets.json"


def _load() -> dict[str, str]:
    try:
        data = json.loads(secrets_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(name): str(value) for name, value in data.items() if isinstance(value, str)}


def _write(keys: dict[str, str]) -> None:
    path = secrets_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written to a 0600 temporary file beside it and renamed over it: the key is never
    # readable by others, not even for a moment, and a crash leaves the old file whole.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secrets-", suffix=".tmp")
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(dict(sorted(keys.items())), file, indent=2)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _checked(provider: str) -> str:
    name = provider.strip().lower()
    if not _NAME.match(name):
        raise ValidationError(
            f"a provider name is one word like 'openai', not {provider[:40]!r} — "
            "see 'conduit plugins' for the names"
        )
    return name


def store_key(provider: str, key: str) -> None:
    """Keep `key` for `provider` (replacing any stored one).

    Example:
        >>> store_key("acme", "  ")
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: the key is empty — paste the key itself
    """
    value = key.strip()
    if not value:
        raise ValidationError("the key is empty — paste the key itself")
    keys = _load()
    keys[_checked(provider)] = value
    _write(keys)


def stored_key(provider: str | None) -> str | None:
    """The stored key for `provider`, or None.

    Example:
        >>> stored_key(None) is None
        True
    """
    if not provider:
        return None
    return _load().get(provider.strip().lower())


def stored_names() -> list[str]:
    """The providers that have a stored key (names only, never the keys).

    Example:
        >>> isinstance(stored_names(), list)
        True
    """
    return sorted(_load())


def remove_key(provider: str) -> bool:
    """Forget the stored key for `provider`; False when there was none.

    Example:
        >>> remove_key("no-such-provider")
        False
    """
    keys = _load()
    if keys.pop(_checked(provider), None) is None:
        return False
    _write(keys)
    return True
