"""The dashboard in a real browser: Debian's Chromium and chromedriver driven by Selenium
(the system driver, so nothing is downloaded), against a real `conduit serve` on
127.0.0.1 in front of the fake upstream.

Logs in, creates a key, sees it listed, makes requests with it (the openai client),
sees them and their spend, watches the live rate, revokes the key and sees its requests
refused; a wrong master key, a forged form post, a logged-out and an expired session
are refused. A screenshot of each page goes to $CONDUIT_UI_SCREENSHOTS (default: the
test's tmp_path) for a reviewer.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import model_list
from tests.server.live import GatewayProcess
from tests.support.openai_server import OpenAITestServer

CHROMIUM = shutil.which("chromium")
DRIVER = "/usr/bin/chromedriver"
MASTER = "sk-master-browser-0123456789"
HANG_GUARD = 60.0

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None or not os.path.exists(DRIVER),
        reason="needs Chromium and its driver: apt-get install -y chromium chromium-driver",
    ),
]


@pytest.fixture
def browser() -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",  # root in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--window-size=1280,1000",
    ):
        options.add_argument(flag)
    # The system chromedriver: Selenium Manager never runs, nothing is downloaded.
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(HANG_GUARD)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CONDUIT_UI_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _config(upstream: OpenAITestServer, folder: Path, **server: Any) -> dict[str, Any]:
    return {
        "model_list": model_list(upstream.base_url),
        "router_settings": {"num_retries": 0},
        "server": {
            "database": str(folder / "gateway.sqlite3"),
            "master_key": MASTER,
            "key_cache_seconds": 0,
            **server,
        },
    }


def _wait(driver: Any, condition: Any) -> Any:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # A click that posts a form loads a new page: an element read meanwhile may belong to
    # the old one (stale) or not exist yet; both mean "not yet".
    ignored = (NoSuchElementException, StaleElementReferenceException)
    wait = WebDriverWait(driver, HANG_GUARD, poll_frequency=0.1, ignored_exceptions=ignored)
    return wait.until(condition)


def _log_in(driver: Any, root: str, key: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(root + "/ui/login")
    field = driver.find_element(By.ID, "master_key")
    field.clear()
    field.send_keys(key)
    from selenium.webdriver.support import expected_conditions

    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.ID, "login").click()
    _wait(driver, expected_conditions.staleness_of(page))  # the answer's page has come
    _wait(driver, lambda d: d.execute_script("return document.readyState") == "complete")


def _session_cookie(driver: Any) -> dict[str, Any] | None:
    found = [c for c in driver.get_cookies() if c["name"] == "conduit_ui"]
    return found[0] if found else None


def _shot(driver: Any, path: Path) -> None:
    """A screenshot of the whole page, beyond the window (Chrome's DevTools protocol)."""
    import base64

    width, height = driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    clip = {"x": 0, "y": 0, "width": width, "height": min(height, 8000), "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def _post(driver: Any, path: str, fields: dict[str, str]) -> int:
    """A form post made by script from the page, with the page's cookie: its status."""
    status: int = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {method: 'POST', credentials: 'same-origin', redirect: 'manual',"
        " body: new URLSearchParams(arguments[1])}).then(r => done(r.status));",
        path,
        fields,
    )
    return status


def test_the_dashboard_in_a_real_browser(
    browser: Any, shots: Path, upstream: OpenAITestServer, tmp_path: Path
) -> None:
    import openai
    from selenium.webdriver.common.by import By

    driver = browser
    gateway = GatewayProcess(tmp_path / "gw", _config(upstream, tmp_path))
    try:
        root = gateway.root
        # Not logged in: the login form.
        driver.get(root + "/ui/keys")
        assert driver.current_url == root + "/ui/login"
        _shot(driver, shots / "01-login.png")

        # A wrong master key: refused, no session.
        _log_in(driver, root, "sk-not-the-master-key")
        error = driver.find_element(By.ID, "master_key-error").text
        assert "not this gateway's master key" in error
        assert _session_cookie(driver) is None
        _shot(driver, shots / "02-login-refused.png")

        # The master key: the overview, and a strict, HTTP-only cookie for /ui.
        _log_in(driver, root, MASTER)
        assert driver.current_url == root + "/ui"
        cookie = _session_cookie(driver)
        assert cookie is not None
        assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/ui")
        assert "UP" in driver.find_element(By.CSS_SELECTOR, "main").text
        _shot(driver, shots / "03-overview.png")

        # Bad input: each error beside its field, nothing saved.
        driver.get(root + "/ui/keys")
        driver.find_element(By.ID, "name").send_keys("team-a")
        driver.find_element(By.ID, "max_budget").send_keys("-1")
        driver.find_element(By.ID, "rpm").send_keys("lots")
        driver.find_element(By.ID, "expires").send_keys("2001-01-01")
        driver.find_element(By.ID, "create").click()
        _wait(driver, lambda d: d.find_elements(By.ID, "max_budget-error"))
        for field, words in (
            ("max_budget", "finite number of US dollars >= 0"),
            ("rpm", "positive whole number"),
            ("expires", "in the future"),
        ):
            assert words in driver.find_element(By.ID, f"{field}-error").text
        assert "No keys yet." in driver.page_source
        _shot(driver, shots / "04-keys-errors.png")

        # A good key: its secret shown once, the key in the list.
        for field, value in (("max_budget", "5"), ("rpm", "600"), ("expires", "30d")):
            box = driver.find_element(By.ID, field)
            box.clear()
            box.send_keys(value)
        driver.find_element(By.ID, "budget_window").send_keys("30d")
        driver.find_element(By.CSS_SELECTOR, "input[name=models][value=chat]").click()
        driver.find_element(By.ID, "create").click()
        secret = _wait(driver, lambda d: d.find_elements(By.ID, "secret"))[0].text
        assert secret.startswith("sk-")
        key_id = driver.find_element(By.CSS_SELECTOR, ".secret code").text
        row = driver.find_element(By.XPATH, f"//tr[td/code[text()='{key_id}']]").text
        assert "team-a" in row
        assert "ACTIVE" in row
        _shot(driver, shots / "05-key-created.png")
        driver.get(root + "/ui/keys")
        assert secret not in driver.page_source  # shown once only

        # Requests with it, as a client makes them.
        client = openai.OpenAI(base_url=gateway.url, api_key=secret, max_retries=0)
        for _ in range(3):
            answer = client.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": "Hi"}], max_tokens=20
            )
            assert answer.choices[0].message.content

        # ... seen as requests, with status and latency ...
        driver.get(root + "/ui/requests")
        rows = driver.find_elements(By.CSS_SELECTOR, "tbody tr")
        assert len(rows) == 3
        assert all(key_id in r.text and "200 OK" in r.text and " ms" in r.text for r in rows)
        _shot(driver, shots / "06-requests.png")

        # ... as spend and tokens by key, model and day, with charts ...
        driver.get(root + "/ui/spend")
        by_key = driver.find_element(By.ID, "by-key")
        assert key_id in by_key.text
        assert len(by_key.find_elements(By.CSS_SELECTOR, "svg rect")) == 2  # spend, tokens
        assert "$0" not in by_key.find_element(By.CSS_SELECTOR, "tbody").text.split()
        _shot(driver, shots / "07-spend.png")

        # ... and in the live rate, which the page's script polls.
        driver.get(root + "/ui")
        _wait(driver, lambda d: d.find_element(By.ID, "rate10").text != "—")
        assert driver.find_element(By.ID, "rate").text == "3"
        _shot(driver, shots / "08-overview-live.png")

        # A phone-sized screen: nothing wider than the screen.
        # (A headless window is at least 500 px wide: emulate the phone's screen.)
        phone = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", phone)
        for page in ("/ui/keys", "/ui/spend", "/ui/requests", "/ui"):
            driver.get(root + page)
            widths = driver.execute_script(
                "return [document.documentElement.scrollWidth, window.innerWidth]"
            )
            assert widths[1] == 390
            assert widths[0] <= widths[1], page
            name = page.strip("/").replace("/", "-")
            _shot(driver, shots / f"09-phone-{name}.png")
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

        # A forged post (no CSRF token, a wrong one) changes nothing.
        token = driver.find_element(By.CSS_SELECTOR, "input[name=csrf]").get_attribute("value")
        assert _post(driver, "/ui/keys/revoke", {"key": key_id}) == 403
        assert _post(driver, "/ui/keys/revoke", {"key": key_id, "csrf": token[::-1]}) == 403
        client.chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "Hi"}], max_tokens=20
        )

        # Revoke: the list says so, and its requests are refused.
        driver.get(root + "/ui/keys")
        driver.find_element(By.ID, f"revoke-{key_id}").click()
        _wait(driver, lambda d: "REVOKED" in d.find_element(By.TAG_NAME, "main").text)
        _shot(driver, shots / "10-key-revoked.png")
        with pytest.raises(openai.AuthenticationError):
            client.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": "Hi"}], max_tokens=20
            )

        # Log out: the old cookie, sent again, opens nothing.
        old = _session_cookie(driver)
        assert old is not None
        driver.find_element(By.XPATH, "//nav//button[text()='Log out']").click()
        _wait(driver, lambda d: d.current_url == root + "/ui/login")
        driver.add_cookie({"name": "conduit_ui", "value": old["value"], "path": "/ui"})
        driver.get(root + "/ui/keys")
        assert driver.current_url == root + "/ui/login"
    finally:
        gateway.stop()


def test_an_expired_session_is_refused_in_the_browser(
    browser: Any, shots: Path, upstream: OpenAITestServer, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    seconds = 3.0
    config = _config(upstream, tmp_path, ui_session_seconds=seconds)
    gateway = GatewayProcess(tmp_path / "gw", config)
    try:
        root = gateway.root
        started = time.monotonic()
        _log_in(driver, root, MASTER)
        if time.monotonic() - started < seconds:  # still young: it opened the overview
            assert driver.find_element(By.TAG_NAME, "h1").text == "Overview"

        def refused(d: Any) -> bool:
            d.get(root + "/ui/keys")
            return bool(d.current_url == root + "/ui/login")

        _wait(driver, refused)  # polls until the server says the session is over
        assert time.monotonic() - started >= seconds
        _shot(driver, shots / "11-session-expired.png")
    finally:
        gateway.stop()
