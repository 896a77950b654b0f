"""Settings from a `.env` file, as the framework's users keep their keys.

`load_env()` reads `KEY=VALUE` lines (python-dotenv's syntax: comments, `export`,
quotes, `${VAR}` expansion) from a `.env` file, by default the nearest one in the current
folder or above, into `os.environ`. A variable that is already set is never overridden,
and values are never logged or returned: only the names that were set. The framework's
`Model` calls it once per process (`load_env_once`); `CONDUIT_NO_DOTENV=1` turns that off.

The parser is python-dotenv (`pip install "conduit[dotenv]"`): small, pure Python,
without dependencies, and the de-facto definition of the format, so a `.env` file means
here what it means to every other tool that reads it. Without it the automatic load is
skipped (a debug log line says so); an explicit `load_env()` raises
`MissingDependencyError`.

Example:
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with open(f"{folder}/.env", "w") as file:
    ...     _ = file.write("DEMO_TOKEN_A=from-file\\nexport DEMO_TOKEN_B='kept'\\n")
    >>> os.environ["DEMO_TOKEN_B"] = "already set"
    >>> load_env(f"{folder}/.env")
    ['DEMO_TOKEN_A']
    >>> os.environ["DEMO_TOKEN_A"], os.environ["DEMO_TOKEN_B"]
    ('from-file', 'already set')
    >>> del os.environ["DEMO_TOKEN_A"], os.environ["DEMO_TOKEN_B"]
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from conduit.errors import MissingDependencyError, ValidationError

__all__ = ["DOTENV_INSTALL_HINT", "NO_DOTENV_ENV", "load_env", "load_env_once"]

DOTENV_INSTALL_HINT = 'pip install "conduit[dotenv]"'
NO_DOTENV_ENV = "CONDUIT_NO_DOTENV"

_log = logging.getLogger("conduit.framework.env")
_once = threading.Lock()
_done = False


def _dotenv() -> Any:
    try:
        import dotenv
    except ImportError:
        raise MissingDependencyError(
            f"reading .env files needs python-dotenv; install it with: {DOTENV_INSTALL_HINT}"
        ) from None
    return dotenv


def load_env(path: str | os.PathLike[str] | None = None) -> list[str]:
    """Set the variables of a `.env` file that are not set yet; returns their names
    (sorted). `path` None: the nearest `.env` in the current folder or above (none
    found: nothing to do). A named file that does not exist is a `ValidationError`.

    Example:
        >>> import tempfile
        >>> load_env(f"{tempfile.mkdtemp()}/none.env")
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: no .env file at .../none.env...
    """
    dotenv = _dotenv()
    if path is None:
        found = dotenv.find_dotenv(usecwd=True)
        if not found:
            return []
        where = str(found)
    else:
        where = os.fspath(path)
        if not os.path.isfile(where):
            raise ValidationError(f"no .env file at {where}")
    values: dict[str, str | None] = dotenv.dotenv_values(where)
    added = sorted(
        name for name, value in values.items() if value is not None and name not in os.environ
    )
    for name in added:
        value = values[name]
        assert value is not None
        os.environ[name] = value
    _log.debug("read %d variable(s) from %s", len(added), where)  # names only, no values
    return added


def load_env_once() -> None:
    """`load_env()` the first time it is called in this process (unless
    `$CONDUIT_NO_DOTENV` is set); without python-dotenv, nothing (a debug log line).

    Example:
        >>> load_env_once()
    """
    global _done
    if _done:
        return
    with _once:
        if _done:
            return
        _done = True
        if os.environ.get(NO_DOTENV_ENV):
            return
        try:
            load_env()
        except MissingDependencyError:
            _log.debug(".env not read: python-dotenv is not installed (%s)", DOTENV_INSTALL_HINT)
        except (OSError, ValidationError) as exc:
            _log.warning(".env not read: %s", type(exc).__name__)
