"""Virtual keys for the gateway: `VirtualKey`, the `KeyStore` protocol, hashing.

A virtual key is a secret (`sk-cnd-…`) a gateway hands to a team instead of the
provider's key. Only its SHA-256 and a short visible prefix are stored, never the secret
itself: the secret is shown once, when the key is created. Each key may name the model
groups it can call, a budget in USD over a window, and requests/tokens per minute.

Example:
    >>> secret = new_secret()
    >>> secret.startswith("sk-cnd-"), len(hash_secret(secret)), visible_prefix(secret)[:7]
    (True, 64, 'sk-cnd-')
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from conduit.errors import ValidationError

__all__ = [
    "KEY_COLUMNS",
    "KeyStore",
    "SECRET_PREFIX",
    "VirtualKey",
    "hash_secret",
    "key_from_row",
    "new_key",
    "new_secret",
    "open_key_store",
    "visible_prefix",
]

SECRET_PREFIX = "sk-cnd-"
# The columns a stored key is read back from, in order.
KEY_COLUMNS = (
    "id, prefix, name, models, max_budget, budget_window, rpm, tpm, user_id, tags, "
    "created_at, revoked_at"
)
# Lists (models, tags) are kept one per line in a text column.
_LIST_SEPARATOR = "\n"


def new_secret() -> str:
    """A fresh key secret: the prefix and 43 URL-safe characters (256 random bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The SHA-256 of a secret, in hex: what the store keeps and looks keys up by."""
    return hashlib.sha256(secret.encode()).hexdigest()


def visible_prefix(secret: str) -> str:
    """The part of a secret that may be shown in lists (`sk-cnd-` and four characters)."""
    return secret[: len(SECRET_PREFIX) + 4]


@dataclass(frozen=True, slots=True)
class VirtualKey:
    """One virtual key, as stored (without its secret).

    `models`: the model groups it may call (empty: all); `max_budget`: USD per
    `budget_window` (`"30d"`, `"1h"`; None: for ever); `rpm`/`tpm`: requests and tokens
    per minute; `user` and `tags` are recorded with every request made with it.

    Example:
        >>> key = VirtualKey(id="key_1", prefix="sk-cnd-abcd", models=("chat",))
        >>> key.allows("chat"), key.allows("other"), key.active
        (True, False, True)
    """

    id: str
    prefix: str
    name: str | None = None
    models: tuple[str, ...] = ()
    max_budget: float | None = None
    budget_window: str | None = None
    rpm: int | None = None
    tpm: int | None = None
    user: str | None = None
    tags: tuple[str, ...] = ()
    created_at: float = field(default_factory=time.time)
    revoked_at: float | None = None

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None

    def allows(self, model: str) -> bool:
        """Whether this key may call the model group `model`."""
        return not self.models or model in self.models

    def public(self) -> dict[str, Any]:
        """The key's fields as plain data (what `conduit keys list --json` prints)."""
        return {
            "id": self.id,
            "prefix": self.prefix,
            "name": self.name,
            "models": list(self.models),
            "max_budget": self.max_budget,
            "budget_window": self.budget_window,
            "rpm": self.rpm,
            "tpm": self.tpm,
            "user": self.user,
            "tags": list(self.tags),
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }

    def row(self, secret_hash: str) -> tuple[Any, ...]:
        """The values of one stored row: `KEY_COLUMNS` then the hash."""
        return (
            self.id,
            self.prefix,
            self.name,
            _join(self.models),
            self.max_budget,
            self.budget_window,
            self.rpm,
            self.tpm,
            self.user,
            _join(self.tags),
            self.created_at,
            self.revoked_at,
            secret_hash,
        )


def _join(items: Sequence[str]) -> str | None:
    for item in items:
        if not item or _LIST_SEPARATOR in item:
            raise ValidationError(f"a model or tag name is one non-empty line, not {item!r}")
    return _LIST_SEPARATOR.join(items) if items else None


def _split(stored: Any) -> tuple[str, ...]:
    return tuple(str(stored).split(_LIST_SEPARATOR)) if stored else ()


def key_from_row(row: Sequence[Any]) -> VirtualKey:
    """A stored row (in `KEY_COLUMNS` order) as a `VirtualKey`."""
    (id_, prefix, name, models, budget, window, rpm, tpm, user, tags, created, revoked) = row
    return VirtualKey(
        id=str(id_),
        prefix=str(prefix),
        name=name,
        models=_split(models),
        max_budget=None if budget is None else float(budget),
        budget_window=window,
        rpm=None if rpm is None else int(rpm),
        tpm=None if tpm is None else int(tpm),
        user=user,
        tags=_split(tags),
        created_at=float(created),
        revoked_at=None if revoked is None else float(revoked),
    )


def new_key(
    *,
    name: str | None = None,
    models: Sequence[str] = (),
    max_budget: float | None = None,
    budget_window: str | None = None,
    rpm: int | None = None,
    tpm: int | None = None,
    user: str | None = None,
    tags: Sequence[str] = (),
) -> tuple[VirtualKey, str]:
    """A new key and its secret (limits checked to be positive; the gateway checks the
    window's spelling).

    Example:
        >>> key, secret = new_key(name="team-a", models=["chat"], rpm=60)
        >>> key.prefix == visible_prefix(secret), key.models
        (True, ('chat',))
    """
    if max_budget is not None and max_budget < 0:
        raise ValidationError(f"max_budget must be >= 0, not {max_budget!r}")
    for label, limit in (("rpm", rpm), ("tpm", tpm)):
        if limit is not None and limit <= 0:
            raise ValidationError(f"{label} must be a positive number, not {limit!r}")
    _join(models), _join(tags)
    secret = new_secret()
    key = VirtualKey(
        id="key_" + uuid.uuid4().hex[:16],
        prefix=visible_prefix(secret),
        name=name,
        models=tuple(models),
        max_budget=max_budget,
        budget_window=budget_window,
        rpm=rpm,
        tpm=tpm,
        user=user,
        tags=tuple(tags),
    )
    return key, secret


@runtime_checkable
class KeyStore(Protocol):
    """Where virtual keys live: `SQLiteKeyStore` (default), `PostgresKeyStore`."""

    async def add(self, key: VirtualKey, secret: str) -> None:
        """Keep a new key; only `hash_secret(secret)` is stored."""
        ...

    async def find(self, secret: str) -> VirtualKey | None:
        """The key with this secret (revoked ones included), or None."""
        ...

    async def get(self, key_id: str) -> VirtualKey | None:
        """The key with this id, or None."""
        ...

    async def list(self, *, include_revoked: bool = False) -> list[VirtualKey]:
        """Keys, oldest first."""
        ...

    async def revoke(self, key_id: str) -> bool:
        """Revoke a key by id; False when there is no such active key."""
        ...

    async def aclose(self) -> None:
        """Release the connection(s)."""
        ...


def open_key_store(url: str) -> KeyStore:
    """The key store at `url`: a `postgresql://` DSN, or a SQLite file path.

    Example:
        >>> open_key_store(":memory:")
        SQLiteKeyStore(':memory:')
    """
    if url.startswith(("postgresql://", "postgres://")):
        from conduit.storage.keys_postgres import PostgresKeyStore

        return PostgresKeyStore(url)
    from conduit.storage.keys_sqlite import SQLiteKeyStore

    return SQLiteKeyStore(url)
