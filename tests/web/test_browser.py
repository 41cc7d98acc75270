"""The console in a real browser (Debian's chromium through Playwright), served by uvicorn on port 0.

Screenshots of the main pages go to the test's artifacts folder.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn
from tests.web.conftest import PASSWORDS, make_console

from eduops.config import TaskOverride
from eduops.core import checks as checks_mod
from eduops.core.calendar import sync_tasks
from eduops.core.checks import CheckContext, CheckResult, Finding, Measurement, check
from eduops.core.runs import run_task
from eduops.core.workspace import Workspace
from eduops.web.app import create_app

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@dataclass
class Server:
    url: str
    ws: Workspace


def _register_checks() -> list[str]:
    @check("webtest.perf", area="performance")
    def perf(ctx: CheckContext) -> CheckResult:
        """Latency within target."""
        return CheckResult("ok", "p95 latency 180 ms", measurements=[Measurement("http_p95_ms", 180, "ms")])

    @check("webtest.security", area="security")
    def security(ctx: CheckContext) -> CheckResult:
        """One expiring certificate."""
        return CheckResult("ok", "certificate expires soon", findings=[
            Finding("crit", "TLS certificate of live.example expires in 3 days", "issuer R3",
                    "renew it with certbot renew")])

    @check("webtest.backups", area="backups")
    def backups(ctx: CheckContext) -> CheckResult:
        """Backup older than a day."""
        return CheckResult("warn", "latest backup is 30 h old",
                           findings=[Finding("warn", "backup older than 24 h", remedy="check the backup job")])

    @check("webtest.content", area="content")
    def content(ctx: CheckContext) -> CheckResult:
        """Content fine."""
        return CheckResult("ok", "412 assets checked", measurements=[Measurement("assets_checked", 412)])

    return ["webtest.perf", "webtest.security", "webtest.backups", "webtest.content"]


@pytest.fixture
def server(sqlite_ws: Workspace) -> Iterator[Server]:
    names = _register_checks()
    ws = sqlite_ws
    ws.settings.tasks["daily-inspection"] = TaskOverride(checks=names[:3])
    ws.settings.tasks["content-audit"] = TaskOverride(checks=["webtest.content"])
    sync_tasks(ws.engine, ws.settings)
    run_task(ws.engine, ws.settings, "daily-inspection", actor="scheduler")
    console = make_console(ws)  # users; the app below is the full console with a real clock
    app = create_app(ws)
    del console
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = uv.servers[0].sockets[0].getsockname()[1]
    yield Server(f"http://127.0.0.1:{port}", ws)
    uv.should_exit = True
    thread.join(timeout=10)
    for name in names:
        checks_mod.REGISTRY.pop(name, None)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One chromium for the module; each test opens its own context (cookies, storage) in it."""
    if not Path(CHROMIUM).exists():
        from tests.conftest import service_missing

        service_missing("chromium at /usr/bin/chromium", "not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield instance
        instance.close()


def _open(browser, server: Server, role: str, locale: str = "zh-CN"):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(server.url + "/")
    assert "/login" in page.url
    page.fill("input[name=username]", role)
    page.fill("input[name=password]", PASSWORDS[role])
    page.click("#login-form button[type=submit]")
    page.wait_for_url(server.url + "/")
    return context, page, requested, errors


class Settled:
    """Waits until a page has no request in flight and none started for ``QUIET_S``: what Playwright's
    "networkidle" waits for, without its fixed half second after the last request (forty pages a walk)."""

    QUIET_S = 0.15
    WITHIN_S = 30.0

    def __init__(self, page) -> None:  # type: ignore[no-untyped-def]
        self.page = page
        self.pending: set[object] = set()
        self.last = time.monotonic()
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def _started(self, request: object) -> None:
        self.pending.add(request)
        self.last = time.monotonic()

    def _ended(self, request: object) -> None:
        self.pending.discard(request)
        self.last = time.monotonic()

    def wait(self, what: str) -> None:
        deadline = time.monotonic() + self.WITHIN_S
        while self.pending or time.monotonic() - self.last < self.QUIET_S:
            assert time.monotonic() < deadline, f"{what}: requests still in flight after {self.WITHIN_S:g} s"
            self.page.wait_for_timeout(20)  # Playwright delivers the page's events while it waits


def _only_own_host(requested: list[str], server: Server) -> None:
    own = urlsplit(server.url).netloc
    foreign = [u for u in requested if urlsplit(u).netloc != own and not u.startswith(("data:", "blob:"))]
    assert requested and not foreign, f"requests left the console: {foreign}"


def test_ops_runs_a_task_from_the_calendar_and_reads_its_report(browser, server: Server, artifacts_dir: Path) -> None:
    context, page, requested, errors = _open(browser, server, "ops")
    # overview with data: tiles coloured by the latest results, the crit finding on top
    assert page.locator(".tile.green[data-area=performance]").count() == 1
    assert page.locator(".tile.red[data-area=security]").count() == 1
    assert page.locator(".tile.amber[data-area=backups]").count() == 1
    assert "TLS certificate of live.example expires in 3 days" in page.locator(".finding.crit").first.inner_text()
    assert page.locator("h1").first.inner_text() == "总览"
    page.wait_for_selector("#runs-chart .main-svg")  # Plotly drew the chart from /static/plotly.min.js
    # Plotly's own toolbar speaks Chinese too, and offers no "share to Plotly's cloud"
    assert page.locator("#runs-chart .modebar-btn[data-title='下载图表（PNG）']").count() == 1
    assert page.locator("#runs-chart .modebar-btn[data-title^='Share']").count() == 0
    page.screenshot(path=str(artifacts_dir / "overview-zh.png"), full_page=True)

    page.click("details[data-group=Operations] summary")  # the menu opens in place, no JavaScript needed
    page.click("nav a[href='/calendar']")
    page.wait_for_selector("#calendar-grid")
    page.screenshot(path=str(artifacts_dir / "calendar-week.png"), full_page=True)
    page.click("button.run-now[data-task=content-audit]")
    page.wait_for_url("**/runs/*")
    page.wait_for_selector("#run-title .status.ok", timeout=30000)  # the page refreshes until the run is done
    assert "412 assets checked" in page.content()
    page.screenshot(path=str(artifacts_dir / "run.png"), full_page=True)
    page.click("#open-report")
    page.wait_for_url("**/report")
    assert "每周内容审核" in page.locator("h1").inner_text()  # the report in the reader's language
    page.screenshot(path=str(artifacts_dir / "report.png"), full_page=True)

    # English and back, remembered across pages
    page.goto(server.url + "/calendar?view=month")
    page.click("#lang-switch")
    page.wait_for_selector("h1:has-text('Maintenance calendar')")
    page.goto(server.url + "/")
    assert page.locator("h1").first.inner_text() == "Overview"
    page.screenshot(path=str(artifacts_dir / "overview-en.png"), full_page=True)
    page.click("#lang-switch")
    page.wait_for_selector("h1:has-text('总览')")
    assert context.cookies()[0]  # the choice lives in the eduops_lang cookie
    assert any(c["name"] == "eduops_lang" and c["value"] == "zh-CN" for c in context.cookies())
    _only_own_host(requested, server)
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()


def test_viewer_sees_no_run_button_and_is_refused_when_posting_anyway(browser, server: Server,
                                                                       artifacts_dir: Path) -> None:
    context, page, requested, _ = _open(browser, server, "viewer")
    page.goto(server.url + "/calendar?view=list")
    assert page.locator("#tasks tr[data-task]").count() == 11
    assert page.locator("button.run-now").count() == 0
    assert page.locator("nav a[href='/admin/users']").count() == 0
    page.screenshot(path=str(artifacts_dir / "calendar-viewer.png"), full_page=True)
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    answer = page.request.post(server.url + "/calendar/daily-inspection/run", form={"csrf_token": token or ""})
    assert answer.status == 403
    assert page.request.get(server.url + "/admin/users").status == 403
    _only_own_host(requested, server)
    context.close()


def test_every_page_in_the_navigation_loads_from_the_console_only(browser, server: Server,
                                                                   artifacts_dir: Path) -> None:
    context, page, requested, errors = _open(browser, server, "admin")
    links = page.eval_on_selector_all("nav.topnav a[href^='/']", "els => els.map(e => e.getAttribute('href'))")
    assert {"/", "/calendar", "/runs", "/admin/users", "/admin/keys", "/admin/audit"} <= set(links)
    broken = []
    settled = Settled(page)
    for link in links:
        answer = page.goto(server.url + link)
        if answer is None or answer.status != 200:
            broken.append(f"{link}: {answer.status if answer else 'no answer'}")
            continue
        settled.wait(link)
        name = link.strip("/").replace("/", "-") or "overview"
        page.screenshot(path=str(artifacts_dir / f"{name}.png"), full_page=True)
    assert not broken, broken
    _only_own_host(requested, server)
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()


NARROW_PAGES = ("/", "/alerts", "/rtc", "/calendar", "/rules")
SKIP = ("/logout", "/static/", "/api/", "/xapi", "/metrics")


def _shape(link: str) -> str:
    """One page of each kind: ids and query values do not make a new kind of page."""
    path, _, query = link.partition("?")
    path = re.sub(r"/[0-9a-f]{16,}|/\d+", "/{id}", path)
    keys = sorted(part.split("=", 1)[0] for part in query.split("&") if part)
    return path + ("?" + "&".join(keys) if keys else "")


def _crawlable(link: str) -> bool:
    return link.startswith("/") and not link.startswith(SKIP) and "/artifacts/" not in link \
        and not link.endswith("/ack") and "#" not in link


def _seed_alert(ws: Workspace) -> str:
    from datetime import timedelta

    from eduops.alerting.models import AlertState
    from eduops.db import session_scope, utcnow

    now = utcnow()
    labels = {"alertname": "DiskFullIn24h", "severity": "critical", "host": "db-1",
              "mount": "/var/lib/postgresql/16/main/a-long-mount-point-name"}
    from eduops.alerting.metrics import record

    with session_scope(ws.engine) as session:
        for minutes in range(300, -1, -10):  # the free space falls over the alert's life
            record(session, [Measurement("disk_free_bytes", 5e8 - (300 - minutes) * 3e6, "bytes",
                                         {k: v for k, v in labels.items() if k in ("host", "mount")})],
                   now - timedelta(minutes=minutes))
        session.add(AlertState(fingerprint="b" * 16, rule="platform/DiskFullIn24h", alertname="DiskFullIn24h",
                               labels=labels, annotations={"summary": "the database disk fills within a day"},
                               state="firing", value=-8.771e8, active_at=now - timedelta(hours=2),
                               fired_at=now - timedelta(hours=1)))
    return "b" * 16


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_every_page_answers_and_fits_a_phone(browser, server: Server, artifacts_dir: Path, locale: str) -> None:
    """Every page of the menu and the detail pages, in both languages: no 4xx/5xx (page or resource), a
    screenshot each; at 390 px the listed pages do not scroll sideways."""
    fingerprint = _seed_alert(server.ws)
    context, page, requested, _ = _open(browser, server, "admin", locale)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    links = page.eval_on_selector_all("nav.topnav a[href^='/']", "els => els.map(e => e.getAttribute('href'))")
    queue = list(dict.fromkeys([*links, "/rules", f"/alerts/{fingerprint}"]))
    seen_shapes: set[str] = set()
    visited: list[str] = []
    folder = artifacts_dir / f"pages-{locale}"
    folder.mkdir(parents=True, exist_ok=True)
    settled = Settled(page)
    while queue:  # the menu's pages and every page they link to, one of each kind (runs/1, not every run)
        link = queue.pop(0)
        shape = _shape(link)
        if shape in seen_shapes:
            continue
        seen_shapes.add(shape)
        answer = page.goto(server.url + link)
        assert answer is not None and answer.status < 400, f"{link}: {answer.status if answer else 'no answer'}"
        settled.wait(link)
        visited.append(link)
        if link == f"/alerts/{fingerprint}":
            page.wait_for_selector("#alert-expression .main-svg")  # the expression over the alert's life
            ticks = " ".join(page.locator("#alert-expression .xtick text").all_text_contents())  # 20:00Dec 6, 2026
            english_month = re.search(r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d", ticks)
            assert bool(english_month) == (locale == "en") and ("月" in ticks) == (locale == "zh-CN"), ticks
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", link.strip("/"))[:80] or "overview"
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
        if link in links:
            found = page.eval_on_selector_all("main a[href^='/']", "els => els.map(e => e.getAttribute('href'))")
            queue += [f for f in found if _crawlable(f)]
    assert len(visited) >= 25, visited
    assert not failed, failed
    narrow = browser.new_context(locale=locale, viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                 storage_state=context.storage_state())
    phone = narrow.new_page()
    phone_settled = Settled(phone)
    wide: list[str] = []
    for link in NARROW_PAGES:
        phone.goto(server.url + link)
        phone_settled.wait(link)
        scroll, view = phone.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        phone.screenshot(path=str(folder / f"390-{link.strip('/') or 'overview'}.png"), full_page=True)
        if scroll > view:
            wide.append(f"{link}: {scroll} px wide in a {view} px screen")
    assert not wide, wide
    _only_own_host(requested, server)
    narrow.close()
    context.close()
