"""Virtual keys for the gateway: `VirtualKey`, the `KeyStore` protocol, hashing.

A virtual key is a secret (`sk-cnd-…`) a gateway hands to a team instead of the
provider's key. Only its SHA-256 and a short visible prefix are stored, never the secret
itself: the secret is shown once, when the key is created. Each key may name the model
groups it can call, a budget in USD over a window, requests/tokens per minute, how many
requests it may have in flight at once, and when it expires.

Every field is checked wherever a key is made or changed (`new_key`, `check_key_fields`,
`KeyStore.update`): a budget must be a finite amount >= 0 (`nan` is refused), limits
positive whole numbers, the window a length such as `"30d"`.

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

from conduit.core.checks import check_money, check_window
from conduit.errors import ValidationError

__all__ = [
    "KEY_COLUMNS",
    "KEY_FIELDS",
    "KeyStore",
    "SECRET_PREFIX",
    "VirtualKey",
    "check_key_fields",
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
    "created_at, revoked_at, expires_at, max_parallel_requests"
)
KEY_FIELDS = frozenset(
    {
        "name",
        "models",
        "max_budget",
        "budget_window",
        "rpm",
        "tpm",
        "user",
        "tags",
        "expires_at",
        "max_parallel_requests",
    }
)
"""The fields of a key an operator may change (`KeyStore.update`)."""
# Where each field is kept (the others are stored under their own name).
_COLUMN = {"user": "user_id"}
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
    per minute; `user` and `tags` are recorded with every request made with it;
    `expires_at`: when it stops working (Unix seconds; None: never);
    `max_parallel_requests`: requests it may have in flight at once on one gateway
    (None: the gateway's default).

    Example:
        >>> key = VirtualKey(id="key_1", prefix="sk-cnd-abcd", models=("chat",))
        >>> key.allows("chat"), key.allows("other"), key.active
        (True, False, True)
        >>> VirtualKey(id="key_2", prefix="p", expires_at=10.0).expired(now=11.0)
        True
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
    expires_at: float | None = None
    max_parallel_requests: int | None = None

    @property
    def active(self) -> bool:
        """Not revoked (see `expired` for its expiry)."""
        return self.revoked_at is None

    def expired(self, now: float | None = None) -> bool:
        """Whether the key's `expires_at` has passed (at `now`, Unix seconds)."""
        if self.expires_at is None:
            return False
        return self.expires_at <= (time.time() if now is None else now)

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
            "expires_at": self.expires_at,
            "max_parallel_requests": self.max_parallel_requests,
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
            self.expires_at,
            self.max_parallel_requests,
            secret_hash,
        )

    def stored(self, name: str) -> tuple[str, Any]:
        """The column that keeps field `name` and its stored value (lists one per line).

        Example:
            >>> VirtualKey(id="k", prefix="p", tags=("a", "b")).stored("tags")
            ('tags', 'a\\nb')
        """
        value = getattr(self, name)
        if name in ("models", "tags"):
            value = _join(value)
        return _COLUMN.get(name, name), value


def _join(items: Sequence[str]) -> str | None:
    for item in items:
        if not item or _LIST_SEPARATOR in item:
            raise ValidationError(f"a model or tag name is one non-empty line, not {item!r}")
    return _LIST_SEPARATOR.join(items) if items else None


def _split(stored: Any) -> tuple[str, ...]:
    return tuple(str(stored).split(_LIST_SEPARATOR)) if stored else ()


def key_from_row(row: Sequence[Any]) -> VirtualKey:
    """A stored row (in `KEY_COLUMNS` order) as a `VirtualKey`."""
    (id_, prefix, name, models, budget, window, rpm, tpm, user, tags, created, revoked) = row[:12]
    expires, parallel = (*row[12:14], None, None)[:2]
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
        expires_at=None if expires is None else float(expires),
        max_parallel_requests=None if parallel is None else int(parallel),
    )


def _positive_whole(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError(f"{name} must be a positive whole number, not {value!r}")
    return value


def _names(value: Any, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not all(isinstance(item, str) for item in value):
        raise ValidationError(f"{name} must be a list of names, not {value!r}")
    items = tuple(value)
    _join(items)
    return items


def _text(value: Any, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"{name} must be text, not {value!r}")
    return value or None


def check_key_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """`fields` of a key (names in `KEY_FIELDS`), checked and normalised: a budget is a
    finite amount >= 0, `rpm`/`tpm`/`max_parallel_requests` positive whole numbers, the
    window a length such as `"30d"`, `expires_at` finite Unix seconds; None clears a
    field. An unknown name or a bad value is a `ValidationError` naming it.

    Example:
        >>> check_key_fields({"max_budget": 5, "models": ["chat"], "rpm": 60.0})
        {'max_budget': 5.0, 'models': ('chat',), 'rpm': 60}
        >>> check_key_fields({"max_budget": float("nan")})
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: max_budget must be a finite number of US dollars >= 0, not nan...
    """  # noqa: E501
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in KEY_FIELDS:
            known = ", ".join(sorted(KEY_FIELDS))
            raise ValidationError(f"{name!r} is not a field of a key; known: {known}")
        if name == "max_budget":
            out[name] = None if value is None else check_money(value, name)
        elif name == "budget_window":
            if value is not None:
                if not isinstance(value, str):
                    raise ValidationError(
                        f"budget_window must be a length such as '30d', not {value!r}"
                    )
                check_window(value, name)
                value = value.strip()
            out[name] = value
        elif name in ("rpm", "tpm", "max_parallel_requests"):
            out[name] = _positive_whole(value, name)
        elif name in ("models", "tags"):
            out[name] = _names(value, name)
        elif name == "expires_at":
            if value is not None:
                value = check_money(value, name)  # a finite number >= 0
            out[name] = value
        else:
            out[name] = _text(value, name)
    return out


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
    expires_at: float | None = None,
    max_parallel_requests: int | None = None,
) -> tuple[VirtualKey, str]:
    """A new key and its secret (every field checked: `check_key_fields`).

    Example:
        >>> key, secret = new_key(name="team-a", models=["chat"], rpm=60)
        >>> key.prefix == visible_prefix(secret), key.models
        (True, ('chat',))
    """
    fields = check_key_fields(
        {
            "name": name,
            "models": models,
            "max_budget": max_budget,
            "budget_window": budget_window,
            "rpm": rpm,
            "tpm": tpm,
            "user": user,
            "tags": tags,
            "expires_at": expires_at,
            "max_parallel_requests": max_parallel_requests,
        }
    )
    secret = new_secret()
    key = VirtualKey(id="key_" + uuid.uuid4().hex[:16], prefix=visible_prefix(secret), **fields)
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

    async def update(self, key_id: str, **fields: Any) -> VirtualKey | None:
        """Change fields of an active key (names in `KEY_FIELDS`, checked by
        `check_key_fields`; None clears one) in one write; the key as it is now, or
        None when there is no such active key."""
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
