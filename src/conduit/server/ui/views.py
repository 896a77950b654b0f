"""`/ui`: the gateway's dashboard, behind the master key.

- `GET /ui/login`, `POST /ui/login` (the master key): a server-side session and its
  cookie (`conduit.server.ui.sessions`); `POST /ui/logout` ends it;
- `GET /ui`: live request rate, each dependency and each upstream deployment;
- `GET /ui/keys`, `POST /ui/keys` (a new key; its secret shown once),
  `POST /ui/keys/revoke`;
- `GET /ui/spend?days=N`: spend and tokens by day, key and model;
- `GET /ui/requests`: the latest requests with status and latency;
- `GET /ui/api/activity`: the live rate as JSON (the page's script polls it);
- `GET /ui/static/…`: the page's CSS and script, files in this package.

Everything shown comes from the admin API (`/key/*`, `/global/spend/report`,
`/spend/logs`, `/global/activity`, `/health/readiness`, `/health/deployments`), so it
can be scripted too. Every form that changes state carries the session's CSRF token;
a post without the right one, or from another origin, is refused (403) before
anything is read. Without `server.master_key` the dashboard is off (404).

Example:
    >>> Dashboard.__name__
    'Dashboard'
"""

from __future__ import annotations

import json
import logging
import time
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web

from conduit.errors import ConduitError
from conduit.server.ui.forms import read_key_form
from conduit.server.ui.pages import esc, layout, login_page
from conduit.server.ui.reports import Reports
from conduit.server.ui.screens import health_body, keys_body, requests_body, spend_body
from conduit.server.ui.sessions import (
    COOKIE,
    LoginThrottle,
    Session,
    Sessions,
    cookie_is_secure,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from conduit.server.app import Gateway

__all__ = ["Dashboard", "SESSION_SECONDS"]

SESSION_SECONDS = 8 * 3600.0
"""How long a dashboard login lasts by default (`server.ui_session_seconds`)."""

_log = logging.getLogger("conduit.server")
_STATIC = {"dashboard.css": "text/css", "dashboard.js": "text/javascript"}
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _page(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", headers=_HEADERS)


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


class Dashboard:
    """The `/ui` routes of `gateway` (see the module's text). `session_seconds`: how
    long a login lasts (None: the config's `ui_session_seconds`); `clock`: monotonic
    seconds for the sessions.

    Example:
        >>> Dashboard.__name__
        'Dashboard'
    """

    def __init__(
        self,
        gateway: Gateway,
        *,
        session_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gateway = gateway
        self.reports = Reports(gateway)
        seconds = gateway.config.ui_session_seconds if session_seconds is None else session_seconds
        self.sessions = Sessions(seconds=seconds, clock=clock)
        self.throttle = LoginThrottle(clock=clock)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Add the dashboard's routes and the admin read endpoints to a router."""
        self.reports.add_routes(router)
        router.add_get("/ui/login", self.login_form)
        router.add_post("/ui/login", self.login)
        router.add_get("/ui/static/{name}", self.static)
        for path, view in (
            ("/ui", self.overview),
            ("/ui/", self.overview),
            ("/ui/keys", self.keys),
            ("/ui/spend", self.spend),
            ("/ui/requests", self.requests),
            ("/ui/api/activity", self.activity),
        ):
            router.add_get(path, self._session(view))
        router.add_post("/ui/keys", self._session(self.create_key, form=True))
        router.add_post("/ui/keys/revoke", self._session(self.revoke_key, form=True))
        router.add_post("/ui/logout", self._session(self.logout, form=True))

    # ----------------------------------------------------------------- guards

    def _enabled(self) -> bool:
        return self.gateway.config.master_key is not None

    def _session(self, view: Any, *, form: bool = False) -> Any:
        async def handle(request: web.Request) -> web.StreamResponse:
            if not self._enabled():
                raise web.HTTPNotFound(text="the dashboard needs server.master_key")
            session = self.sessions.find(request.cookies.get(COOKIE))
            if session is None:
                if request.path.startswith("/ui/api/"):
                    return web.json_response({"error": "log in again"}, status=401)
                if form:
                    return _page(login_page("your session ended; log in again"), 401)
                raise web.HTTPSeeOther("/ui/login")
            if form:
                refused = await self._forged(request, session)
                if refused is not None:
                    return refused
            try:
                response: web.StreamResponse = await view(request, session)
            except web.HTTPException:
                raise
            except Exception as exc:  # a store is down: say so on a page, not a stack
                _log.warning("dashboard %s failed: %s", request.path, type(exc).__name__)
                message = exc.message if isinstance(exc, ConduitError) else type(exc).__name__
                body = (
                    '<p class="error" role="alert">Error: this page could not be read '
                    f"now ({esc(message)}). Try again in a few seconds.</p>"
                )
                return _page(layout("Unavailable", body, csrf=session.csrf), 503)
            return response

        return handle

    async def _forged(self, request: web.Request, session: Session) -> web.Response | None:
        origin = request.headers.get("Origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.host:
            return _page(layout("Forbidden", "<p>A form from another site.</p>"), 403)
        data = await request.post()
        token = data.get("csrf")
        if not session.valid_csrf(token if isinstance(token, str) else None):
            body = (
                '<p class="error" role="alert">Error: this form has no valid CSRF token; '
                'nothing was changed. <a href="/ui">Reload the dashboard</a> and try again.</p>'
            )
            return _page(layout("Forbidden", body), 403)
        return None

    # ----------------------------------------------------------------- login

    async def login_form(self, request: web.Request) -> web.Response:
        """`GET /ui/login`."""
        if not self._enabled():
            raise web.HTTPNotFound(text="the dashboard needs server.master_key")
        return _page(login_page())

    async def login(self, request: web.Request) -> web.StreamResponse:
        """`POST /ui/login`: the master key opens a session."""
        if not self._enabled():
            raise web.HTTPNotFound(text="the dashboard needs server.master_key")
        origin = request.headers.get("Origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.host:
            return _page(layout("Forbidden", "<p>A form from another site.</p>"), 403)
        address = request.remote or ""
        wait = self.throttle.wait(address)
        if wait > 0:
            message = f"too many wrong master keys from this address; try again in {wait:.0f} s"
            return _page(login_page(message), 429)
        data = await request.post()
        given = data.get("master_key")
        if not isinstance(given, str) or not self.gateway.guard.is_master(f"Bearer {given}"):
            self.throttle.failed(address)
            return _page(login_page("that is not this gateway's master key"), 401)
        session_id, _ = self.sessions.start()
        response = _see_other("/ui")
        response.set_cookie(
            COOKIE,
            session_id,
            path="/ui",
            httponly=True,
            samesite="Strict",
            secure=cookie_is_secure(request),
            max_age=int(self.sessions.seconds),
        )
        return response

    async def logout(self, request: web.Request, session: Session) -> web.StreamResponse:
        """`POST /ui/logout`: end the session."""
        self.sessions.end(request.cookies.get(COOKIE))
        response = _see_other("/ui/login")
        response.del_cookie(COOKIE, path="/ui")
        return response

    async def static(self, request: web.Request) -> web.Response:
        """`GET /ui/static/NAME`: the page's CSS and script."""
        name = request.match_info["name"]
        if name not in _STATIC:
            raise web.HTTPNotFound()
        text = (resources.files("conduit.server.ui") / "static" / name).read_text("utf-8")
        headers = {**_HEADERS, "Cache-Control": "max-age=300"}
        return web.Response(text=text, content_type=_STATIC[name], headers=headers)

    # ----------------------------------------------------------------- pages

    async def overview(self, request: web.Request, session: Session) -> web.Response:
        """`GET /ui`: live rate, dependencies, upstream deployments."""
        answer = await self.gateway.readiness(request)
        readiness = json.loads(answer.text or "{}")
        deployments = await self.reports.deployments({})
        activity = await self.reports.activity({})
        body = health_body(readiness, deployments, activity["requests_60s"])
        return _page(layout("Overview", body, csrf=session.csrf, active="/ui"))

    async def activity(self, request: web.Request, session: Session) -> web.Response:
        """`GET /ui/api/activity`: what `/global/activity` answers."""
        return web.json_response(
            await self.reports.activity({}), headers={"Cache-Control": "no-store"}
        )

    async def _keys_page(self, session: Session, status: int = 200, **shown: Any) -> web.Response:
        found = await self.gateway.keys.list(include_revoked=True)
        report = await self.reports.spend_report({"group_by": "key", "days": "30"})
        spend = {row["group"]: row["spend"] for row in report["rows"]}
        body = keys_body(
            [k.public() for k in found],
            spend,
            self.gateway.config.model_names(),
            session.csrf,
            **shown,
        )
        return _page(layout("Keys", body, csrf=session.csrf, active="/ui/keys"), status)

    async def keys(self, request: web.Request, session: Session) -> web.Response:
        """`GET /ui/keys`."""
        return await self._keys_page(session)

    async def create_key(self, request: web.Request, session: Session) -> web.Response:
        """`POST /ui/keys`: every field checked; a key only when all are good."""
        data = await request.post()
        form: dict[str, Any] = {
            name: value for name, value in data.items() if isinstance(value, str)
        }
        form["models"] = [m for m in data.getall("models", []) if isinstance(m, str)]
        fields, errors = read_key_form(form, self.gateway.config.model_names(), now=time.time())
        if errors:
            return await self._keys_page(session, 400, values=form, errors=errors)
        key, secret = await self.gateway.admin.create(fields)
        return await self._keys_page(session, secret=(key.id, secret))

    async def revoke_key(self, request: web.Request, session: Session) -> web.StreamResponse:
        """`POST /ui/keys/revoke`: revoke one key, back to the list."""
        key_id = (await request.post()).get("key")
        if isinstance(key_id, str) and key_id:
            await self.gateway.admin.revoke([key_id])
        raise web.HTTPSeeOther("/ui/keys")

    async def spend(self, request: web.Request, session: Session) -> web.Response:
        """`GET /ui/spend?days=N`."""
        raw = request.query.get("days", "30")
        days = int(raw) if raw.isdigit() and 0 < int(raw) <= 3650 else 30
        reports = {
            group: await self.reports.spend_report({"group_by": group, "days": str(days)})
            for group in ("day", "key", "model")
        }
        body = spend_body(reports, days)
        return _page(layout("Spend and tokens", body, csrf=session.csrf, active="/ui/spend"))

    async def requests(self, request: web.Request, session: Session) -> web.Response:
        """`GET /ui/requests`: the latest 100 requests."""
        logs = await self.reports.spend_logs({"limit": "100"})
        body = requests_body(logs)
        return _page(layout("Recent requests", body, csrf=session.csrf, active="/ui/requests"))
