"""The dashboard at /ui over HTTP (no browser): login, sessions and their expiry, CSRF,
the new-key form's checks (errors beside each field, nothing half-saved), and the admin
read endpoints it shows (behind the master key). The real-browser run is in
tests/server/test_dashboard_browser.py."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from conduit.server.app import Gateway
from conduit.server.config import GatewayConfig
from conduit.server.ui import Sessions
from conduit.server.ui.sessions import LoginThrottle

MASTER = "sk-master-dashboard-0123456789"
HI = [{"role": "user", "content": "Hi"}]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def dash(make_config: Callable[..., GatewayConfig]) -> AsyncIterator[tuple[Gateway, Clock]]:
    clock = Clock()
    async with Gateway(make_config(master_key=MASTER)) as gw:
        gw.dashboard.sessions = Sessions(seconds=600, clock=clock)
        gw.dashboard.throttle = LoginThrottle(clock=clock)
        await gw.start(port=0)
        yield gw, clock


def _root(gw: Gateway) -> str:
    return gw.url.removesuffix("/v1")


def _session() -> aiohttp.ClientSession:
    # aiohttp keeps no cookies for IP hosts unless told to.
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _login(
    http: aiohttp.ClientSession, root: str, key: str = MASTER
) -> aiohttp.ClientResponse:
    async with http.post(
        root + "/ui/login", data={"master_key": key}, allow_redirects=False
    ) as response:
        await response.read()
        return response


async def _csrf(http: aiohttp.ClientSession, root: str) -> str:
    async with http.get(root + "/ui/keys") as response:
        assert response.status == 200
        page = await response.text()
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


async def test_login_sets_a_strict_http_only_cookie_and_wrong_keys_are_refused(
    dash: tuple[Gateway, Clock],
) -> None:
    gw, _ = dash
    root = _root(gw)
    async with _session() as http:
        async with http.get(root + "/ui/keys", allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"] == "/ui/login"
        wrong = await _login(http, root, "sk-not-the-master")
        assert wrong.status == 401
        assert not [c for c in http.cookie_jar if c.key == "conduit_ui"]
        good = await _login(http, root)
        assert good.status == 303
        cookie = good.headers["Set-Cookie"]
        for part in ("HttpOnly", "SameSite=Strict", "Path=/ui"):
            assert part in cookie
        assert "Secure" not in cookie  # plain http from 127.0.0.1 (see sessions.py)
        async with http.get(root + "/ui") as response:
            assert response.status == 200
            page = await response.text()
            assert "Live request rate" in page
            assert re.search(r"<td[^>]*>database</td>.*?UP</span>", page)
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        async with http.get(root + "/ui/static/dashboard.js") as response:
            assert response.status == 200
        async with http.get(root + "/ui/static/..%2Fviews.py") as response:
            assert response.status == 404


async def test_an_expired_session_and_a_logged_out_one_are_refused(
    dash: tuple[Gateway, Clock],
) -> None:
    gw, clock = dash
    root = _root(gw)
    async with _session() as http:
        await _login(http, root)
        csrf = await _csrf(http, root)
        clock.now += 601
        async with http.get(root + "/ui/keys", allow_redirects=False) as response:
            assert response.status == 303
        async with http.get(root + "/ui/api/activity") as response:
            assert response.status == 401
        async with http.post(root + "/ui/keys", data={"csrf": csrf, "name": "x"}) as response:
            assert response.status == 401
        assert await gw.keys.list() == []
        await _login(http, root)
        csrf = await _csrf(http, root)
        (cookie,) = [c for c in http.cookie_jar if c.key == "conduit_ui"]
        async with http.post(
            root + "/ui/logout", data={"csrf": csrf}, allow_redirects=False
        ) as response:
            assert response.status == 303
    async with aiohttp.ClientSession() as http:  # the old cookie, sent again by hand
        headers = {"Cookie": f"conduit_ui={cookie.value}"}
        async with http.get(root + "/ui/keys", headers=headers, allow_redirects=False) as r:
            assert r.status == 303


async def test_a_forged_post_changes_nothing(dash: tuple[Gateway, Clock]) -> None:
    gw, _ = dash
    root = _root(gw)
    async with _session() as http:
        await _login(http, root)
        csrf = await _csrf(http, root)
        for data in ({"name": "forged"}, {"name": "forged", "csrf": csrf[:-2] + "xx"}):
            async with http.post(root + "/ui/keys", data=data) as response:
                assert response.status == 403
                assert "CSRF" in await response.text()
        headers = {"Origin": "https://evil.example"}
        async with http.post(
            root + "/ui/keys", data={"name": "forged", "csrf": csrf}, headers=headers
        ) as response:
            assert response.status == 403
        assert await gw.keys.list() == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_budget", "nan", "finite number of US dollars"),
        ("max_budget", "-5", "finite number of US dollars"),
        ("max_budget", "inf", "finite number of US dollars"),
        ("rpm", "1.5", "positive whole number"),
        ("tpm", "0", "positive whole number"),
        ("budget_window", "monthly", "looks like"),
        ("expires", "2001-01-01", "in the future"),
        ("expires", "tomorrow", "looks like"),
        ("models", "gpt-9", "not a model group"),
    ],
)
async def test_each_bad_field_is_named_beside_it_and_nothing_is_saved(
    dash: tuple[Gateway, Clock], field: str, value: str, message: str
) -> None:
    gw, _ = dash
    root = _root(gw)
    async with _session() as http:
        await _login(http, root)
        csrf = await _csrf(http, root)
        data = {"csrf": csrf, "name": "team-a", "max_budget": "5", field: value}
        async with http.post(root + "/ui/keys", data=data) as response:
            assert response.status == 400
            page = await response.text()
    error = re.search(rf'<p class="error" id="{field}-error" role="alert">([^<]*)</p>', page)
    assert error, page
    assert message in error.group(1)
    assert f'value="{value}"' in page or field == "models"  # the form keeps what was typed
    assert await gw.keys.list(include_revoked=True) == []


async def test_a_key_made_on_the_page_works_shows_its_spend_and_is_revoked(
    dash: tuple[Gateway, Clock],
) -> None:
    gw, _ = dash
    root = _root(gw)
    async with _session() as http:
        await _login(http, root)
        csrf = await _csrf(http, root)
        data = [
            ("csrf", csrf),
            ("name", "team-a"),
            ("models", "chat"),
            ("max_budget", "5"),
            ("budget_window", "30d"),
            ("rpm", "60"),
            ("expires", "30d"),
        ]
        async with http.post(root + "/ui/keys", data=data) as response:
            assert response.status == 200
            page = await response.text()
        secret = re.search(r'<code id="secret">([^<]+)</code>', page)
        assert secret
        (key,) = await gw.keys.list()
        assert (key.name, key.models, key.max_budget, key.rpm) == ("team-a", ("chat",), 5.0, 60)
        async with http.get(root + "/ui/keys") as response:
            assert secret.group(1) not in await response.text()  # shown once
        auth = {"Authorization": f"Bearer {secret.group(1)}"}
        body: dict[str, Any] = {"model": "chat", "messages": HI, "max_tokens": 50}
        async with http.post(root + "/v1/chat/completions", json=body, headers=auth) as r:
            assert r.status == 200, await r.text()
        await gw.recorder.flush()
        master = {"Authorization": f"Bearer {MASTER}"}
        async with http.get(root + "/spend/logs", headers=master) as r:
            logs = await r.json()
        (entry,) = logs
        assert (entry["api_key"], entry["model"], entry["status"]) == (key.id, "chat", 200)
        assert entry["spend"] > 0
        assert entry["latency_ms"] >= 0
        async with http.get(root + "/global/spend/report?group_by=key", headers=master) as r:
            report = await r.json()
        assert [row["group"] for row in report["rows"]] == [key.id]
        async with http.get(root + "/global/activity", headers=master) as r:
            assert (await r.json())["requests_60s"] == 1
        async with http.get(root + "/health/deployments", headers=master) as r:
            groups = {d["group"]: d for d in (await r.json())["deployments"]}
            assert groups["chat"]["status"] == "ready"
            assert groups["chat"]["requests_5m"] == 1
        async with http.get(root + "/ui/requests") as response:
            assert "200 OK" in await response.text()
        async with http.get(root + "/ui/spend") as response:
            assert key.id in await response.text()
        data = [("csrf", csrf), ("key", key.id)]
        async with http.post(root + "/ui/keys/revoke", data=data) as response:
            assert response.status == 200  # followed the redirect to /ui/keys
            assert "REVOKED" in await response.text()
        async with http.post(root + "/v1/chat/completions", json=body, headers=auth) as r:
            assert r.status == 401


@pytest.mark.parametrize(
    "path", ["/spend/logs", "/global/spend/report", "/global/activity", "/health/deployments"]
)
async def test_the_read_endpoints_need_the_master_key(
    dash: tuple[Gateway, Clock], path: str
) -> None:
    gw, _ = dash
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"Authorization": "Bearer sk-wrong"}):
            async with http.get(_root(gw) + path, headers=headers) as response:
                assert response.status == 401
        master = {"Authorization": f"Bearer {MASTER}"}
        async with http.get(_root(gw) + path, headers=master) as response:
            assert response.status == 200
        async with http.get(
            _root(gw) + "/global/spend/report?group_by=user", headers=master
        ) as response:
            assert response.status == 400


async def test_without_a_master_key_the_dashboard_is_off(
    make_config: Callable[..., GatewayConfig],
) -> None:
    async with Gateway(make_config()) as gw:
        await gw.start(port=0)
        async with aiohttp.ClientSession() as http, http.get(_root(gw) + "/ui/login") as r:
            assert r.status == 404


async def test_wrong_master_keys_are_throttled_per_address(dash: tuple[Gateway, Clock]) -> None:
    gw, clock = dash
    root = _root(gw)
    async with _session() as http:
        for _ in range(10):
            assert (await _login(http, root, "sk-guess")).status == 401
        refused = await _login(http, root)  # even the right key waits now
        assert refused.status == 429
        clock.now += 301
        assert (await _login(http, root)).status == 303


async def test_the_read_endpoints_take_litellms_names(dash: tuple[Gateway, Clock]) -> None:
    gw, _ = dash
    master = {"Authorization": f"Bearer {MASTER}"}
    async with aiohttp.ClientSession(headers=master) as http:
        async with http.get(
            _root(gw) + "/global/spend/report",
            params={"group_by": "api_key", "start_date": "2030-01-01", "end_date": "2030-01-31"},
        ) as r:
            report = await r.json()
        assert (report["start_date"], report["end_date"], report["rows"]) == (
            "2030-01-01",
            "2030-01-31",
            [],
        )
        async with http.get(
            _root(gw) + "/spend/logs", params={"api_key": "key_x", "start_date": "2030-13-01"}
        ) as r:
            assert r.status == 400
            assert "start_date" in (await r.json())["error"]["message"]
        async with http.get(_root(gw) + "/spend/logs", params={"api_key": "key_x"}) as r:
            assert await r.json() == []


async def test_a_page_whose_store_is_down_says_so(
    dash: tuple[Gateway, Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    from conduit.errors import StorageError

    gw, _ = dash
    root = _root(gw)

    async def down(*args: Any, **kwargs: Any) -> Any:
        raise StorageError("the ledger is unreachable")

    async with _session() as http:
        await _login(http, root)
        monkeypatch.setattr(gw.events, "totals", down)
        async with http.get(root + "/ui/spend") as response:
            assert response.status == 503
            assert "the ledger is unreachable" in await response.text()


async def test_the_overview_shows_redis_up_then_down(
    make_config: Callable[..., GatewayConfig], tmp_path: Path
) -> None:
    from tests.server.live import RedisProcess

    redis = RedisProcess(tmp_path / "redis")
    try:
        async with Gateway(make_config(master_key=MASTER, redis_url=redis.url)) as gw:
            await gw.start(port=0)
            root = _root(gw)
            row = r'data-label="Dependency">redis</td><td[^>]*>redis</td><td[^>]*>.*?>(\w+)</span>'
            async with _session() as http:
                await _login(http, root)
                async with http.get(root + "/ui") as response:
                    found = re.search(row, await response.text())
                assert found
                assert found.group(1) == "UP"
                redis.stop()
                async with http.get(root + "/ui") as response:
                    page = await response.text()
                found = re.search(row, page)
                assert found
                assert found.group(1) == "DOWN"
                assert "DEGRADED" in page
    finally:
        redis.stop()
