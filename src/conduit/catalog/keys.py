"""API keys: given, else from the environment, else stored (`conduit secrets set`), with
an error that names the variable to set."""

from __future__ import annotations

import os

from conduit.catalog.secrets import stored_key
from conduit.errors import AuthenticationError

__all__ = ["require_key", "resolve_key"]


def resolve_key(
    explicit: str | None, env_var: str | None, provider: str | None = None
) -> str | None:
    """The explicit key if given, else the environment variable's value, else the key
    stored for `provider` (`conduit secrets set PROVIDER`), else None.

    Example:
        >>> resolve_key("sk-given", "NO_SUCH_VARIABLE_X")
        'sk-given'
    """
    if explicit:
        return explicit
    if env_var:
        value = os.environ.get(env_var, "").strip()
        if value:
            return value
    return stored_key(provider) if env_var else None


def require_key(explicit: str | None, env_var: str, provider: str) -> str:
    """Like `resolve_key` but a missing key is an `AuthenticationError` naming the variable."""
    key = resolve_key(explicit, env_var, provider)
    if key is None:
        # "<what> — <what to do>": the message says what to do, so the class's generic
        # hint is not added to it.
        raise AuthenticationError(
            f"no API key for {provider} — set the {env_var} environment variable or pass api_key=",
            provider=provider,
        )
    return key
