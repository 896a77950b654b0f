"""The admin API for virtual keys, behind the master key, in shapes close to LiteLLM's
proxy (`/key/generate`, `/key/list`, `/key/info`, `/key/update`, `/key/delete`).

- `POST /key/generate`: `models`, `max_budget`, `budget_duration`, `rpm_limit`,
  `tpm_limit`, `max_parallel_requests`, `key_alias`, `user_id`, `tags`, and `duration`
  (`"30d"`) or `expires` (Unix seconds): the key's fields and its secret (`key`, shown
  once);
- `GET /key/list` (`?all=true`: revoked keys too): `{"keys": [...], "total_count": n}`;
- `GET /key/info?key=ID`: `{"key": ID, "info": {..., "spend": USD in the window}}`;
- `POST /key/update`: `key` (its id) and the fields to change (null clears one): the
  key as it is now;
- `POST /key/delete`: `keys` (ids): `{"deleted_keys": [...]}` (revoked).

Keys are named by id (`key_…`), never by secret; a secret is in one answer only, the
one that made it. A change is seen by every replica within `key_cache_seconds`.

Example:
    >>> sorted(LITELLM_NAMES)[:3]
    ['budget_duration', 'expires', 'key_alias']
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from conduit.core.checks import check_window
from conduit.errors import ValidationError
from conduit.server.errors import GatewayError
from conduit.server.keys import spend_limits
from conduit.server.responses import error_response, json_response
from conduit.storage.keys import check_key_fields, new_key

if TYPE_CHECKING:
    from conduit.server.app import Gateway
    from conduit.storage.keys import VirtualKey

__all__ = ["KeyAdmin", "LITELLM_NAMES"]

LITELLM_NAMES = {
    "key_alias": "name",
    "budget_duration": "budget_window",
    "rpm_limit": "rpm",
    "tpm_limit": "tpm",
    "user_id": "user",
    "expires": "expires_at",
}
"""LiteLLM's names for a key's fields, and Conduit's (both are accepted)."""


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    """A request body's key fields under Conduit's names, checked."""
    fields: dict[str, Any] = {}
    sent: dict[str, str] = {}  # Conduit's name -> the name the caller used
    for name, value in body.items():
        if name in ("key", "duration", "metadata"):
            continue
        ours = LITELLM_NAMES.get(name, name)
        fields[ours], sent[ours] = value, name
    duration = body.get("duration")
    if duration is not None:
        if not isinstance(duration, str):
            raise ValidationError(f"duration must be a length such as '30d', not {duration!r}")
        seconds = check_window(duration.strip(), "duration")
        fields["expires_at"] = None if seconds is None else time.time() + seconds
    try:
        return check_key_fields(fields)
    except ValidationError as exc:
        ours = exc.message.split(" ", 1)[0]
        if sent.get(ours, ours) != ours:  # name the field as the caller did
            raise ValidationError(sent[ours] + exc.message[len(ours) :]) from None
        raise


def _shown(key: VirtualKey) -> dict[str, Any]:
    info = key.public()
    info.update(
        key_alias=key.name,
        budget_duration=key.budget_window,
        rpm_limit=key.rpm,
        tpm_limit=key.tpm,
        user_id=key.user,
        expires=key.expires_at,
    )
    return info


class KeyAdmin:
    """The `/key/*` routes of `gateway` (see the module's text).

    Example:
        >>> KeyAdmin.__name__
        'KeyAdmin'
    """

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Add the routes to an application's router."""
        router.add_post("/key/generate", self.generate)
        router.add_get("/key/list", self.list)
        router.add_get("/key/info", self.info)
        router.add_post("/key/update", self.update)
        router.add_post("/key/delete", self.delete)

    def _master(self, request: web.Request) -> None:
        if not self.gateway.guard.is_master(request.headers.get("Authorization")):
            raise GatewayError(
                "the key admin API needs the gateway's master key",
                status=401,
                type="invalid_request_error",
                code="invalid_api_key",
            )

    async def _body(self, request: web.Request) -> dict[str, Any]:
        self._master(request)
        return await self.gateway.read_json(request)

    async def _key(self, key_id: Any) -> VirtualKey:
        key = await self.gateway.keys.get(key_id) if isinstance(key_id, str) else None
        if key is None:
            raise GatewayError(
                f"no key {key_id!r}",
                status=404,
                type="not_found_error",
                code="key_not_found",
                param="key",
            )
        return key

    async def create(self, fields: dict[str, Any]) -> tuple[VirtualKey, str]:
        """A new key from `fields` (Conduit's names, see `check_key_fields`), stored;
        the key and its secret (what `/key/generate` and the dashboard both do)."""
        key, secret = new_key(**fields)
        await self.gateway.keys.add(key, secret)
        return key, secret

    async def revoke(self, ids: list[str]) -> list[str]:
        """Revoke keys by id; the ids revoked (what `/key/delete` and the dashboard do)."""
        deleted = [key_id for key_id in ids if await self.gateway.keys.revoke(key_id)]
        for key_id in deleted:
            self.gateway.guard.forget(key_id)
        return deleted

    async def generate(self, request: web.Request) -> web.Response:
        """`POST /key/generate`: a new key and its secret."""
        try:
            key, secret = await self.create(_fields(await self._body(request)))
        except Exception as exc:
            return error_response(exc)
        return json_response({**_shown(key), "key": secret, "key_id": key.id})

    async def list(self, request: web.Request) -> web.Response:
        """`GET /key/list`: the keys (never their secrets)."""
        try:
            self._master(request)
            everything = request.query.get("all", "").lower() in ("1", "true", "yes")
            found = await self.gateway.keys.list(include_revoked=everything)
        except Exception as exc:
            return error_response(exc)
        return json_response({"keys": [_shown(k) for k in found], "total_count": len(found)})

    async def info(self, request: web.Request) -> web.Response:
        """`GET /key/info?key=ID`: one key, with its spend in its budget's window."""
        try:
            self._master(request)
            key = await self._key(request.query.get("key"))
            limits = spend_limits(key)
            spend = await self.gateway.spend.spent(limits[0]) if limits else None
        except Exception as exc:
            return error_response(exc)
        return json_response({"key": key.id, "info": {**_shown(key), "spend": spend}})

    async def update(self, request: web.Request) -> web.Response:
        """`POST /key/update`: change an active key's fields."""
        try:
            body = await self._body(request)
            key_id = (await self._key(body.get("key"))).id
            fields = _fields(body)
            key = await self.gateway.keys.update(key_id, **fields)
            if key is None:
                raise GatewayError(
                    f"no active key {key_id!r}", status=404, type="not_found_error", param="key"
                )
            self.gateway.guard.forget(key.id)
        except Exception as exc:
            return error_response(exc)
        return json_response(_shown(key))

    async def delete(self, request: web.Request) -> web.Response:
        """`POST /key/delete`: revoke keys by id."""
        try:
            body = await self._body(request)
            ids = body.get("keys")
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise ValidationError("keys must be a list of key ids")
            deleted = await self.revoke(ids)
        except Exception as exc:
            return error_response(exc)
        return json_response({"deleted_keys": deleted})
