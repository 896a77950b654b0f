"""Admin read endpoints over the one usage ledger, behind the master key, in shapes
close to LiteLLM's proxy; the dashboard (`conduit.server.ui`) shows exactly these.

- `GET /global/spend/report?group_by=key|model|day&days=N`: spend and tokens per
  group over the last `days` (default 30): `{"group_by", "days", "rows": [{"group",
  "spend", "requests", "prompt_tokens", "completion_tokens", "total_tokens"}]}`;
- `GET /spend/logs?limit=N&key=ID`: the latest requests, newest first (LiteLLM's
  names: `request_id`, `api_key` (the key's id, never a secret), `model`, `spend`,
  `prompt_tokens`, `completion_tokens`, `total_tokens`, `startTime`, `status`,
  `latency_ms`);
- `GET /global/activity`: requests answered in the last 10 and 60 seconds and the rate
  per minute;
- `GET /health/deployments`: each upstream deployment of each model group, whether
  the router is cooling it down, and its group's requests and errors (status >= 500) in
  the last five minutes.

Every total comes from the ledger's own aggregation (`EventStore.totals`, as
`conduit usage` reads it): no second copy of the SQL.

Example:
    >>> sorted(GROUPS)
    ['day', 'key', 'model']
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from conduit.core.checks import check_count
from conduit.errors import ValidationError
from conduit.server.errors import GatewayError
from conduit.server.responses import error_response, json_response
from conduit.storage.events import EventFilter

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from conduit.server.app import Gateway
    from conduit.storage.events import TokenEvent

__all__ = ["GROUPS", "Reports", "log_entry"]

GROUPS = {"key": "key", "model": "model", "day": "day"}
"""What `/global/spend/report` groups by (`group_by`), and the ledger's group key."""

MAX_LOGS = 500
# Windows tried in turn for the latest requests: the first that holds `limit` of them.
_WINDOWS = (300.0, 3600.0, 86400.0, 7 * 86400.0, 90 * 86400.0)


def log_entry(event: TokenEvent) -> dict[str, Any]:
    """One ledger event as a `/spend/logs` entry.

    Example:
        >>> from conduit.storage.events import TokenEvent
        >>> e = TokenEvent(id="r1", provider="openai", model="chat", input_tokens=3,
        ...                output_tokens=2, cost=0.5, duration=0.25, status=200)
        >>> entry = log_entry(e)
        >>> entry["total_tokens"], entry["latency_ms"], entry["status"]
        (5, 250.0, 200)
    """
    return {
        "request_id": event.id,
        "api_key": event.key_id,
        "model": event.model,
        "provider": event.provider,
        "spend": event.cost,
        "prompt_tokens": event.input_tokens,
        "completion_tokens": event.output_tokens,
        "total_tokens": event.total_tokens,
        "startTime": event.timestamp.isoformat(),
        "status": event.status,
        "latency_ms": None if event.duration is None else round(event.duration * 1000, 1),
        "user": event.user,
    }


def _whole(value: str | None, name: str, default: int, most: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = check_count(int(value), name)
    except ValueError:
        raise ValidationError(f"{name} must be a whole number >= 0, not {value!r}") from None
    return min(number, most)


class Reports:
    """The read endpoints (see the module's text) of `gateway`; `clock` is Unix seconds.

    Example:
        >>> Reports.__name__
        'Reports'
    """

    def __init__(self, gateway: Gateway, *, clock: Callable[[], float] = time.time) -> None:
        self.gateway = gateway
        self.clock = clock

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Add the routes (each behind the master key) to an application's router."""
        router.add_get("/global/spend/report", self._guarded(self.spend_report))
        router.add_get("/spend/logs", self._guarded(self.spend_logs))
        router.add_get("/global/activity", self._guarded(self.activity))
        router.add_get("/health/deployments", self._guarded(self.deployments))

    def _guarded(
        self, read: Callable[..., Awaitable[dict[str, Any]]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            try:
                if not self.gateway.guard.is_master(request.headers.get("Authorization")):
                    raise GatewayError(
                        "the admin API needs the gateway's master key",
                        status=401,
                        type="invalid_request_error",
                        code="invalid_api_key",
                    )
                return json_response(await read(**dict(request.query)))
            except TypeError:
                return error_response(ValidationError("unknown query parameter"))
            except Exception as exc:
                return error_response(exc)

        return handle

    def _since(self, seconds: float) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC) - timedelta(seconds=seconds)

    async def spend_report(self, group_by: str = "day", days: str | None = None) -> dict[str, Any]:
        """Spend and tokens per key, model or day over the last `days` (default 30)."""
        if group_by not in GROUPS:
            raise ValidationError(f"group_by must be one of key, model, day, not {group_by!r}")
        span = _whole(days, "days", 30, 3650) or 30
        rows = await self.gateway.events.totals(
            [GROUPS[group_by]], EventFilter(since=self._since(span * 86400.0))
        )
        return {
            "group_by": group_by,
            "days": span,
            "rows": [
                {
                    "group": row.key[0],
                    "spend": row.cost,
                    "requests": row.events,
                    "prompt_tokens": row.input_tokens,
                    "completion_tokens": row.output_tokens,
                    "total_tokens": row.total_tokens,
                }
                for row in rows
            ],
        }

    async def spend_logs(self, limit: str | None = None, key: str | None = None) -> dict[str, Any]:
        """The latest `limit` requests (default 50, at most 500), newest first."""
        count = _whole(limit, "limit", 50, MAX_LOGS)
        events = self.gateway.events
        since = self._since(_WINDOWS[-1])
        for window in _WINDOWS:  # the narrowest window that holds `count` requests
            filters = EventFilter(since=self._since(window), key_id=key or None)
            if await events.count(filters) >= count:
                since = filters.since or since
                break
        found = await events.events(EventFilter(since=since, key_id=key or None))
        latest = found[-count:] if count else []
        return {"data": [log_entry(e) for e in reversed(latest)]}

    async def activity(self) -> dict[str, Any]:
        """Requests answered in the last 10 and 60 seconds."""
        events = self.gateway.events
        last_10 = await events.count(EventFilter(since=self._since(10.0)))
        last_60 = await events.count(EventFilter(since=self._since(60.0)))
        return {
            "time": self.clock(),
            "requests_10s": last_10,
            "requests_60s": last_60,
            "requests_per_minute": last_60,
        }

    async def deployments(self) -> dict[str, Any]:
        """Each upstream deployment: cooling down or ready, and its group's last 5 min."""
        router = self.gateway.router
        rows = await self.gateway.events.totals(
            ["model", "status"], EventFilter(since=self._since(300.0))
        )
        requests: dict[str, int] = {}
        errors: dict[str, int] = {}
        for row in rows:
            group, status = row.key[0] or "", row.key[1]
            requests[group] = requests.get(group, 0) + row.events
            if status is not None and int(status) >= 500:
                errors[group] = errors.get(group, 0) + row.events
        out = []
        for group in router.groups:
            deployments = router.deployments(group)
            try:
                cooling: list[bool | None] = list(
                    await router.state.cooling([d.id or "" for d in deployments])
                )
            except Exception:  # the router's state (Redis) is down: say so, not fail
                cooling = [None] * len(deployments)
            for deployment, cool in zip(deployments, cooling, strict=True):
                out.append(
                    {
                        "group": group,
                        "deployment": deployment.id,
                        "status": "unknown"
                        if cool is None
                        else "cooling down"
                        if cool
                        else "ready",
                        "requests_5m": requests.get(group, 0),
                        "errors_5m": errors.get(group, 0),
                    }
                )
        return {"deployments": out}
