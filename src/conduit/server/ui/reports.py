"""Admin read endpoints over the one usage ledger, behind the master key, in shapes
close to LiteLLM's proxy; the dashboard (`conduit.server.ui`) shows exactly these.

- `GET /global/spend/report?group_by=api_key|model|day`: spend and tokens per group
  (`key` also names the key), from `start_date` to `end_date` (`YYYY-MM-DD`, both
  included, UTC) or over the last `days` (default 30): `{"group_by", "start_date",
  "end_date", "rows": [{"group", "spend", "requests", "prompt_tokens",
  "completion_tokens", "total_tokens"}]}`;
- `GET /spend/logs?limit=N&api_key=ID` (also `start_date`, `end_date`): the latest
  requests, newest first, as a list of LiteLLM's fields: `request_id`, `api_key` (the
  key's id, never a secret), `model`, `spend`, `prompt_tokens`, `completion_tokens`,
  `total_tokens`, `startTime`, `endTime`, `status`, `latency_ms`, `user`;
- `GET /global/activity`: requests answered in the last 10 and 60 seconds and the rate
  per minute;
- `GET /health/deployments`: each upstream deployment of each model group, whether
  the router is cooling it down, and its group's requests and errors (status >= 500) in
  the last five minutes.

Every total comes from the ledger's own aggregation (`EventStore.totals`, as
`conduit usage` reads it): no second copy of the SQL.

Example:
    >>> sorted(GROUPS)
    ['api_key', 'day', 'key', 'model']
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
    from collections.abc import Awaitable, Callable, Mapping

    from conduit.server.app import Gateway
    from conduit.storage.events import TokenEvent

__all__ = ["GROUPS", "Reports", "log_entry"]

GROUPS = {"api_key": "key", "key": "key", "model": "model", "day": "day"}
"""What `/global/spend/report` groups by (`group_by`, LiteLLM's `api_key` or ours), and
the ledger's group key."""

MAX_LOGS = 500
DAY = 86400.0
# Windows tried in turn for the latest requests: the first that holds `limit` of them.
_WINDOWS = (300.0, 3600.0, DAY, 7 * DAY, 90 * DAY, 3650 * DAY)


def log_entry(event: TokenEvent) -> dict[str, Any]:
    """One ledger event as a `/spend/logs` entry (`endTime`: when the answer came).

    Example:
        >>> from conduit.storage.events import TokenEvent
        >>> e = TokenEvent(id="r1", provider="openai", model="chat", input_tokens=3,
        ...                output_tokens=2, cost=0.5, duration=0.25, status=200)
        >>> entry = log_entry(e)
        >>> entry["total_tokens"], entry["latency_ms"], entry["status"]
        (5, 250.0, 200)
    """
    start = event.timestamp - timedelta(seconds=event.duration or 0.0)
    return {
        "request_id": event.id,
        "api_key": event.key_id,
        "model": event.model,
        "provider": event.provider,
        "spend": event.cost,
        "prompt_tokens": event.input_tokens,
        "completion_tokens": event.output_tokens,
        "total_tokens": event.total_tokens,
        "startTime": start.isoformat(),
        "endTime": event.timestamp.isoformat(),
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


def _date(value: str, name: str) -> datetime:
    try:
        day = datetime.strptime(value.strip()[:10], "%Y-%m-%d")
    except ValueError:
        raise ValidationError(f"{name} must be a date such as 2030-01-31, not {value!r}") from None
    return day.replace(tzinfo=UTC)


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
        self, read: Callable[[Mapping[str, str]], Awaitable[Any]]
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
                return json_response(await read(request.query))
            except Exception as exc:
                return error_response(exc)

        return handle

    def _ago(self, seconds: float) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC) - timedelta(seconds=seconds)

    def _span(self, query: Mapping[str, str]) -> tuple[datetime, datetime | None]:
        """From `start_date` (else `days` ago, default 30) to the end of `end_date`."""
        start, end = query.get("start_date"), query.get("end_date")
        until = _date(end, "end_date") + timedelta(days=1) if end else None
        if start:
            return _date(start, "start_date"), until
        days = _whole(query.get("days"), "days", 30, 3650) or 30
        return self._ago(days * DAY), until

    async def spend_report(self, query: Mapping[str, str]) -> dict[str, Any]:
        """Spend and tokens per key, model or day (see the module's text)."""
        group_by = query.get("group_by") or "day"
        if group_by not in GROUPS:
            raise ValidationError(f"group_by must be one of api_key, model, day, not {group_by!r}")
        since, until = self._span(query)
        rows = await self.gateway.events.totals(
            [GROUPS[group_by]], EventFilter(since=since, until=until)
        )
        return {
            "group_by": group_by,
            "start_date": since.strftime("%Y-%m-%d"),
            "end_date": (until - timedelta(days=1) if until else self._ago(0)).strftime("%Y-%m-%d"),
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

    async def spend_logs(self, query: Mapping[str, str]) -> list[dict[str, Any]]:
        """The latest `limit` requests (default 50, at most 500), newest first."""
        count = _whole(query.get("limit"), "limit", 50, MAX_LOGS)
        key = query.get("api_key") or query.get("key") or None
        until = None
        if query.get("start_date") or query.get("end_date"):
            oldest, until = self._span(query)
        else:
            oldest = self._ago(_WINDOWS[-1])
        events = self.gateway.events
        since = oldest
        for window in _WINDOWS:  # the narrowest window that holds `count` requests
            start = max(self._ago(window), oldest)
            if await events.count(EventFilter(since=start, until=until, key_id=key)) >= count:
                since = start
                break
        found = await events.events(EventFilter(since=since, until=until, key_id=key))
        latest = found[-count:] if count else []
        return [log_entry(e) for e in reversed(latest)]

    async def activity(self, query: Mapping[str, str]) -> dict[str, Any]:
        """Requests answered in the last 10 and 60 seconds."""
        events = self.gateway.events
        last_10 = await events.count(EventFilter(since=self._ago(10.0)))
        last_60 = await events.count(EventFilter(since=self._ago(60.0)))
        return {
            "time": self.clock(),
            "requests_10s": last_10,
            "requests_60s": last_60,
            "requests_per_minute": last_60,
        }

    async def deployments(self, query: Mapping[str, str]) -> dict[str, Any]:
        """Each upstream deployment: cooling down or ready, and its group's last 5 min."""
        router = self.gateway.router
        rows = await self.gateway.events.totals(
            ["model", "status"], EventFilter(since=self._ago(300.0))
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
